"""The matrix's world: two counties, each with a centre and a station; everything a URL can name lives in
county A (炎陵, station A), so "own" and "other" are the role-holder's relation to that one set of records.

Built once per module through the app's own API where the API can do it (so records are as real as the
product makes them), with factories for the rest. ``build_world`` returns plain ids and headers only:
every cell runs in a savepoint rolled back afterwards, so ORM instances would go stale.
"""

import io
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image

from core.auth import issue_tokens
from core.clock import beijing_today
from core.extensions import db as _db
from institutions.models import UnitMember
from payments.ledger.models import Payout, PayoutBatch
from payments.models import Payment
from shop.batches.models import TestReport
from shop.models import Product, ProductImage, ProductStatus
from shop.orders.models import Order
from tests import factories
from tests.institutions.conftest import credit_code, join, recipients, unit_order
from tests.orders import ADDRESS, CHALING, YANLING, pay, place
from tests.shop.batches.conftest import batch_body

COUNTY_A, COUNTY_B = YANLING[:6], CHALING[:6]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The role columns of the matrix, in table order.
ROLES = (
    "anonymous",
    "buyer",
    "buyer_other",
    "seller",
    "station_manager_own",
    "station_manager_other",
    "county_admin_own",
    "county_admin_other",
    "poverty_office",
    "platform_admin",
)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 220, 240)).save(buffer, "PNG")
    return buffer.getvalue()


def _ok(response, *statuses):
    assert response.status_code in (statuses or (200, 201)), (response.status_code, response.get_json(silent=True))
    return response.get_json(silent=True)


def build_world(client) -> dict:
    """Create the world and return ``{"ids": {...}, "users": {role: user id}, "headers": {role: {...}}}``."""
    station_a = factories.station(YANLING, service_fee_bps=500)
    station_b = factories.station(CHALING, service_fee_bps=400)
    peaches = factories.product(station_a, skus=(("5斤装", 6800, 500), ("10斤装", 12800, 500), ("3斤装", 4200, 500)))
    garlic = factories.product(station_b, title="茶陵大蒜", skus=(("2斤装", 3000, 500),))
    seller_a = peaches.seller
    seller_a.household_category = "tuopin"
    seller_a.household_no = "4302250001"
    seller_a.show_name_on_trace = True
    seller_a.payout_alipay_account = "13900000001"

    users = {
        "buyer": factories.user(("buyer", None), wechat_openid="openid-authz-buyer"),
        "buyer_other": factories.user(("buyer", None), wechat_openid="openid-authz-other"),
        "seller": factories.user(("buyer", None), ("seller", YANLING), wechat_openid="openid-authz-seller"),
        "station_manager_own": factories.user(("station_manager", YANLING, station_a.id)),
        "station_manager_other": factories.user(("station_manager", CHALING, station_b.id)),
        "county_admin_own": factories.user(("county_admin", COUNTY_A)),
        "county_admin_other": factories.user(("county_admin", COUNTY_B)),
        "poverty_office": factories.user(("poverty_office", "4302")),
        "platform_admin": factories.user(("platform_admin", None)),
    }
    seller_a.user_id = users["seller"].id
    worker = factories.worker(YANLING)
    worker_b = factories.worker(CHALING)
    _db.session.commit()
    headers = {role: factories.auth_header(account) for role, account in users.items()}
    headers["anonymous"] = {}
    manager, admin, office = headers["station_manager_own"], headers["county_admin_own"], headers["poverty_office"]
    shop = {"buyer_header": headers["buyer"]}
    sku_5, sku_10 = peaches.skus[0], peaches.skus[1]
    ids = {
        "station": station_a.id,
        "station_b": station_b.id,
        "centre": station_a.centre_id,
        "seller": seller_a.id,
        "product": peaches.id,
        "sku": sku_5.id,
        "sku_10": sku_10.id,
        "sku_3": peaches.skus[2].id,  # no group offer yet
        "village": YANLING,
        "worker": worker.id,
        # County B's records, for the probes that pair a record of one's own with someone else's.
        "seller_b": garlic.seller_id,
        "product_b": garlic.id,
        "sku_b": garlic.skus[0].id,
        "worker_b": worker_b.id,
        "village_b": CHALING,
        "slug": "fruit",
        "year": beijing_today().year,
        "staff_user": users["station_manager_own"].id,
    }

    # Orders of the buyer: one paid (with a refund request), one left unpaid.
    paid = _ok(place(client, shop, [(sku_5, 1)]))
    pay(paid["id"])
    ids["order"] = paid["id"]
    ids["line"] = _db.session.get(Order, paid["id"]).lines[0].id
    ids["payment"] = _db.session.scalar(sa.select(Payment.id).where(Payment.order_id == paid["id"]))
    ids["unpaid_order"] = _ok(place(client, shop, [(sku_10, 1)]))["id"]
    refund = client.post(
        "/api/v1/refunds",
        headers=headers["buyer"],
        json={"order_id": paid["id"], "line_ids": [ids["line"]], "reason": "到货压坏了"},
    )
    ids["refund"] = _ok(refund)["id"]

    # Traceability: a test report and a batch with its 合格证.
    report = client.post(
        f"/api/v1/test-reports?station_id={station_a.id}", headers=manager, data={"file": (io.BytesIO(PDF), "r.pdf")}
    )
    ids["test_report"] = _ok(report)["id"]
    ids["test_report_key"] = _db.session.get(TestReport, ids["test_report"]).key
    batch = _ok(client.post("/api/v1/batches", headers=manager, json=batch_body(peaches.id)))
    ids["batch"] = batch["id"]
    ids["trace_code"] = batch["trace_code"]

    # A county report in draft.
    month = (beijing_today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    ids["report"] = _ok(client.post("/api/v1/reports", headers=admin, json={"region": COUNTY_A, "period": month}))["id"]
    ids["period"] = month

    # A unit of county A with an admin and a purchaser; a bank-transfer order of it, paid and refunded.
    unit = _ok(
        client.post(
            "/api/v1/units",
            headers=office,
            json={
                "region_code": COUNTY_A,
                "name": "炎陵县人民医院",
                "credit_code": credit_code("12430225444885428"),
                "kind": "budget_unit",
            },
        )
    )
    ids["unit"] = unit["id"]
    _unit_admin, unit_admin_header = join(client, office, unit["id"], "admin")
    purchaser, purchaser_header = join(client, unit_admin_header, unit["id"])
    ids["member"] = _db.session.scalar(
        sa.select(UnitMember.id).where(UnitMember.unit_id == unit["id"], UnitMember.user_id == purchaser.id)
    )
    ids["invite_code"] = _ok(client.post(f"/api/v1/units/{unit['id']}/invites", headers=office, json={}))["code"]
    created = _ok(unit_order(client, purchaser_header, unit["id"], [(sku_5, 2)], "canteen", "bank_transfer"))
    ids["unit_order"] = created["id"]
    info = _ok(client.get(f"/api/v1/unit-orders/{created['id']}", headers=purchaser_header))
    transfer = client.post(
        "/api/v1/bank-transfers",
        headers=admin,
        data={
            "payment_reference": info["payment_reference"],
            "amount_fen": str(created["total_fen"]),
            "payer_account_name": "炎陵县人民医院",
            "bank_serial_no": "AUTHZ00000000001",
            "received_on": beijing_today().isoformat(),
            "receipt": (io.BytesIO(png()), "回单.png"),
        },
        content_type="multipart/form-data",
    )
    ids["transfer"] = _ok(transfer)["id"]
    unit_line = _db.session.get(Order, created["id"]).lines[0].id
    asked = _ok(
        client.post(
            "/api/v1/refunds",
            headers=purchaser_header,
            json={"order_id": created["id"], "line_ids": [unit_line], "reason": "食堂多订了"},
        )
    )
    _ok(client.post(f"/api/v1/refunds/{asked['id']}/decision", headers=manager, json={"decision": "approve"}))
    pending = _ok(client.get("/api/v1/bank-transfers/refunds", headers=admin, query_string={"status": "pending"}))
    ids["bank_refund"] = pending["items"][0]["id"]
    # Another transfer order, unpaid: its payment reference is what a new transfer names.
    unpaid = _ok(unit_order(client, purchaser_header, unit["id"], [(sku_5, 1)], "canteen", "bank_transfer"))
    ids["payment_reference"] = _ok(client.get(f"/api/v1/unit-orders/{unpaid['id']}", headers=purchaser_header))[
        "payment_reference"
    ]
    ids["transfer_amount"] = unpaid["total_fen"]
    # The unit's trade union sends a welfare gift to two recipients, paid: one delivery each.
    union = _ok(
        client.post(
            "/api/v1/units",
            headers=office,
            json={
                "region_code": COUNTY_A,
                "name": "炎陵县人民医院工会",
                "credit_code": credit_code("81430225MA4L12345"),
                "kind": "trade_union",
                "parent_id": unit["id"],
            },
        )
    )
    _, union_admin_header = join(client, office, union["id"], "admin")
    join(client, union_admin_header, union["id"], user=purchaser)
    welfare = _ok(
        unit_order(client, purchaser_header, union["id"], [(sku_5, 1)], "union_welfare", recipients=recipients(2))
    )
    pay(welfare["id"])
    ids["welfare_order"] = welfare["id"]
    deliveries = _ok(client.get(f"/api/v1/orders/{welfare['id']}/deliveries", headers=purchaser_header))
    ids["delivery"] = deliveries["items"][0]["id"]
    # A villager registered at station A, not yet bound: the buyer may bind with the code.
    registered = _ok(
        client.post(
            f"/api/v1/stations/{station_a.id}/sellers", headers=manager, json={"name": "王大妈", "phone": "13912345001"}
        )
    )
    ids["bind_code"] = registered["bind_code"]

    # A photo of the product (last: a new photo sends the listing back to review), and its file for /media.
    image = _ok(
        client.post(
            f"/api/v1/products/{peaches.id}/images", headers=manager, data={"file": (io.BytesIO(png()), "a.png")}
        )
    )
    ids["image"] = image["id"]
    ids["media_key"] = _db.session.get(ProductImage, image["id"]).key
    # A second photo for the routes that delete one (a deleted file is not rolled back with its row).
    spare = client.post(
        f"/api/v1/products/{peaches.id}/images", headers=manager, data={"file": (io.BytesIO(png()), "s.png")}
    )
    ids["spare_image"] = _ok(spare)["id"]
    _db.session.get(Product, peaches.id).status = ProductStatus.ON_SALE  # back on sale, as after a review

    image_b = client.post(
        f"/api/v1/products/{garlic.id}/images",
        headers=headers["station_manager_other"],
        data={"file": (io.BytesIO(png()), "g.png")},
    )
    ids["image_b"] = _ok(image_b)["id"]
    _db.session.get(Product, garlic.id).status = ProductStatus.ON_SALE
    # An order of the other buyer, for station B.
    other_order = _ok(
        place(client, {"buyer_header": headers["buyer_other"]}, [(_db.session.get(Product, garlic.id).skus[0], 1)])
    )
    pay(other_order["id"])
    ids["order_b"] = other_order["id"]
    ids["line_b"] = _db.session.get(Order, other_order["id"]).lines[0].id

    # Group buying: an offer on the 10斤装, a spare offer to close, and a group the buyer opened and paid.
    offer = client.post(
        f"/api/v1/products/{peaches.id}/group-offers",
        headers=manager,
        json={"sku_id": sku_10.id, "price_fen": 9900, "group_size": 3, "hours": 24},
    )
    ids["offer"] = _ok(offer)["id"]
    spare_offer = client.post(
        f"/api/v1/products/{peaches.id}/group-offers",
        headers=manager,
        json={"sku_id": sku_5.id, "price_fen": 5800, "group_size": 2, "hours": 24},
    )
    ids["spare_offer"] = _ok(spare_offer)["id"]
    opened = client.post(
        "/api/v1/groups", headers=headers["buyer"], json={"offer_id": ids["offer"], "address": ADDRESS}
    )
    opened = _ok(opened)
    pay(opened["order"]["id"])
    ids["group"] = opened["group"]["id"]

    # Pickup at station A: the buyer's paid order, its goods arrived; and a pre-sale on the 5斤装.
    pickup = client.post(
        "/api/v1/orders",
        headers=headers["buyer"],
        json={
            "items": [{"sku_id": sku_5.id, "quantity": 1}],
            "pickup_station_id": station_a.id,
            "contact": {"name": ADDRESS["name"], "phone": ADDRESS["phone"]},
        },
    )
    ids["pickup_order"] = _ok(pickup)["id"]
    pay(ids["pickup_order"])
    _ok(client.post(f"/api/v1/orders/{ids['pickup_order']}/pickup/arrived", headers=manager))
    ids["pickup_code"] = _ok(client.get(f"/api/v1/orders/{ids['pickup_order']}", headers=headers["buyer"]))["pickup"][
        "code"
    ]
    today = beijing_today()
    presale = client.post(
        f"/api/v1/products/{peaches.id}/presales",
        headers=manager,
        json={
            "sku_id": sku_10.id,
            "quota": 100,
            "order_from": f"{today.isoformat()}T00:00:00+08:00",
            "order_until": f"{(today + timedelta(days=30)).isoformat()}T00:00:00+08:00",
            "ships_from": (today + timedelta(days=40)).isoformat(),
            "ships_until": (today + timedelta(days=50)).isoformat(),
        },
    )
    ids["presale"] = _ok(presale)["id"]

    # A settlement batch of county A paying seller A (the gateway is never reached: rows only).
    payout_batch = PayoutBatch(county_code=COUNTY_A, created_by_id=users["platform_admin"].id)
    _db.session.add(payout_batch)
    _db.session.flush()
    _db.session.add(
        Payout(
            batch_id=payout_batch.id,
            party_type="seller",
            party_id=seller_a.id,
            region_code=YANLING,
            station_id=station_a.id,
            payee_name="李秀英",
            payee_account="13900000001",
            amount_fen=100,
            out_biz_no="AUTHZPAYOUT0001",
            status="failed",
            failure_reason="测试",
        )
    )
    # … and station A by bank (银行代发), not yet in a bank file: the batch has a line to export.
    _db.session.add(
        Payout(
            batch_id=payout_batch.id,
            party_type="station",
            party_id=station_a.id,
            region_code=YANLING,
            station_id=station_a.id,
            payee_name="霞阳村服务站",
            payee_account="43001860061052500001",
            amount_fen=100,
            out_biz_no="AUTHZPAYOUT0002",
            method="bank",
            bank_name="炎陵县农村商业银行霞阳支行",
        )
    )
    _db.session.commit()
    ids["payout_batch"] = payout_batch.id
    ids["username"] = users["platform_admin"].username
    ids["refresh_token"] = issue_tokens(users["buyer"])["refresh_token"]
    return {
        "ids": ids,
        "users": {role: account.id for role, account in users.items()},
        "headers": headers,
    }
