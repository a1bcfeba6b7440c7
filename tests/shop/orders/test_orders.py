"""Checkout, idempotency, state machine, expiry, shipping, receipt, visibility."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from shop.models import Product, Sku
from shop.orders.fulfilment import auto_confirm_shipped_orders, expire_overdue_orders
from shop.orders.models import Order, OrderEvent, SellerNotification
from tests import factories
from tests.orders import ADDRESS, pay, place

pytestmark = pytest.mark.usefixtures("shop")


def _stock(sku) -> int:
    return _db.session.execute(sa.select(Sku.stock).where(Sku.id == sku.id)).scalar()


def test_checkout_snapshots_lines_and_reserves_stock(client, shop):
    response = place(client, shop, [(shop["peach_5"], 2), (shop["garlic"], 3)])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "pending_payment"
    assert body["total_fen"] == 2 * 6800 + 3 * 3000
    assert body["expires_at"].endswith("+08:00")
    assert body["address"]["phone"] == "138****5678"
    line = next(item for item in body["lines"] if item["sku_id"] == shop["peach_5"].id)
    assert (line["sku_name"], line["unit_price_fen"], line["amount_fen"]) == ("5斤装", 6800, 13600)
    assert _stock(shop["peach_5"]) == 8 and _stock(shop["garlic"]) == 47


def test_prices_edited_later_do_not_change_the_order(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    shop["peach_5"].price_fen = 9900
    _db.session.commit()
    body = client.get(f"/api/v1/orders/{order_id}", headers=shop["buyer_header"]).json
    assert body["total_fen"] == 6800 and body["lines"][0]["unit_price_fen"] == 6800


def test_out_of_stock_reserves_nothing(client, shop):
    response = place(client, shop, [(shop["garlic"], 3), (shop["peach_10"], 6)])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "out_of_stock"
    assert response.json["error"]["details"]["sku_ids"] == [shop["peach_10"].id]
    assert _stock(shop["garlic"]) == 50 and _stock(shop["peach_10"]) == 5
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_a_product_not_on_sale_is_409(client, shop):
    product = _db.session.get(Product, shop["garlic"].product_id)
    product.status = "off_shelf"
    _db.session.commit()
    response = place(client, shop, [(shop["garlic"], 1)])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "product_not_on_sale"


@pytest.mark.parametrize(
    "body",
    [
        {"items": [], "address": ADDRESS},
        {"items": [{"sku_id": 1, "quantity": 100}], "address": ADDRESS},
        {"items": [{"sku_id": 1, "quantity": 0}], "address": ADDRESS},
        {"items": [{"sku_id": 1, "quantity": 1}], "address": {**ADDRESS, "phone": "110"}},
        {"items": [{"sku_id": 1, "quantity": 1}] * 51, "address": ADDRESS},
    ],
)
def test_malformed_orders_are_422(client, shop, body):
    response = client.post("/api/v1/orders", headers=shop["buyer_header"], json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"


def test_unknown_sku_and_region_are_422(client, shop):
    unknown = client.post(
        "/api/v1/orders",
        headers=shop["buyer_header"],
        json={"items": [{"sku_id": 999999, "quantity": 1}], "address": ADDRESS},
    )
    assert unknown.status_code == 422
    bad_region = client.post(
        "/api/v1/orders",
        headers=shop["buyer_header"],
        json={
            "items": [{"sku_id": shop["garlic"].id, "quantity": 1}],
            "address": {**ADDRESS, "region_code": "9999"},
        },
    )
    assert bad_region.status_code == 422
    assert _stock(shop["garlic"]) == 50


def test_anonymous_checkout_is_401(client, shop):
    assert client.post("/api/v1/orders", json={"items": [], "address": ADDRESS}).status_code == 401


def test_idempotency_key_replays_and_conflicts(client, shop):
    first = place(client, shop, [(shop["garlic"], 2)], **{"Idempotency-Key": "k-1"})
    again = place(client, shop, [(shop["garlic"], 2)], **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _stock(shop["garlic"]) == 48
    other = place(client, shop, [(shop["garlic"], 1)], **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_conflict"


def test_a_failed_request_does_not_burn_its_key(client, shop):
    failed = place(client, shop, [(shop["peach_10"], 6)], **{"Idempotency-Key": "k-2"})
    assert failed.status_code == 409
    shop["peach_10"].stock = 6
    _db.session.commit()
    assert place(client, shop, [(shop["peach_10"], 6)], **{"Idempotency-Key": "k-2"}).status_code == 201


def test_buyer_cancels_and_stock_returns_once(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 4)]).json["id"]
    cancelled = client.post(f"/api/v1/orders/{order_id}/cancel", headers=shop["buyer_header"])
    assert cancelled.json["status"] == "cancelled"
    again = client.post(f"/api/v1/orders/{order_id}/cancel", headers=shop["buyer_header"])
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    assert _stock(shop["peach_5"]) == 10


def test_expiry_releases_stock_exactly_once(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 4)]).json["id"]
    later = utcnow() + timedelta(minutes=31)
    assert expire_overdue_orders(later) == 1
    _db.session.commit()
    assert expire_overdue_orders(later) == 0
    assert _stock(shop["peach_5"]) == 10
    order = _db.session.get(Order, order_id)
    assert (order.status, order.cancel_reason) == ("cancelled", "expired")


def test_an_order_past_its_deadline_reads_as_cancelled_before_the_job(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    order = _db.session.get(Order, order_id)
    order.expires_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    body = client.get(f"/api/v1/orders/{order_id}", headers=shop["buyer_header"]).json
    assert body["status"] == "cancelled" and body["expired"] is True


def test_expire_command(app, client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    order = _db.session.get(Order, order_id)
    order.expires_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    result = app.test_cli_runner().invoke(args=["orders", "expire"])
    assert result.exit_code == 0 and "1 expired" in result.output


def test_paid_order_ships_per_station_then_completes(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1), (shop["garlic"], 1)]).json["id"]
    pay(order_id)
    assert _db.session.get(Product, shop["peach_5"].product_id).sales_count == 1
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    first = client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["peach_manager"], json=ship)
    assert first.status_code == 201, first.json
    assert first.json["status"] == "paid"  # the garlic has not shipped yet
    assert [line["status"] for line in first.json["lines"]] == ["shipped"]  # only the station's lines
    wrong = client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["garlic_manager"], json=ship)
    assert wrong.status_code == 403
    garlic = {"station_id": shop["garlic_station"].id, "carrier": "中国邮政", "tracking_no": "EMS9876543210"}
    second = client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["garlic_manager"], json=garlic)
    assert second.json["status"] == "shipped"
    twice = client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["garlic_manager"], json=garlic)
    assert twice.status_code == 409
    done = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=shop["buyer_header"])
    assert done.json["status"] == "completed"
    events = _db.session.scalars(
        sa.select(OrderEvent.to_status).where(OrderEvent.order_id == order_id, OrderEvent.line_id.is_(None))
    ).all()
    assert events == ["pending_payment", "paid", "shipped", "completed"]


def test_illegal_transitions_are_409(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    receipt = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=shop["buyer_header"])
    assert receipt.status_code == 409 and receipt.json["error"]["code"] == "invalid_state"
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    assert (
        client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["peach_manager"], json=ship).status_code == 409
    )
    pay(order_id)
    assert client.post(f"/api/v1/orders/{order_id}/cancel", headers=shop["buyer_header"]).status_code == 409


def test_shipped_orders_confirm_themselves(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    pay(order_id)
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["peach_manager"], json=ship)
    assert auto_confirm_shipped_orders(utcnow() + timedelta(days=6)) == 0
    assert auto_confirm_shipped_orders(utcnow() + timedelta(days=7, minutes=1)) == 1
    _db.session.commit()
    assert _db.session.get(Order, order_id).status == "completed"


def test_visibility(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1), (shop["garlic"], 1)]).json["id"]
    manager = client.get(f"/api/v1/orders/{order_id}", headers=shop["peach_manager"]).json
    assert [line["station_id"] for line in manager["lines"]] == [shop["peach_station"].id]
    assert manager["address"]["phone"] == "138****5678"
    county = client.get("/api/v1/orders", headers=shop["yanling_admin"]).json
    assert [o["id"] for o in county["items"]] == [order_id]
    assert len(county["items"][0]["lines"]) == 1
    stranger = factories_buyer_header()
    assert client.get(f"/api/v1/orders/{order_id}", headers=stranger).status_code == 404
    assert client.get("/api/v1/orders", headers=stranger).json["total"] == 0
    own = client.get("/api/v1/orders", headers=shop["buyer_header"]).json
    assert own["total"] == 1 and len(own["items"][0]["lines"]) == 2


def factories_buyer_header():

    return factories.auth_header(factories.user(("buyer", None)))


def test_shipping_label_shows_the_full_address_to_the_station_and_is_audited(client, shop):
    from villages.models import PiiAccess

    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    label = client.get(f"/api/v1/orders/{order_id}/shipping-label", headers=shop["peach_manager"])
    assert label.json["address"]["phone"] == "13812345678"
    assert client.get(f"/api/v1/orders/{order_id}/shipping-label", headers=shop["garlic_manager"]).status_code == 404
    assert client.get(f"/api/v1/orders/{order_id}/shipping-label", headers=shop["buyer_header"]).status_code == 404
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(PiiAccess)) == 1


def test_address_phone_is_encrypted_at_rest(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    raw = _db.session.execute(sa.text("SELECT address_phone FROM orders WHERE id = :id"), {"id": order_id}).scalar()
    assert "5678" not in raw and raw.startswith("sm4gcm:")


def test_paid_orders_notify_sellers_after_commit(client, shop):
    order_id = place(client, shop, [(shop["peach_5"], 1)]).json["id"]
    pay(order_id)
    notes = _db.session.scalars(sa.select(SellerNotification).where(SellerNotification.order_id == order_id)).all()
    assert [note.status for note in notes] == ["skipped"]  # the seller has not bound WeChat


def test_staff_see_a_masked_address_and_only_their_lines_events(client, shop):
    body = place(client, shop, [(shop["peach_5"], 1), (shop["garlic"], 1)]).json
    pay(body["id"])
    garlic = {"station_id": shop["garlic_station"].id, "carrier": "中国邮政", "tracking_no": "EMS9876543210"}
    client.post(f"/api/v1/orders/{body['id']}/shipments", headers=shop["garlic_manager"], json=garlic)
    view = client.get(f"/api/v1/orders/{body['id']}", headers=shop["peach_manager"]).json
    assert view["address"]["name"] == "张**" and "某小区" not in view["address"]["detail"]
    events = client.get(f"/api/v1/orders/{body['id']}/events", headers=shop["peach_manager"]).json
    assert all("EMS" not in (event["reason"] or "") for event in events)
    assert any(
        "EMS" in (event["reason"] or "")
        for event in client.get(f"/api/v1/orders/{body['id']}/events", headers=shop["buyer_header"]).json
    )


def test_numbers_out_of_range_are_clean_errors(client, shop):
    huge = 10**20
    assert client.get(f"/api/v1/orders/{huge}", headers=shop["buyer_header"]).status_code == 404
    bad = client.post(
        "/api/v1/orders",
        headers=shop["buyer_header"],
        json={
            "items": [{"sku_id": huge, "quantity": 1}],
            "address": {"name": "张", "phone": "13800000000", "region_code": "4302", "detail": "某地某号"},
        },
    )
    assert bad.status_code == 422


def test_one_buyer_cannot_tie_up_a_skus_stock_in_unpaid_orders(client, shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "UNPAID_UNITS_PER_SKU", 3)
    assert place(client, shop, [(shop["garlic"], 2)]).status_code == 201
    refused = place(client, shop, [(shop["garlic"], 2)])
    assert refused.status_code == 409
    assert refused.json["error"]["details"] == {"sku_ids": [shop["garlic"].id], "max_unpaid_units": 3}
    assert _db.session.get(Sku, shop["garlic"].id).stock == 48  # the refused order took nothing
    assert place(client, shop, [(shop["garlic"], 1)]).status_code == 201  # up to the cap is fine


def test_paid_orders_do_not_count_towards_the_unpaid_cap(client, shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "UNPAID_UNITS_PER_SKU", 3)
    pay(place(client, shop, [(shop["garlic"], 3)]).json["id"])
    assert place(client, shop, [(shop["garlic"], 3)]).status_code == 201


def test_a_buyer_may_hold_only_so_many_unpaid_orders(client, shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "UNPAID_ORDERS_PER_BUYER", 2)
    for _ in range(2):
        assert place(client, shop, [(shop["garlic"], 1)]).status_code == 201
    refused = place(client, shop, [(shop["peach_5"], 1)])
    assert refused.status_code == 409
    assert refused.json["error"]["details"] == {"max_unpaid_orders": 2}
