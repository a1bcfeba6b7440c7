"""After-sales requests: buyer asks, station or county decides; money moves in payments."""

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from shop.orders.after_sales import complete_refund, request_refund
from shop.orders.fulfilment import auto_confirm_shipped_orders
from shop.orders.models import Order, RefundRequest
from shop.signals import refund_approved
from tests.orders import pay, place


def _paid_order(client, shop):
    body = place(client, shop, [(shop["peach_5"], 1), (shop["garlic"], 2)]).json
    pay(body["id"])
    return body


def test_buyer_requests_and_station_approves(client, shop):
    order = _paid_order(client, shop)
    peach_line = next(line["id"] for line in order["lines"] if line["station_id"] == shop["peach_station"].id)
    approved = []

    def record(refund, **_):
        approved.append(refund)

    refund_approved.connect(record)
    try:
        created = client.post(
            "/api/v1/refunds",
            headers={**shop["buyer_header"], "Idempotency-Key": "r-1"},
            json={"order_id": order["id"], "line_ids": [peach_line], "reason": "到货压坏了"},
        )
        assert created.status_code == 201, created.json
        assert created.json["amount_fen"] == 6800 and created.json["status"] == "requested"
        view = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
        assert view["status"] == "refunding"
        other = client.post(
            f"/api/v1/refunds/{created.json['id']}/decision",
            headers=shop["garlic_manager"],
            json={"decision": "approve"},
        )
        assert other.status_code == 404
        decided = client.post(
            f"/api/v1/refunds/{created.json['id']}/decision",
            headers=shop["peach_manager"],
            json={"decision": "approve"},
        )
        assert decided.json["status"] == "approved"
        assert [refund.id for refund in approved] == [created.json["id"]]
    finally:
        refund_approved.disconnect(record)
    refund = _db.session.get(RefundRequest, created.json["id"])
    complete_refund(refund)
    _db.session.commit()
    view = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
    assert view["status"] == "paid"  # the garlic line is still to ship
    line = next(item for item in view["lines"] if item["id"] == peach_line)
    assert (line["status"], line["refunded_fen"]) == ("refunded", 6800)


def test_rejection_needs_a_reason_and_restores_the_lines(client, shop):
    order = _paid_order(client, shop)
    line_ids = [line["id"] for line in order["lines"]]
    created = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": line_ids, "reason": "不想要了"},
    ).json
    station = client.post(
        f"/api/v1/refunds/{created['id']}/decision",
        headers=shop["peach_manager"],
        json={"decision": "reject"},
    )
    assert station.status_code == 403  # lines of two stations: the county decides
    county = client.post(
        f"/api/v1/refunds/{created['id']}/decision",
        headers=shop["yanling_admin"],
        json={"decision": "reject"},
    )
    assert county.status_code == 403  # the garlic station is in 茶陵
    from tests import factories

    platform = factories.auth_header(factories.user(("platform_admin", None)))
    no_reason = client.post(f"/api/v1/refunds/{created['id']}/decision", headers=platform, json={"decision": "reject"})
    assert no_reason.status_code == 422
    rejected = client.post(
        f"/api/v1/refunds/{created['id']}/decision",
        headers=platform,
        json={"decision": "reject", "reason": "商品已签收且无质量问题"},
    )
    assert rejected.json["status"] == "rejected"
    view = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
    assert view["status"] == "paid" and {line["status"] for line in view["lines"]} == {"paid"}


def test_unpaid_or_foreign_lines_cannot_be_refunded(client, shop):
    unpaid = place(client, shop, [(shop["peach_5"], 1)]).json
    response = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": unpaid["id"], "line_ids": [unpaid["lines"][0]["id"]], "reason": "测试"},
    )
    assert response.status_code == 409
    paid = _paid_order(client, shop)
    foreign = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": paid["id"], "line_ids": [unpaid["lines"][0]["id"]], "reason": "测试"},
    )
    assert foreign.status_code == 422
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(RefundRequest)) == 0


def test_a_line_cannot_be_refunded_twice_at_once(client, shop):
    order = _paid_order(client, shop)
    body = {"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "坏了"}
    assert client.post("/api/v1/refunds", headers=shop["buyer_header"], json=body).status_code == 201
    assert client.post("/api/v1/refunds", headers=shop["buyer_header"], json=body).status_code == 409


def test_an_order_shipped_after_a_refund_still_confirms_itself(client, shop):
    body = place(client, shop, [(shop["peach_5"], 1), (shop["peach_10"], 1)]).json
    pay(body["id"])
    order = _db.session.get(Order, body["id"])
    refund = request_refund(order.buyer, order.id, [order.lines[1].id], "坏了")
    refund.status = "approved"
    _db.session.commit()
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    assert (
        client.post(f"/api/v1/orders/{order.id}/shipments", headers=shop["peach_manager"], json=ship).status_code == 201
    )
    complete_refund(_db.session.get(RefundRequest, refund.id))
    _db.session.commit()
    order = _db.session.get(Order, body["id"])
    assert order.status == "shipped" and order.shipped_at is not None
    assert auto_confirm_shipped_orders(utcnow() + timedelta(days=8)) == 1
