"""今日工作: orders to ship, pick list, labels (audited), shipping, after-sales, the station's products."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.clock import beijing_today
from core.db import utcnow
from core.extensions import limiter
from shop.models import Product, Sku
from shop.orders.models import Order, OrderPickup, RefundRequest
from tests.catalogue import image_bytes
from tests.ledger_helpers import paid_order
from tests.orders import pay
from villages.models import PiiAccess


def _skus(product):
    return {sku.name: (sku.price_fen, sku.stock) for sku in product.active_skus}


def test_today_lists_the_stations_paid_orders_with_masked_addresses(client, staff, as_user):
    mine = paid_order(client, staff, [(staff["peach_5"], 2), (staff["garlic"], 1)])
    theirs = paid_order(client, staff, [(staff["garlic"], 3)])
    html = as_user(staff["liu"]).get("/console/station/").text
    assert f"订单 {mine['id']}" in html and f"订单 {theirs['id']}" not in html
    assert "5斤装 × <strong>2</strong>" in html and "茶陵大蒜" not in html  # only this station's lines
    assert "138****5678" in html and "13812345678" not in html  # masked as the API does
    assert "张*" in html and "张女士" not in html


def test_ship_an_order_with_carrier_and_tracking_number(db, client, staff, as_user, post):
    order = paid_order(client, staff, [(staff["peach_5"], 1)])
    as_user(staff["liu"])
    station_id = staff["peach_station"].id
    bad = post(
        f"/console/station/orders/{order['id']}/ship",
        {"station_id": station_id, "carrier": "顺丰速运", "tracking_no": "短"},
    )
    assert bad.status_code == 422 and "运单号格式不正确" in bad.text and 'value="顺丰速运"' in bad.text
    shipped = post(
        f"/console/station/orders/{order['id']}/ship",
        {"station_id": station_id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"},
    )
    assert shipped.status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, order["id"]).status == "shipped"
    html = client.get(shipped.headers["Location"]).text
    assert "已发货（顺丰速运 SF1234567890）" in html and f"订单 {order['id']}</h3>" not in html


def test_pick_list_adds_up_the_sizes_to_take(client, staff, as_user):
    paid_order(client, staff, [(staff["peach_5"], 2)])
    paid_order(client, staff, [(staff["peach_5"], 1), (staff["peach_10"], 1)])
    html = as_user(staff["liu"]).get("/console/station/pick-list").text
    assert "data-print" in html
    assert '<td>5斤装</td><td class="text-end fw-bold">3</td>' in html
    assert '<td>10斤装</td><td class="text-end fw-bold">1</td>' in html


def test_labels_show_the_full_address_and_are_audited(db, client, staff, as_user):
    order = paid_order(client, staff, [(staff["peach_5"], 1)])
    html = as_user(staff["liu"]).get("/console/station/labels").text
    assert "张女士 13812345678" in html and "长沙市岳麓区某小区1栋" in html
    audit = db.session.scalars(sa.select(PiiAccess).where(PiiAccess.subject_id == order["id"])).all()
    assert [(row.user_id, row.subject_type) for row in audit] == [(staff["liu"].id, "order")]
    one = client.get(f"/console/station/orders/{order['id']}/label")
    assert one.status_code == 200 and "13812345678" in one.text


def test_another_stations_order_label_is_not_found(client, staff, as_user):
    order = paid_order(client, staff, [(staff["garlic"], 1)])
    assert as_user(staff["liu"]).get(f"/console/station/orders/{order['id']}/label").status_code == 404


def test_after_sales_requests_are_decided_with_a_reason(db, client, staff, as_user, post):
    order = paid_order(client, staff, [(staff["peach_5"], 1)])
    asked = client.post(
        "/api/v1/refunds",
        headers=staff["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "不想要了"},
    )
    refund_id = asked.json["id"]
    html = as_user(staff["liu"]).get("/console/station/").text
    assert f"退款申请 {refund_id}" in html and "不想要了" in html
    refused = post(f"/console/station/refunds/{refund_id}/decision", {"decision": "reject"})
    assert refused.status_code == 422 and "拒绝退款须说明理由" in refused.text
    done = post(f"/console/station/refunds/{refund_id}/decision", {"decision": "reject", "reason": "已发货无法取消"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(RefundRequest, refund_id).status == "rejected"
    assert db.session.get(Order, order["id"]).status == "paid"


def test_list_a_product_with_prices_in_yuan(db, staff, as_user, post):
    client = as_user(staff["liu"])
    station = staff["peach_station"]
    seller = staff["peach_5"].product.seller
    form = client.get(f"/console/station/products/new?station={station.id}")
    assert form.status_code == 200 and seller.name in form.text
    data = {
        "station_id": station.id,
        "seller_id": seller.id,
        "title": "高山冬笋",
        "category": "fruit",
        "unit": "斤",
        "origin_village_code": station.village_code,
        "description": "现挖现发",
        "skus.0.name": "2斤装",
        "skus.0.price_fen": "39.90",
        "skus.0.stock": "20",
        "skus.1.name": "",
        "skus.1.price_fen": "",
        "skus.1.stock": "",
    }
    bad = post("/console/station/products/new", {**data, "skus.0.price_fen": "39.999"})
    assert bad.status_code == 422 and "金额格式不正确" in bad.text and 'value="高山冬笋"' in bad.text
    assert db.session.scalar(sa.select(Product).where(Product.title == "高山冬笋")) is None
    created = post("/console/station/products/new", data)
    assert created.status_code == 302
    product = db.session.scalar(sa.select(Product).where(Product.title == "高山冬笋"))
    assert product.status == "pending_review" and _skus(product) == {"2斤装": (3990, 20)}


def test_edit_upload_a_photo_take_off_and_resubmit(db, staff, as_user, post):
    product = staff["peach_5"].product
    client = as_user(staff["liu"])
    page = client.get(f"/console/station/products/{product.id}")
    assert page.status_code == 200 and 'value="68.00"' in page.text
    changes = {
        "title": product.title,
        "category": product.category_slug,
        "unit": product.unit,
        "origin_village_code": product.origin_village_code,
        "description": product.description,
        "skus.0.id": staff["peach_5"].id,
        "skus.0.name": "5斤装",
        "skus.0.price_fen": "58.00",
        "skus.0.stock": "7",
        "skus.1.id": staff["peach_10"].id,
        "skus.1.name": "10斤装",
        "skus.1.price_fen": "128.00",
        "skus.1.stock": "5",
    }
    assert post(f"/console/station/products/{product.id}", changes).status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.status == "on_sale"  # price and stock only: no new review
    assert _skus(product) == {"5斤装": (5800, 7), "10斤装": (12800, 5)}
    upload = post(
        f"/console/station/products/{product.id}/images",
        {"file": (io.BytesIO(image_bytes("PNG")), "peach.png")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert len(product.images) == 1 and product.status == "pending_review"  # a new photo goes back to review
    not_an_image = post(
        f"/console/station/products/{product.id}/images",
        {"file": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data",
    )
    assert not_an_image.status_code == 422 and "只支持 JPEG、PNG 或 WebP" in not_an_image.text
    assert post(f"/console/station/products/{product.id}/off-shelf", {"reason": "卖完了"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "off_shelf"
    assert post(f"/console/station/products/{product.id}/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "pending_review"


def test_another_stations_products_and_county_users_are_kept_out(staff, as_user):
    garlic = staff["garlic"].product
    assert as_user(staff["liu"]).get(f"/console/station/products/{garlic.id}").status_code in (403, 404)
    assert as_user(staff["yanling"]).get("/console/station/").status_code == 403


def test_approve_a_refund_and_remove_a_photo(db, client, staff, as_user, post):
    order = paid_order(client, staff, [(staff["peach_5"], 1)])
    asked = client.post(
        "/api/v1/refunds",
        headers=staff["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "拍错了"},
    )
    as_user(staff["liu"])
    assert post(f"/console/station/refunds/{asked.json['id']}/decision", {"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RefundRequest, asked.json["id"]).status in ("approved", "refunded", "failed")
    again = post(f"/console/station/refunds/{asked.json['id']}/decision", {"decision": "approve"})
    assert again.status_code == 409 and "该退款申请已处理" in again.text

    product = staff["peach_5"].product
    post(
        f"/console/station/products/{product.id}/images",
        {"file": (io.BytesIO(image_bytes("JPEG")), "a.jpg")},
        content_type="multipart/form-data",
    )
    db.session.expire_all()
    image_id = db.session.get(Product, product.id).images[0].id
    assert post(f"/console/station/products/{product.id}/images/{image_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).images == []


# 到站自提 and 预售备货 ---------------------------------------------------------------------------


def _pickup_order(client, staff) -> int:
    body = {
        "items": [{"sku_id": staff["peach_5"].id, "quantity": 2}],
        "pickup_station_id": staff["peach_station"].id,
        "contact": {"name": "李先生", "phone": "13912345678"},
    }
    created = client.post("/api/v1/orders", headers=staff["buyer_header"], json=body)
    assert created.status_code == 201, created.json
    pay(created.json["id"])
    return created.json["id"]


@pytest.fixture
def _forget_throttles():
    limiter.storage.reset()
    yield
    limiter.storage.reset()


def test_a_pickup_order_is_received_at_the_counter_and_handed_over_against_its_code(
    db, client, staff, as_user, post, _forget_throttles
):
    order_id = _pickup_order(client, staff)
    code = client.get(f"/api/v1/orders/{order_id}", headers=staff["buyer_header"]).json["pickup"]["code"]
    html = as_user(staff["liu"]).get("/console/station/").text
    assert f"自提订单 {order_id}" in html and "待到货" in html
    assert f"订单 {order_id}</h3>" not in html  # not in the courier list: it is collected here
    assert code not in html  # the station never sees the buyer's code

    arrived = post(f"/console/station/pickups/{order_id}/arrived")
    assert arrived.status_code == 302
    page = client.get(arrived.headers["Location"]).text
    assert "已登记到站" in page and "已到站，待取货" in page
    assert "李*" in page and "139****5678" in page and "13912345678" not in page

    wrong = post(f"/console/station/pickups/{order_id}/hand-over", {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and "取货码不正确" in wrong.text
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "shipped"

    right = post(f"/console/station/pickups/{order_id}/hand-over", {"code": code})
    assert right.status_code == 302
    assert "取货码正确，已交付买家" in client.get(right.headers["Location"]).text
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order.status == "completed" and order.pickup.status == "collected"


def test_guessing_pickup_codes_at_the_counter_slows_down(db, client, staff, as_user, post, _forget_throttles):
    order_id = _pickup_order(client, staff)
    as_user(staff["liu"])
    post(f"/console/station/pickups/{order_id}/arrived")
    url = f"/console/station/pickups/{order_id}/hand-over"
    statuses = [post(url, {"code": f"90000{n}"}).status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]
    assert "尝试次数过多" in post(url, {"code": "900009"}).text


def test_an_uncollected_parcel_goes_back_to_stock_after_the_waiting_days(db, client, staff, as_user, post, app):
    order_id = _pickup_order(client, staff)
    as_user(staff["liu"])
    post(f"/console/station/pickups/{order_id}/arrived")
    assert "退回库存并退款" not in client.get("/console/station/").text
    early = post(f"/console/station/pickups/{order_id}/return")
    assert early.status_code == 409 and "仍未取货才能退回库存" in early.text
    pickup = db.session.get(OrderPickup, order_id)
    pickup.arrived_at = utcnow() - timedelta(days=app.config["PICKUP_UNCOLLECTED_DAYS"], hours=1)
    db.session.commit()
    assert "退回库存并退款" in client.get("/console/station/").text
    stock_before = db.session.get(Sku, staff["peach_5"].id).stock
    returned = post(f"/console/station/pickups/{order_id}/return")
    assert returned.status_code == 302
    assert "逾期未取" in client.get(returned.headers["Location"]).text
    db.session.expire_all()
    assert db.session.get(Sku, staff["peach_5"].id).stock == stock_before + 2
    assert db.session.get(OrderPickup, order_id).status == "returned"


def test_the_presale_plan_groups_paid_orders_by_delivery_window(client, staff, as_user):
    today = beijing_today()
    window = {
        "sku_id": staff["peach_5"].id,
        "quota": 50,
        "order_from": (utcnow() - timedelta(hours=1)).isoformat(),
        "order_until": (utcnow() + timedelta(days=5)).isoformat(),
        "ships_from": (today + timedelta(days=10)).isoformat(),
        "ships_until": (today + timedelta(days=20)).isoformat(),
    }
    product_id = staff["peach_5"].product_id
    opened = client.post(f"/api/v1/products/{product_id}/presales", headers=staff["peach_manager"], json=window)
    assert opened.status_code == 201
    paid_order(client, staff, [(staff["peach_5"], 2)])
    paid_order(client, staff, [(staff["peach_5"], 3)])
    html = as_user(staff["liu"]).get("/console/station/presale-plan").text
    first, last = today + timedelta(days=10), today + timedelta(days=20)
    assert f"{first.month}月{first.day}日 – {last.month}月{last.day}日发货" in html
    assert "2 单 · 共 5 件" in html and "<strong>5</strong>" in html
    assert "预售备货" in as_user(staff["liu"]).get("/console/station/").text
