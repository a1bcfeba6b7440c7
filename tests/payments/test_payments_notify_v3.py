"""The app's WeChat Pay v3 loop on loopback: order → pay → notify → ship → refund → reconcile.

The simulator posts to the app's real ``/api/v1/payments/notify/wechat-v3``; the
app talks to the simulator through wechatpayv3.
"""

import json
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from core.clock import beijing_now
from core.db import utcnow
from core.extensions import db as _db
from payments import applying
from payments.models import GatewayRefund, LogisticsType, Payment, PaymentEvent, ShippingUpload
from payments.shipping_info import queue_upload
from shop.orders.fulfilment import expire_overdue_orders
from shop.orders.models import Order, RefundRequest, Shipment
from tests.payments.test_payments_flow import _open, _order, _outcomes

v3 = pytest.mark.parametrize("gateway", ["v3"], indirect=True)
pytestmark = v3


def _order_status(client, shop, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=shop["buyer_header"]).json["status"]


def _paid_order(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"], request_payment=payment["params"])
    gateway.deliver_due()
    assert _order_status(client, shop, order["id"]) == "paid"
    return order, payment


def _ask_refund(client, shop, order, decision_header):
    asked = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "桃子压坏了"},
    ).json
    decided = client.post(
        f"/api/v1/refunds/{asked['id']}/decision", headers=decision_header, json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.json
    return asked


def test_the_notify_endpoint_is_in_the_openapi_document(client, gateway):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/payments/notify/wechat-v3"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("forged", "bad signature"),
        ("unknown_serial", "unknown Wechatpay-Serial"),
        ("stale_timestamp", "Wechatpay-Timestamp more than 5 minutes off"),
        ("tampered_ciphertext", "cannot decrypt resource"),
        ("wrong_amount", "amount mismatch"),
        ("wrong_appid", "appid mismatch"),
    ],
)
def test_a_refused_notification_changes_nothing_and_wechat_retries(client, shop, gateway, kind, reason):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])  # paid at the gateway; its genuine notification is still queued
    delivery = gateway.send_variant(payment["out_trade_no"], kind)
    answer = delivery.attempts[-1]
    assert 400 <= answer.status < 500 and not delivery.acked
    body = json.loads(answer.body)
    assert body["code"] == "FAIL" and body["message"]
    assert _order_status(client, shop, order["id"]) == "pending_payment"
    _db.session.expire_all()
    assert _db.session.get(Payment, payment["id"]).status == "pending"
    event = _db.session.scalars(sa.select(PaymentEvent).order_by(PaymentEvent.id.desc())).first()
    assert event.outcome.startswith("rejected") and reason in event.outcome
    assert event.verified is (kind == "wrong_amount")  # only the wrong amount was genuinely signed and decrypted
    gateway.deliver_due()  # now the genuine one
    (genuine,) = [d for d in gateway.notifier.deliveries if d.kind == "payment"]
    assert genuine.attempts[-1].status == 204 and genuine.attempts[-1].body == ""
    assert _order_status(client, shop, order["id"]) == "paid"


@pytest.mark.parametrize("body", [b"[" * 3000, b'{"resource": ' * 3000, b"\xff\xfe", b"[]", b""])
def test_an_unsigned_body_is_refused_on_its_headers_before_it_is_parsed(client, gateway, caplog, body):
    answer = client.post("/api/v1/payments/notify/wechat-v3", data=body, content_type="application/json")
    assert answer.status_code == 400 and answer.json["code"] == "FAIL"
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
    event = _db.session.scalars(sa.select(PaymentEvent).order_by(PaymentEvent.id.desc())).first()
    assert event.outcome.startswith("rejected") and "Wechatpay-Serial" in event.outcome and not event.verified


def test_acknowledged_only_after_the_commit(client, shop, gateway, monkeypatch):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(applying, "apply_success", broken)
    gateway.deliver_due()
    (delivery,) = gateway.notifier.deliveries
    assert delivery.attempts[-1].status == 500 and not delivery.acked and delivery.next_at is not None
    assert json.loads(delivery.attempts[-1].body)["code"] == "FAIL"
    assert _order_status(client, shop, order["id"]) == "pending_payment"
    monkeypatch.undo()
    gateway.notifier.run_until_settled()  # WeChat's next attempt
    assert delivery.acked and [a.status for a in delivery.attempts] == [500, 204]
    assert _order_status(client, shop, order["id"]) == "paid"
    assert _outcomes(payment["out_trade_no"]) == ["applied"]


def test_money_paid_after_expiry_goes_back_automatically(client, shop, gateway):
    order = _order(client, shop)
    payment = _open(client, shop, order["id"], "wechat_jsapi")
    gateway.pay(payment["out_trade_no"])  # paid, but the notification is late
    assert expire_overdue_orders(utcnow() + timedelta(hours=1)) == 1
    _db.session.commit()  # closing at the gateway finds it paid: applied, then refunded
    refund = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.payment_id == payment["id"]))
    assert refund is not None and refund.reason == "paid_after_expiry" and refund.amount_fen == 6800
    assert refund.status == "processing"  # v3 reports the outcome by notification
    gateway.notifier.run_until_settled()  # the late payment notification and REFUND.SUCCESS
    _db.session.expire_all()
    assert _db.session.get(GatewayRefund, refund.id).status == "success"
    assert _db.session.get(Order, order["id"]).status == "cancelled"
    assert "duplicate" in _outcomes(payment["out_trade_no"])
    refunds_at_gateway = [r for r in gateway.state.wechat_refunds.values() if r.out_trade_no == payment["out_trade_no"]]
    assert [r.refund_fee for r in refunds_at_gateway] == [6800]


def test_refund_success_through_the_v3_notification(client, shop, gateway):
    order, payment = _paid_order(client, shop, gateway)
    asked = _ask_refund(client, shop, order, shop["peach_manager"])
    sent = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == asked["id"]))
    assert sent.status == "processing"
    (call,) = [r for r in gateway.recorded("wechat_pay_v3") if r.path.endswith("/refund/domestic/refunds")]
    assert call.params["notify_url"].endswith("/api/v1/payments/notify/wechat-v3")
    gateway.deliver_due()
    assert client.get(f"/api/v1/refunds/{asked['id']}", headers=shop["buyer_header"]).json["status"] == "refunded"
    assert _order_status(client, shop, order["id"]) == "refunded"
    refund_delivery = [d for d in gateway.notifier.deliveries if d.kind == "refund"][-1]
    assert refund_delivery.acked and refund_delivery.attempts[-1].status == 204
    replay = gateway.notifier.send_once(
        "wechat_v3", "refund", payment["out_trade_no"], refund_delivery.url, refund_delivery.body, "application/json"
    )
    assert replay.acked  # a repeated REFUND.SUCCESS is acknowledged and changes nothing
    _db.session.expire_all()
    assert _db.session.get(GatewayRefund, sent.id).status == "success"


def test_an_abnormal_refund_fails_the_request_with_wechats_reason(client, shop, gateway):
    order, _payment = _paid_order(client, shop, gateway)
    gateway.state.wechat_refund_outcome = "ABNORMAL"
    asked = _ask_refund(client, shop, order, shop["peach_manager"])
    gateway.deliver_due()
    _db.session.expire_all()
    sent = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == asked["id"]))
    assert sent.status == "failed" and sent.failure_reason.startswith("ABNORMAL")
    request = _db.session.get(RefundRequest, asked["id"])
    assert request.status == "failed" and "异常退款" in request.failure_reason
    assert _order_status(client, shop, order["id"]) == "paid"  # the lines are back where they were


def test_a_pickup_parcel_of_a_v3_paid_order_is_uploaded_as_logistics_type_4(client, shop, gateway):
    order, payment = _paid_order(client, shop, gateway)
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    shipped = client.post(f"/api/v1/orders/{order['id']}/shipments", headers=shop["peach_manager"], json=ship)
    assert shipped.status_code == 201
    express = gateway.state.shipping_uploads[-1]
    transaction_id = _db.session.get(Payment, payment["id"]).transaction_id
    assert express["order_key"] == {"order_number_type": 2, "transaction_id": transaction_id}
    assert express["logistics_type"] == 1 and express["shipping_list"][0]["tracking_no"] == "SF1234567890"
    # A parcel collected at the station (the pickup flow will send this): no carrier, no tracking number.
    _db.session.execute(sa.delete(ShippingUpload))
    shipment = _db.session.scalar(sa.select(Shipment).where(Shipment.order_id == order["id"]))
    queue_upload(_db.session.get(Order, order["id"]), shipment, LogisticsType.PICKUP)
    _db.session.commit()
    upload = _db.session.scalar(sa.select(ShippingUpload))
    assert (upload.status, upload.logistics_type, upload.last_error) == ("uploaded", 4, None)
    pickup = gateway.state.shipping_uploads[-1]
    assert pickup["logistics_type"] == 4 and pickup["order_key"]["transaction_id"] == transaction_id
    assert "tracking_no" not in pickup["shipping_list"][0] and pickup["shipping_list"][0]["item_desc"]


def test_order_detail_path_command(app, gateway):
    runner = app.test_cli_runner()
    done = runner.invoke(args=["payments", "order-detail-path"])
    assert done.exit_code == 0, done.output
    assert gateway.state.order_detail_path == "pages/order/detail?out_trade_no=${商品订单号}"
    custom = runner.invoke(args=["payments", "order-detail-path", "--path", "pages/me/order?no=${商品订单号}&from=wx"])
    assert custom.exit_code == 0 and gateway.state.order_detail_path.startswith("pages/me/order")
    refused = runner.invoke(args=["payments", "order-detail-path", "--path", "pages/me/order"])
    assert refused.exit_code == 1 and "${商品订单号}" in refused.output
    assert [r.path for r in gateway.recorded("wechat_api")].count(
        "/wechat-api/wxa/sec/order/update_order_detail_path"
    ) == 2


def test_the_sandbox_refuses_an_invalid_order_detail_path(gateway):
    token = requests.get(
        gateway.base_url + "wechat-api/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": gateway.settings.wechat_appid,
            "secret": gateway.settings.wechat_secret,
        },
        timeout=5,
    ).json()["access_token"]
    url = gateway.base_url + f"wechat-api/wxa/sec/order/update_order_detail_path?access_token={token}"
    assert requests.post(url, json={"path": "/pages/x?id=${商品订单号}"}, timeout=5).json()["errcode"] == 10060035
    assert requests.post(url, json={"path": "pages/x"}, timeout=5).json()["errcode"] == 10060035
    assert requests.post(url + "x", json={"path": "pages/x?id=${商品订单号}"}, timeout=5).json()["errcode"] == 40001


def test_reconciliation_covers_v3_money_and_reports_a_planted_difference(app, client, shop, gateway):
    _order_paid, payment = _paid_order(client, shop, gateway)
    other, _ = _paid_order(client, shop, gateway)
    _ask_refund(client, shop, other, shop["peach_manager"])
    gateway.deliver_due()
    day = beijing_now().date().isoformat()
    clean = app.test_cli_runner().invoke(args=["payments", "reconcile", "--date", day])
    assert clean.exit_code == 0, clean.output
    assert "wechat: bill 2 payments 13600 fen, 1 refunds 6800 fen; 0 differences" in clean.output
    planted = _db.session.get(Payment, payment["id"])
    planted.amount_fen += 1  # our record drifted from what WeChat took
    _db.session.commit()
    drifted = app.test_cli_runner().invoke(args=["payments", "reconcile", "--date", day])
    assert drifted.exit_code == 1
    assert payment["out_trade_no"] in drifted.output and "账单 6800 分，本地 6801 分" in drifted.output
