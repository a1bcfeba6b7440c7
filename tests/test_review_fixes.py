"""Regression tests for defects found in review: rates, bind guessing, shipped_at, double payments,
payout accounts, address masking, out-of-range numbers, the staff event trail."""

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from payments.applying import apply_success, lock_payment
from payments.models import GatewayRefund, Payment
from payments.opening import new_out_trade_no
from payments.refunds import refundable_payment
from shop.orders.after_sales import complete_refund, request_refund
from shop.orders.fulfilment import auto_confirm_shipped_orders
from shop.orders.models import Order, RefundRequest
from tests import factories
from tests.orders import pay, place


def test_station_fee_and_centre_commission_cannot_exceed_the_line(client, db):
    factories.region("430225100202")
    station = factories.station("430225100201")  # centre commission 300
    admin = factories.auth_header(factories.user(("county_admin", "430225")))
    body = {"village_code": "430225100202", "name": "超额服务站", "address": "村部", "service_fee_bps": 9800}
    created = client.post("/api/v1/stations", headers=admin, json=body)
    assert created.status_code == 422 and "service_fee_bps" in created.json["error"]["details"]
    patched = client.patch(f"/api/v1/stations/{station.id}", headers=admin, json={"service_fee_bps": 9701})
    assert patched.status_code == 422
    assert (
        client.patch(f"/api/v1/stations/{station.id}", headers=admin, json={"service_fee_bps": 9700}).status_code == 200
    )


def test_a_refreshed_token_does_not_reset_bind_guesses(client, db):
    factories.user(("buyer", None), username="guesser", password="peaches-2026", wechat_openid="openid-guesser")
    tokens = client.post("/api/v1/auth/login", json={"username": "guesser", "password": "peaches-2026"}).json
    header = {"Authorization": f"Bearer {tokens['token']}"}
    for n in range(5):
        assert client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": f"{n:06d}"}).status_code == 422
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json["token"]
    again = client.post(
        "/api/v1/sellers/bind", headers={"Authorization": f"Bearer {fresh}"}, json={"bind_code": "000009"}
    )
    assert again.status_code == 429


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


def test_after_a_double_payment_refunds_go_through_the_payment_that_paid(client, shop):
    body = place(client, shop, [(shop["peach_5"], 1)]).json
    pay(body["id"])
    first = _db.session.scalar(sa.select(Payment).where(Payment.order_id == body["id"]))
    second = Payment(
        order_id=body["id"],
        buyer_id=shop["buyer"].id,
        channel="alipay_wap",
        out_trade_no=new_out_trade_no(body["id"]),
        amount_fen=6800,
    )
    _db.session.add(second)
    _db.session.flush()
    outcome = apply_success(lock_payment(second.out_trade_no), "TX-second", utcnow() - timedelta(hours=1))
    assert outcome.startswith("refunded_automatically")
    _db.session.commit()
    assert _db.session.scalar(sa.select(GatewayRefund.payment_id)) == second.id
    assert refundable_payment(body["id"]).id == first.id


def test_only_the_county_changes_where_a_sellers_money_goes(client, db):
    station = factories.station("430225100201")
    seller = factories.seller(station)
    manager = factories.auth_header(factories.user(("station_manager", "430225100201", station.id)))
    county = factories.auth_header(factories.user(("county_admin", "430225")))
    change = {"payout_alipay_account": "13700000000"}
    assert client.patch(f"/api/v1/sellers/{seller.id}", headers=manager, json=change).status_code == 403
    assert client.patch(f"/api/v1/sellers/{seller.id}", headers=manager, json={"name": "李秀英"}).status_code == 200
    assert client.patch(f"/api/v1/sellers/{seller.id}", headers=county, json=change).status_code == 200
    from villages.models import PiiAccess

    log = _db.session.scalars(sa.select(PiiAccess).where(PiiAccess.subject_id == seller.id)).all()
    assert [(entry.fields, entry.reason) for entry in log] == [("payout_alipay_account", "changed")]


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
    assert client.get(f"/api/v1/products/{huge}").status_code == 404
    bad = client.post(
        "/api/v1/orders",
        headers=shop["buyer_header"],
        json={
            "items": [{"sku_id": huge, "quantity": 1}],
            "address": {"name": "张", "phone": "13800000000", "region_code": "4302", "detail": "某地某号"},
        },
    )
    assert bad.status_code == 422
    admin = factories.auth_header(factories.user(("platform_admin", None)))
    assert client.get("/api/v1/ledger/balances?owner=seller:²", headers=admin).status_code == 422
    assert client.get(f"/api/v1/ledger/balances?owner=seller:{huge}", headers=admin).status_code == 422
    chart = client.get("/api/v1/reports/charts/monthly.svg?region=430225&until=0001-01", headers=admin)
    assert chart.status_code == 422
