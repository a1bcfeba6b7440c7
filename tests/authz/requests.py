"""How the matrix fills a route in: URL arguments from the world, and a minimal valid request for writes.

A write gets a body its authorized callers would have accepted, so a refusal in the matrix is the
authorization check's and never a 422 of an empty body. Each entry maps (method, rule) to a function of
the world's ids returning ``client.open`` keyword arguments; URL arguments default to ``ARGUMENTS``.
"""

import io
from datetime import timedelta

from core.clock import beijing_today
from tests.authz.world import COUNTY_A, PDF, png
from tests.factories import DEFAULT_PASSWORD
from tests.institutions.conftest import credit_code
from tests.orders import ADDRESS
from tests.shop.batches.conftest import batch_body, certificate_body

# URL argument → world id, unless a row says otherwise (``URL_ARGUMENTS``).
ARGUMENTS = {
    "batch_id": "batch",
    "centre_id": "centre",
    "code": "village",
    "image_id": "image",
    "member_id": "member",
    "group_id": "group",
    "offer_id": "spare_offer",
    "order_id": "order",
    "payment_id": "payment",
    "product_id": "product",
    "refund_id": "refund",
    "report_id": "report",
    "seller_id": "seller",
    "sku_id": "sku",
    "slug": "slug",
    "station_id": "station",
    "transfer_id": "transfer",
    "unit_id": "unit",
    "user_id": "staff_user",
    "worker_id": "worker",
    "year": "year",
    "key": "media_key",
    "name": "docs_asset",
    "filename": "static_file",
    "unknown": "unknown_path",
    "action": "suspend",
    "scene": "station",  # a station poster's scene is the station id
}

# Per-rule exceptions to ARGUMENTS: the record of the right kind for that route.
URL_ARGUMENTS = {
    ("POST", "/api/v1/orders/<int:order_id>/cancel"): {"order_id": "unpaid_order"},
    ("POST", "/api/v1/orders/<int:order_id>/payments"): {"order_id": "unpaid_order"},
    ("GET", "/api/v1/orders/<int:order_id>/pickup"): {"order_id": "pickup_order"},
    ("GET", "/api/v1/orders/<int:order_id>/pickup-code.png"): {"order_id": "pickup_order"},
    ("POST", "/api/v1/orders/<int:order_id>/pickup"): {"order_id": "pickup_order"},
    ("POST", "/api/v1/orders/<int:order_id>/pickup/arrived"): {"order_id": "pickup_order"},
    ("POST", "/api/v1/orders/<int:order_id>/pickup/return"): {"order_id": "pickup_order"},
    ("GET", "/api/v1/orders/<int:order_id>/deliveries"): {"order_id": "welfare_order"},
    ("GET", "/api/v1/orders/<int:order_id>/deliveries/labels"): {"order_id": "welfare_order"},
    ("POST", "/api/v1/orders/<int:order_id>/deliveries/receipts"): {"order_id": "welfare_order"},
    ("POST", "/api/v1/orders/<int:order_id>/deliveries/shipments"): {"order_id": "welfare_order"},
    ("DELETE", "/api/v1/products/<int:product_id>/images/<int:image_id>"): {"image_id": "spare_image"},
    ("POST", "/console/station/products/<int:product_id>/images/<int:image_id>/delete"): {"image_id": "spare_image"},
    ("GET", "/console/static/<path:filename>"): {"filename": "console_css"},
    ("GET", "/api/v1/orders/<int:order_id>/settlement-statement"): {"order_id": "unit_order"},
    ("GET", "/api/v1/unit-orders/<int:order_id>"): {"order_id": "unit_order"},
    ("POST", "/api/v1/payout-batches/<int:batch_id>/bank-file"): {"batch_id": "payout_batch"},
    ("POST", "/api/v1/payout-batches/<int:batch_id>/bank-results"): {"batch_id": "payout_batch"},
    ("POST", "/api/v1/bank-transfers/refunds/<int:refund_id>/sent"): {"refund_id": "bank_refund"},
    ("GET", "/api/v1/test-reports/<int:report_id>"): {"report_id": "test_report"},
    ("GET", "/api/v1/trace/<code>"): {"code": "trace_code"},
    ("GET", "/t/<code>"): {"code": "trace_code"},
    ("GET", "/console/settlement/batches/<int:batch_id>"): {"batch_id": "payout_batch"},
    ("GET", "/console/settlement/batches/<int:batch_id>/status"): {"batch_id": "payout_batch"},
    ("POST", "/console/settlement/batches/<int:batch_id>/bank-file"): {"batch_id": "payout_batch"},
    ("POST", "/console/settlement/batches/<int:batch_id>/bank-results"): {"batch_id": "payout_batch"},
    ("POST", "/console/station/refunds/<int:refund_id>/decision"): {"refund_id": "refund"},
    ("POST", "/console/station/pickups/<int:order_id>/arrived"): {"order_id": "pickup_order"},
    ("POST", "/console/station/pickups/<int:order_id>/hand-over"): {"order_id": "pickup_order"},
    ("POST", "/console/station/pickups/<int:order_id>/return"): {"order_id": "pickup_order"},
}


def _json(body):
    return lambda ids: {"json": body(ids) if callable(body) else body}


def _form(body):
    return lambda ids: {"data": body(ids) if callable(body) else body}


_CERT = certificate_body()
_PRODUCT = {
    "category": "fruit",
    "title": "炎陵黄桃（新）",
    "unit": "箱",
    "origin_village_code": "430225100201",
    "skus": [{"name": "3斤装", "price_fen": 3900, "stock": 10}],
}

_BANK_ACCOUNT = {
    "account_name": "李秀英",
    "account_no": "6217995510001234567",
    "bank_name": "炎陵县农村商业银行霞阳支行",
    "consent": True,
}

BODIES = {
    # API ---------------------------------------------------------------------------------------------
    ("POST", "/api/v1/auth/login"): _json(lambda ids: {"username": ids["username"], "password": DEFAULT_PASSWORD}),
    ("POST", "/api/v1/auth/refresh"): _json(lambda ids: {"refresh_token": ids["refresh_token"]}),
    ("POST", "/api/v1/auth/wechat-login"): _json({"code": "no-such-code"}),
    ("POST", "/api/v1/auth/alipay-login"): _json({"auth_code": "no-such-code"}),
    ("POST", "/api/v1/auth/phone"): _json({"code": "no-such-code"}),
    ("PUT", "/api/v1/cart/items/<int:sku_id>"): _json({"quantity": 1}),
    ("PATCH", "/api/v1/villages/<code>"): _json({"households": 321}),
    ("POST", "/api/v1/centres"): _json({"county_code": COUNTY_A, "name": "炎陵县第二电商中心", "commission_bps": 200}),
    ("PATCH", "/api/v1/centres/<int:centre_id>"): _json({"name": "炎陵县电商中心（改）"}),
    ("POST", "/api/v1/stations"): _json(
        {"village_code": "430225100201", "name": "新服务站", "address": "村部二楼", "service_fee_bps": 300}
    ),
    ("PATCH", "/api/v1/stations/<int:station_id>"): _json({"address": "村部三楼"}),
    ("POST", "/api/v1/stations/<int:station_id>/suspend"): _json({"reason": "整改检查"}),
    ("POST", "/api/v1/stations/<int:station_id>/sellers"): _json({"name": "王大妈", "phone": "13912345000"}),
    ("POST", "/api/v1/sellers/search"): _json({"phone": "13912345678"}),
    ("PATCH", "/api/v1/sellers/<int:seller_id>"): _json({"name": "李秀英（改）"}),
    ("POST", "/api/v1/sellers/<int:seller_id>/personal-data"): _json({"reason": "核对身份"}),
    ("POST", "/api/v1/sellers/bind"): _json(lambda ids: {"bind_code": ids["bind_code"]}),
    ("PUT", "/api/v1/sellers/me/name-consent"): _json({"show_name_on_trace": False}),
    ("POST", "/api/v1/villages/<code>/workers"): _json(
        {"name": "赵六", "phone": "13712340000", "kind": "info_officer"}
    ),
    ("POST", "/api/v1/workers/<int:worker_id>/leave"): _json({}),
    ("POST", "/api/v1/categories"): _json({"slug": "honey", "name": "蜂蜜"}),
    ("PATCH", "/api/v1/categories/<slug>"): _json({"name": "水果鲜果"}),
    ("POST", "/api/v1/products"): _json(
        lambda ids: {**_PRODUCT, "station_id": ids["station"], "seller_id": ids["seller"]}
    ),
    ("PATCH", "/api/v1/products/<int:product_id>"): _json({"title": "炎陵黄桃（改）"}),
    ("PATCH", "/api/v1/products/<int:product_id>/skus/<int:sku_id>"): _json({"stock": 99}),
    ("POST", "/api/v1/products/<int:product_id>/off-shelf"): _json({"reason": "暂停销售"}),
    ("POST", "/api/v1/products/<int:product_id>/images"): lambda ids: {"data": {"file": (io.BytesIO(png()), "b.png")}},
    ("PUT", "/api/v1/products/<int:product_id>/images/order"): _json(
        lambda ids: {"image_ids": [ids["spare_image"], ids["image"]]}
    ),
    ("POST", "/api/v1/products/<int:product_id>/review"): _json({"decision": "approve"}),
    ("POST", "/api/v1/products/<int:product_id>/certification"): _json({"certificate_no": "株扶认〔2026〕099号"}),
    ("POST", "/api/v1/products/<int:product_id>/certification/revoke"): _json({"reason": "认定到期"}),
    ("POST", "/api/v1/orders"): _json(
        lambda ids: {"items": [{"sku_id": ids["sku"], "quantity": 1}], "address": ADDRESS}
    ),
    ("POST", "/api/v1/orders/<int:order_id>/shipments"): _json(
        lambda ids: {"station_id": ids["station"], "carrier": "顺丰速运", "tracking_no": "SF0000000001"}
    ),
    ("POST", "/api/v1/products/<int:product_id>/group-offers"): _json(
        lambda ids: {"sku_id": ids["sku_3"], "price_fen": 3900, "group_size": 2, "hours": 12}
    ),
    ("POST", "/api/v1/group-offers/<int:offer_id>/close"): lambda ids: {},  # no body: the offer ends
    ("POST", "/api/v1/orders/<int:order_id>/pickup"): _json(lambda ids: {"code": ids["pickup_code"]}),
    ("POST", "/api/v1/orders/<int:order_id>/pickup/arrived"): lambda ids: {},  # already arrived: 409
    ("POST", "/api/v1/orders/<int:order_id>/pickup/return"): lambda ids: {},  # too soon: 409
    ("POST", "/api/v1/products/<int:product_id>/presales"): _json(
        lambda ids: {
            "sku_id": ids["sku_3"],
            "quota": 20,
            "order_from": f"{beijing_today().isoformat()}T00:00:00+08:00",
            "order_until": f"{(beijing_today() + timedelta(days=10)).isoformat()}T00:00:00+08:00",
            "ships_from": (beijing_today() + timedelta(days=20)).isoformat(),
            "ships_until": (beijing_today() + timedelta(days=30)).isoformat(),
        }
    ),
    ("POST", "/api/v1/groups"): _json(lambda ids: {"offer_id": ids["offer"], "address": ADDRESS}),
    ("POST", "/api/v1/groups/<int:group_id>/join"): _json({"address": ADDRESS}),
    ("POST", "/api/v1/refunds"): _json(
        lambda ids: {"order_id": ids["order"], "line_ids": [ids["line"]], "reason": "不想要了"}
    ),
    ("POST", "/api/v1/refunds/<int:refund_id>/decision"): _json({"decision": "approve"}),
    ("POST", "/api/v1/orders/<int:order_id>/payments"): _json({"channel": "wechat_jsapi"}),
    ("POST", "/api/v1/settlements/run"): _json({"county_code": COUNTY_A}),
    ("PUT", "/api/v1/sellers/<int:seller_id>/bank-account"): _json(_BANK_ACCOUNT),
    ("PUT", "/api/v1/stations/<int:station_id>/bank-account"): _json(_BANK_ACCOUNT),
    ("POST", "/api/v1/payout-batches/<int:batch_id>/bank-file"): lambda ids: {"query_string": {"format": "csv"}},
    ("POST", "/api/v1/payout-batches/<int:batch_id>/bank-results"): lambda ids: {
        "data": {"file": (io.BytesIO("参考号,金额,状态\nAUTHZPAYOUT0002,1.00,成功\n".encode()), "result.csv")}
    },
    ("POST", "/api/v1/units"): _json(
        {
            "name": "炎陵县第一中学",
            "credit_code": credit_code("12430225445012345"),
            "kind": "budget_unit",
            "region_code": COUNTY_A,
        }
    ),
    ("PATCH", "/api/v1/units/<int:unit_id>"): _json({"address": "炎陵县霞阳镇"}),
    ("POST", "/api/v1/units/<int:unit_id>/invites"): _json({"role": "purchaser"}),
    ("POST", "/api/v1/units/bind"): _json(lambda ids: {"code": ids["invite_code"]}),
    ("PUT", "/api/v1/units/<int:unit_id>/targets/<int:year>"): _json(
        {"canteen_budget_fen": 1000000, "ratio_bps": 3000}
    ),
    ("PUT", "/api/v1/units/<int:unit_id>/invoice-info"): _json(
        {
            "title": "炎陵县人民医院",
            "tax_id": credit_code("12430225444885428"),
            "address": "炎陵县霞阳镇",
            "phone": "0731-26221234",
            "bank_name": "中国农业银行炎陵支行",
            "bank_account": "18000101040001234",
        }
    ),
    ("POST", "/api/v1/units/<int:unit_id>/recipient-lists"): lambda ids: {
        "data": {"file": (io.BytesIO("姓名,手机,地区,地址\n职工001,13900000001,4302,株洲市天元区\n".encode()), "r.csv")}
    },
    ("POST", "/api/v1/orders/<int:order_id>/deliveries/shipments"): _json(
        lambda ids: {
            "station_id": ids["station"],
            "parcels": [{"delivery_id": ids["delivery"], "carrier": "顺丰速运", "tracking_no": "SF0000000002"}],
        }
    ),
    ("POST", "/api/v1/orders/<int:order_id>/deliveries/receipts"): _json(
        lambda ids: {"delivery_ids": [ids["delivery"]]}
    ),
    ("POST", "/api/v1/bank-transfers"): lambda ids: {
        "data": {
            "payment_reference": ids["payment_reference"],
            "amount_fen": str(ids["transfer_amount"]),
            "payer_account_name": "炎陵县人民医院",
            "bank_serial_no": "AUTHZ00000000002",
            "received_on": beijing_today().isoformat(),
            "receipt": (io.BytesIO(png()), "回单.png"),
        }
    },
    ("POST", "/api/v1/bank-transfers/<int:transfer_id>/return"): _json({"return_serial_no": "BACK00000001"}),
    ("POST", "/api/v1/bank-transfers/refunds/<int:refund_id>/sent"): _json({"bank_serial_no": "BACK00000002"}),
    ("POST", "/api/v1/reports"): _json({"region": COUNTY_A, "period": "2026-01"}),
    ("POST", "/api/v1/reports/<int:report_id>/review"): _json({"decision": "approve"}),
    ("POST", "/api/v1/batches"): _json(lambda ids: batch_body(ids["product"])),
    ("POST", "/api/v1/batches/<int:batch_id>/certificates"): _json({**_CERT, "correction_reason": "联系电话写错"}),
    ("POST", "/api/v1/batches/<int:batch_id>/revoke"): _json({"reason": "标签印错"}),
    ("POST", "/api/v1/test-reports"): lambda ids: {
        "query_string": {"station_id": ids["station"]},
        "data": {"file": (io.BytesIO(PDF), "r.pdf")},
    },
    # API reads with a required query ---------------------------------------------------------------
    ("GET", "/api/v1/reports/sales"): lambda ids: {
        "query_string": {"region": COUNTY_A, "from": f"{ids['period']}-01", "to": f"{ids['period']}-28"}
    },
    ("GET", "/api/v1/reports/charts/monthly.svg"): lambda ids: {"query_string": {"region": COUNTY_A}},
    ("GET", "/api/v1/reports/units"): lambda ids: {"query_string": {"region": COUNTY_A, "period": ids["period"]}},
    ("GET", "/api/v1/ledger/balances"): lambda ids: {"query_string": {"owner": f"seller:{ids['seller']}"}},
    ("GET", "/api/v1/metrics/villages"): lambda ids: {"query_string": {"region": COUNTY_A}},
    ("GET", "/api/v1/units/<int:unit_id>/statement"): lambda ids: {"query_string": {"period": ids["period"]}},
    ("GET", "/api/v1/units/<int:unit_id>/purchases/export"): lambda ids: {"query_string": {"period": ids["period"]}},
    ("GET", "/api/v1/orders/<int:order_id>/deliveries/labels"): lambda ids: {
        "query_string": {"station_id": ids["station"]}
    },
    # Console forms (the CSRF token is added to every console POST) ------------------------------------
    ("POST", "/console/login"): _form(lambda ids: {"username": ids["username"], "password": DEFAULT_PASSWORD}),
    ("POST", "/console/admin/categories"): _form({"slug": "honey", "name": "蜂蜜"}),
    ("POST", "/console/admin/categories/<slug>"): _form({"name": "水果鲜果"}),
    ("POST", "/console/admin/staff"): _form(
        {"username": "newadmin", "password": "long-enough-1", "role": "county_admin", "region_code": COUNTY_A}
    ),
    ("POST", "/console/reports/"): _form({"region": COUNTY_A, "period": "2026-01"}),
    ("POST", "/console/reports/<int:report_id>/review"): _form({"decision": "approve"}),
    ("POST", "/console/review/products/<int:product_id>/certification"): _form(
        {"certificate_no": "株扶认〔2026〕099号"}
    ),
    ("POST", "/console/review/products/<int:product_id>/certification/revoke"): _form({"reason": "认定到期"}),
    ("POST", "/console/review/products/<int:product_id>/decision"): _form({"decision": "approve"}),
    ("POST", "/console/settlement/run"): _form({"county_code": COUNTY_A}),
    ("POST", "/console/settlement/batches/<int:batch_id>/bank-file"): _form({"format": "csv"}),
    ("POST", "/console/settlement/batches/<int:batch_id>/bank-results"): lambda ids: {
        "data": {"file": (io.BytesIO("参考号,金额,状态\nAUTHZPAYOUT0002,1.00,成功\n".encode()), "result.csv")}
    },
    ("POST", "/console/station/orders/<int:order_id>/ship"): _form(
        lambda ids: {"station_id": str(ids["station"]), "carrier": "顺丰速运", "tracking_no": "SF0000000001"}
    ),
    ("POST", "/console/station/products/<int:product_id>"): _form({"title": "炎陵黄桃（改）"}),
    ("POST", "/console/station/products/<int:product_id>/images"): lambda ids: {
        "data": {"file": (io.BytesIO(png()), "c.png")}
    },
    ("POST", "/console/station/products/<int:product_id>/off-shelf"): _form({"reason": "暂停销售"}),
    ("POST", "/console/station/products/new"): _form(
        lambda ids: {
            "station_id": str(ids["station"]),
            "seller_id": str(ids["seller"]),
            "category": "fruit",
            "title": "炎陵黄桃（新）",
            "unit": "箱",
            "origin_village_code": "430225100201",
            "skus.0.name": "3斤装",
            "skus.0.price_fen": "39.00",
            "skus.0.stock": "10",
        }
    ),
    ("POST", "/console/station/refunds/<int:refund_id>/decision"): _form({"decision": "approve"}),
    ("POST", "/console/station/pickups/<int:order_id>/arrived"): _form({}),  # already arrived: 409
    ("POST", "/console/station/pickups/<int:order_id>/hand-over"): _form(lambda ids: {"code": ids["pickup_code"]}),
    ("POST", "/console/station/pickups/<int:order_id>/return"): _form({}),  # too soon: 409
    ("POST", "/console/stations/<int:station_id>"): _form({"address": "村部三楼"}),
    ("POST", "/console/stations/<int:station_id>/managers"): _form(
        {"manager.username": "newmanager", "manager.password": "long-enough-1", "manager.display_name": "新站长"}
    ),
    ("POST", "/console/stations/<int:station_id>/sellers"): _form({"name": "王大妈", "phone": "13912345000"}),
    ("POST", "/console/stations/<int:station_id>/suspend"): _form({"reason": "整改检查"}),
    ("POST", "/console/stations/sellers/<int:seller_id>"): _form({"name": "李秀英（改）"}),
    ("POST", "/console/stations/sellers/<int:seller_id>/reveal"): _form({"reason": "核对身份"}),
    ("POST", "/console/stations/villages/<code>"): _form({"households": "321"}),
    ("POST", "/console/stations/villages/<code>/stations"): _form(
        {"village_code": "430225100201", "name": "新服务站", "address": "村部二楼", "service_fee_bps": "300"}
    ),
    ("POST", "/console/stations/villages/<code>/workers"): _form(
        {"name": "赵六", "phone": "13712340000", "kind": "info_officer"}
    ),
}
