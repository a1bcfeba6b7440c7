"""Orders paid through the sandbox gateways end to end: the real SDKs, real signatures, real HTTP.

The app is served on loopback so the simulator can deliver its notifications
to the app's own notify endpoints.
"""

from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from payments.applying import apply_success, lock_payment
from payments.models import GatewayRefund, Payment, PaymentEvent, ShippingUpload
from payments.opening import new_out_trade_no
from payments.refunds import refundable_payment
from shop.orders.fulfilment import expire_overdue_orders
from shop.orders.models import Order
from tests import factories
from tests.orders import pay, place

# WeChat tests run on both APIs: v3 (what a new merchant gets) and v2 (merchants with an API v2 key).
both_wechat_apis = pytest.mark.parametrize("gateway", ["v3", "v2"], indirect=True)


def _open(client, shop, order_id, channel, header=None):
    response = client.post(
        f"/api/v1/orders/{order_id}/payments", headers=header or shop["buyer_header"], json={"channel": channel}
    )
    assert response.status_code == 201, response.json
    return response.json


def _order(client, shop, header=None):
    body = {"items": [{"sku_id": shop["peach_5"].id, "quantity": 1}], "address": shop_address()}
    response = client.post("/api/v1/orders", headers=header or shop["buyer_header"], json=body)
    assert response.status_code == 201, response.json
    return response.json


def shop_address():
    from tests.orders import ADDRESS

    return ADDRESS


def _outcomes(out_trade_no):
    _db.session.expire_all()
    return _db.session.scalars(
        sa.select(PaymentEvent.outcome).where(PaymentEvent.out_trade_no == out_trade_no).order_by(PaymentEvent.id)
    ).all()


@both_wechat_apis
def test_wechat_jsapi_pays_the_order(client, shop, gateway, app):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    assert set(payment["params"]) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    sign_type = {"v3": "RSA", "v2": "MD5"}[app.config["WECHAT_PAY_VERSION"]]
    assert payment["params"]["signType"] == sign_type and payment["amount_fen"] == 6800
    gateway.pay(payment["out_trade_no"], request_payment=payment["params"])  # checks paySign like wx does
    gateway.deliver_due()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["status"] == "paid"
    assert client.get(f"/api/v1/payments/{payment['id']}", headers=shop["buyer_header"]).json["status"] == "paid"
    assert _outcomes(payment["out_trade_no"]) == ["applied"]


def test_opening_twice_reuses_the_attempt(client, shop, gateway):
    order = _order(client, shop)
    first = _open(client, shop, order["id"], "wechat_jsapi")
    second = _open(client, shop, order["id"], "wechat_jsapi")
    assert first["out_trade_no"] == second["out_trade_no"] and len(first["out_trade_no"]) <= 32


def test_alipay_wap_pays_the_order(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "alipay_wap")
    assert set(payment["params"]) == {"url"} and payment["params"]["url"].startswith(gateway.base_url)
    requests.get(payment["params"]["url"], timeout=5)  # the buyer opens the cashier page
    gateway.pay(payment["out_trade_no"], "alipay_wap")
    gateway.deliver_due()
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["paid_channel"] == "alipay_wap"
    )


def test_alipay_mini_needs_an_alipay_buyer(client, shop, gateway):
    order = _order(client, shop)
    refused = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop["buyer_header"], json={"channel": "alipay_mini"}
    )
    assert refused.status_code == 422
    alipay_buyer = factories.auth_header(factories.user(("buyer", None), alipay_user_id="2088000000000077"))
    order = _order(client, shop, alipay_buyer)
    payment = _open(client, shop, order["id"], "alipay_mini", alipay_buyer)
    assert set(payment["params"]) == {"trade_no"}
    gateway.pay(payment["out_trade_no"], "alipay_mini")
    gateway.deliver_due()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alipay_buyer).json["status"] == "paid"


REFUSED_VARIANTS = {
    "v2": ("forged", "tampered_amount", "wrong_appid"),
    "v3": ("forged", "unknown_serial", "stale_timestamp", "tampered_ciphertext", "wrong_appid"),
    "alipay": ("forged", "tampered_amount", "wrong_appid"),
}


@pytest.mark.parametrize(
    ("channel", "gateway"), [("wechat_jsapi", "v3"), ("wechat_jsapi", "v2"), ("alipay_wap", "v3")], indirect=["gateway"]
)
def test_duplicates_change_nothing_and_forgeries_are_refused(client, shop, gateway, channel, app):
    refused = REFUSED_VARIANTS["alipay" if channel == "alipay_wap" else app.config["WECHAT_PAY_VERSION"]]
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], channel)
    if channel == "alipay_wap":
        requests.get(payment["params"]["url"], timeout=5)
    gateway.pay(payment["out_trade_no"], channel)
    gateway.deliver_due()
    duplicate = gateway.send_variant(payment["out_trade_no"], "duplicate", channel)
    assert duplicate.attempts[-1].acked and duplicate.attempts[-1].status in (200, 204)
    for kind in refused:
        delivery = gateway.send_variant(payment["out_trade_no"], kind, channel)
        assert delivery.attempts[-1].status == 400 and not delivery.acked, kind
    # An altered ciphertext cannot even say which payment it claims to be about.
    unattributed = 1 if "tampered_ciphertext" in refused else 0
    outcomes = _outcomes(payment["out_trade_no"])
    assert outcomes[:2] == ["applied", "duplicate"]
    assert all(outcome.startswith("rejected") for outcome in outcomes[2:])
    assert len(outcomes) == 2 + len(refused) - unattributed
    events = _db.session.scalars(sa.select(PaymentEvent).where(PaymentEvent.out_trade_no == payment["out_trade_no"]))
    assert [event.verified for event in events] == [True, True] + [False] * (len(refused) - unattributed)
    order_events = client.get(f"/api/v1/orders/{order['id']}/events", headers=shop["buyer_header"]).json
    assert [e["to_status"] for e in order_events if e["line_id"] is None] == ["pending_payment", "paid"]


@both_wechat_apis
def test_unknown_out_trade_no_is_refused(client, shop, gateway):
    from payments.providers import get_provider
    from tests.payments_fixtures import payment_request, settings_for

    app_config = client.application.config
    config = settings_for(gateway.base_url, app_config["PUBLIC_BASE_URL"], app_config["WECHAT_PAY_VERSION"])
    get_provider("wechat_jsapi", config).create(payment_request("NOT_OURS_1", "wechat_jsapi", config))
    gateway.pay("NOT_OURS_1")
    gateway.deliver_due()
    assert _outcomes("NOT_OURS_1") == ["rejected: unknown out_trade_no"]


def test_money_for_an_expired_order_goes_back_automatically(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "alipay_wap")
    requests.get(payment["params"]["url"], timeout=5)
    gateway.pay(payment["out_trade_no"], "alipay_wap")  # paid, but the notification is late
    assert expire_overdue_orders(utcnow() + timedelta(hours=1)) == 1
    _db.session.commit()  # closing at the gateway finds it paid: applied, then refunded
    refund = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.payment_id == payment["id"]))
    assert refund is not None and refund.reason == "paid_after_expiry"
    assert refund.status == "success" and refund.amount_fen == 6800
    assert _db.session.get(Order, order["id"]).status == "cancelled"
    gateway.deliver_due()  # the late notification now changes nothing
    assert _outcomes(payment["out_trade_no"])[-1] == "duplicate"


@both_wechat_apis
def test_expiry_closes_an_unpaid_payment_at_the_gateway(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    expire_overdue_orders(utcnow() + timedelta(hours=1))
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(Payment, payment["id"]).status == "closed"
    assert gateway.state.wechat_trades[payment["out_trade_no"]].state == "CLOSED"


@both_wechat_apis
def test_missed_notification_is_caught_by_querying(client, shop, gateway, app):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])  # no delivery
    assert client.get(f"/api/v1/payments/{payment['id']}", headers=shop["buyer_header"]).json["status"] == "paid"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["status"] == "paid"


def test_payments_sync_command(client, shop, gateway, app):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])
    _db.session.get(Payment, payment["id"]).created_at = utcnow() - timedelta(minutes=10)
    _db.session.commit()
    result = app.test_cli_runner().invoke(args=["payments", "sync", "--older-than", "5"])
    assert result.exit_code == 0 and "paid: 1" in result.output


@both_wechat_apis
def test_after_sales_refund_goes_back_through_wechat(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])
    gateway.deliver_due()
    refund = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "桃子压坏了"},
    ).json
    decided = client.post(
        f"/api/v1/refunds/{refund['id']}/decision", headers=shop["peach_manager"], json={"decision": "approve"}
    )
    assert decided.json["status"] == "approved"
    sent = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == refund["id"]))
    assert sent.status == "processing"  # WeChat answers later
    gateway.deliver_due()  # the encrypted refund notification
    assert client.get(f"/api/v1/refunds/{refund['id']}", headers=shop["buyer_header"]).json["status"] == "refunded"
    view = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
    assert view["status"] == "refunded" and view["lines"][0]["refunded_fen"] == 6800
    replay = gateway.send_variant(payment["out_trade_no"], "duplicate")  # the old success, replayed
    assert replay.acked
    assert _outcomes(payment["out_trade_no"])[-1] == "duplicate"
    again = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
    assert again["status"] == "refunded" and again["paid_at"] == view["paid_at"]


def test_after_sales_refund_goes_back_through_alipay(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "alipay_wap")
    requests.get(payment["params"]["url"], timeout=5)
    gateway.pay(payment["out_trade_no"], "alipay_wap")
    gateway.deliver_due()
    refund = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "不新鲜"},
    ).json
    client.post(f"/api/v1/refunds/{refund['id']}/decision", headers=shop["peach_manager"], json={"decision": "approve"})
    assert client.get(f"/api/v1/refunds/{refund['id']}", headers=shop["buyer_header"]).json["status"] == "refunded"


@both_wechat_apis
def test_wechat_paid_shipments_are_uploaded_to_wechat(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])
    gateway.deliver_due()
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    assert (
        client.post(f"/api/v1/orders/{order['id']}/shipments", headers=shop["peach_manager"], json=ship).status_code
        == 201
    )
    upload = _db.session.scalar(sa.select(ShippingUpload))
    assert (upload.status, upload.last_error, upload.attempts) == ("uploaded", None, 1)
    recorded = [r for r in gateway.recorded() if "upload_shipping_info" in str(r)]
    assert len(recorded) == 1


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
