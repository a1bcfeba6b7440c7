"""Only a fully configured gateway has notification endpoints, and only its real key changes anything.

Every notification endpoint × every configuration (WeChat Pay v2 only, v3 only,
both, Alipay off, the sandbox) receives a notification signed with an empty key,
a wrong key and the right key. Under a gateway that is not configured the
endpoint answers 404 and writes nothing, not even to the event log; under a
configured one only the right key moves money.
"""

import dataclasses
import hashlib
import secrets
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa

from core.db import utcnow
from core.extensions import db
from core.gateway_settings import GatewaySecretMissing
from payments.ledger.models import LedgerEntry
from payments.models import GatewayRefund, GatewayRefundStatus, Payment, PaymentEvent, PaymentStatus
from payments.opening import new_out_trade_no
from payments.providers import get_alipay, get_wechat_pay
from sandbox import notifications as gateway
from sandbox.settings import SandboxSettings
from sandbox.state import AlipayTrade, WeChatRefund, WeChatTrade
from shop.orders.models import Order, OrderStatus
from tests.orders import pay, place

V2_ONLY_BLANK = ("WECHAT_PAY_V3_PRIVATE_KEY", "WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PUBLIC_KEY")
ALIPAY_BLANK = ("ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")
# Which gateways each configuration makes active (the test app starts from the sandbox's full set).
CONFIGURATIONS = {
    "v3_only": ({"WECHAT_PAY_VERSION": "v3", "WECHAT_PAY_API_KEY": ""}, {"wechat_v3", "alipay"}),
    "v2_only": ({"WECHAT_PAY_VERSION": "v2", **dict.fromkeys(V2_ONLY_BLANK, "")}, {"wechat_v2", "alipay"}),
    "both": ({"WECHAT_PAY_VERSION": "v3"}, {"wechat_v3", "wechat_v2", "alipay"}),
    "alipay_off": (
        {"WECHAT_PAY_VERSION": "v3", "WECHAT_PAY_API_KEY": "", **dict.fromkeys(ALIPAY_BLANK, "")},
        {"wechat_v3"},
    ),
    "sandbox": ({}, {"wechat_v3", "wechat_v2", "alipay"}),
}
KEYS = ("empty", "wrong", "right")
ENDPOINTS = {
    "wechat_v2": "/api/v1/payments/notify/wechat",
    "wechat_v2_refund": "/api/v1/payments/notify/wechat-refund",
    "wechat_v3": "/api/v1/payments/notify/wechat-v3",
    "wechat_v3_refund": "/api/v1/payments/notify/wechat-v3",
    "alipay": "/api/v1/payments/notify/alipay",
}


@pytest.fixture
def configured(app, monkeypatch):
    """Apply one configuration to the running app (PAYMENT_SANDBOX off outside the sandbox case)."""

    def apply(name: str) -> set[str]:
        overrides, active = CONFIGURATIONS[name]
        if name != "sandbox":
            monkeypatch.setitem(app.config, "PAYMENT_SANDBOX", False)
        for setting, value in overrides.items():
            monkeypatch.setitem(app.config, setting, value)
        return active

    return apply


def _settings(app) -> SandboxSettings:
    """The gateways' side of the sandbox credentials (the test app is configured with their merchant side)."""
    return SandboxSettings.from_config({})


def _pending_payment(client, shop, channel: str) -> Payment:
    order_id = place(client, shop, [(shop["peach_5"], 1)]).get_json()["id"]
    order = db.session.get(Order, order_id)
    payment = Payment(
        order_id=order.id,
        buyer_id=order.buyer_id,
        channel=channel,
        out_trade_no=new_out_trade_no(order.id),
        amount_fen=order.total_fen,
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def _processing_refund(client, shop) -> GatewayRefund:
    payment = _pending_payment(client, shop, "wechat_jsapi")
    db.session.delete(payment)
    db.session.commit()
    pay(payment.order_id)
    paid = db.session.scalar(sa.select(Payment).where(Payment.order_id == payment.order_id))
    refund = GatewayRefund(
        payment_id=paid.id,
        out_refund_no=f"RF{secrets.token_hex(8)}",
        amount_fen=paid.amount_fen,
        reason="测试退款",
        status=GatewayRefundStatus.PROCESSING,
    )
    db.session.add(refund)
    db.session.commit()
    return refund


def _no_key_md5(fields: dict) -> str:
    """The forged v2 signature of the report: MD5 of the sorted k=v&… string with no key at all."""
    pairs = [f"{name}={fields[name]}" for name in sorted(fields) if name != "sign" and fields[name] not in (None, "")]
    return hashlib.md5("&".join(pairs).encode("utf-8")).hexdigest().upper()  # noqa: S324 - the protocol's MD5


def _xml(fields: dict) -> bytes:
    parts = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in fields.items())
    return f"<xml>{parts}</xml>".encode()


def _wechat_trade(payment: Payment, api_version: str) -> WeChatTrade:
    return WeChatTrade(
        out_trade_no=payment.out_trade_no,
        prepay_id="wx" + secrets.token_hex(8),
        total_fee=payment.amount_fen,
        body="炎陵黄桃",
        openid="openid-buyer",
        notify_url="",
        trade_type="JSAPI",
        time_expire=None,
        created_at=utcnow(),
        state="SUCCESS",
        transaction_id="4200" + secrets.token_hex(10),
        api_version=api_version,
    )


def _wechat_refund(refund: GatewayRefund, api_version: str) -> WeChatRefund:
    return WeChatRefund(
        out_refund_no=refund.out_refund_no,
        out_trade_no=refund.payment.out_trade_no,
        transaction_id=refund.payment.transaction_id or "4200" + secrets.token_hex(10),
        refund_id="5030" + secrets.token_hex(10),
        total_fee=refund.payment.amount_fen,
        refund_fee=refund.amount_fen,
        status="SUCCESS",
        created_at=utcnow(),
        api_version=api_version,
    )


def _another_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _v3_settings(settings: SandboxSettings, key: str) -> SandboxSettings:
    if key == "right":
        return settings
    if key == "wrong":
        return dataclasses.replace(
            settings, apiv3_key=secrets.token_hex(16), v3_platform_private_key=_another_rsa_key()
        )
    return dataclasses.replace(settings, apiv3_key="\0" * 32)


def _v3_request(settings: SandboxSettings, key: str, body: bytes) -> dict:
    headers = gateway.wechat_v3_headers(_v3_settings(settings, key), body)
    if key == "empty":
        headers["Wechatpay-Signature"] = ""
    return {"data": body, "headers": headers, "content_type": "application/json"}


def notification(endpoint: str, key: str, settings: SandboxSettings, target) -> dict:
    """The request a gateway (or a forger without the key) sends to ``endpoint`` about ``target``."""
    if endpoint == "wechat_v2":
        fields = gateway.wechat_payment_fields(settings, _wechat_trade(target, "v2"))
        fields["sign"] = {
            "empty": _no_key_md5(fields),
            "wrong": gateway.wechat_sign(fields, secrets.token_hex(16)),
            "right": gateway.wechat_sign(fields, settings.mch_key),
        }[key]
        return {"data": _xml(fields), "content_type": "text/xml"}
    if endpoint == "wechat_v2_refund":
        mch_key = {"empty": "", "wrong": secrets.token_hex(16), "right": settings.mch_key}[key]
        body = gateway.wechat_refund_body(dataclasses.replace(settings, mch_key=mch_key), _wechat_refund(target, "v2"))
        return {"data": body, "content_type": "text/xml"}
    if endpoint == "wechat_v3":
        body = gateway.wechat_v3_payment_body(_v3_settings(settings, key), _wechat_trade(target, "v3"))
        return _v3_request(settings, key, body)
    if endpoint == "wechat_v3_refund":
        body = gateway.wechat_v3_refund_body(_v3_settings(settings, key), _wechat_refund(target, "v3"))
        return _v3_request(settings, key, body)
    trade = AlipayTrade(
        out_trade_no=target.out_trade_no,
        trade_no="2026" + secrets.token_hex(10),
        total_fen=target.amount_fen,
        subject="炎陵黄桃",
        channel="alipay_wap",
        notify_url=None,
        time_expire=None,
        created_at=utcnow(),
        buyer_id="2088" + "1" * 12,
        status="TRADE_SUCCESS",
        paid_at=utcnow(),
    )
    signer = {"empty": settings, "wrong": dataclasses.replace(settings, alipay_private_key=_another_rsa_key())}
    body = gateway.alipay_payment_body(signer.get(key, settings), trade)
    if key == "empty":
        body = urlencode([(k, "" if k == "sign" else v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)])
        body = body.encode()
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


def _gateway_of(endpoint: str) -> str:
    return endpoint.removesuffix("_refund")


def _changed(endpoint: str, target) -> bool:
    db.session.expire_all()
    if endpoint.endswith("_refund"):
        return db.session.get(GatewayRefund, target.id).status == GatewayRefundStatus.SUCCESS
    payment = db.session.get(Payment, target.id)
    order = db.session.get(Order, target.order_id)
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry))
    paid = payment.status == PaymentStatus.PAID
    assert paid == (order.status == OrderStatus.PAID) == (entries > 0)
    return paid


def _events() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent))


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("configuration", list(CONFIGURATIONS))
def test_only_the_right_key_under_a_configured_gateway_changes_anything(
    app, client, shop, configured, configuration, endpoint, key
):
    channel = "alipay_wap" if endpoint == "alipay" else "wechat_jsapi"
    target = (
        _processing_refund(client, shop) if endpoint.endswith("_refund") else _pending_payment(client, shop, channel)
    )
    active = configured(configuration)
    events_before = _events()

    reply = client.post(ENDPOINTS[endpoint], **notification(endpoint, key, _settings(app), target))

    if _gateway_of(endpoint) not in active:
        assert reply.status_code == 404, reply.data
        assert reply.get_json()["error"]["code"] == "not_found"
        assert _events() == events_before  # not even the event log
        assert not _changed(endpoint, target)
    elif key == "right":
        assert reply.status_code in (200, 204), reply.data
        assert _changed(endpoint, target)
    else:
        assert reply.status_code in (400, 401), reply.data
        assert not _changed(endpoint, target)


def test_the_reported_forgery_leaves_the_order_unpaid(app, client, shop, configured):
    """The report, step by step: v3 merchant, no v2 key, a v2 notification signed with no key."""
    configured("v3_only")
    payment = _pending_payment(client, shop, "wechat_jsapi")
    fields = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_PAY_MCH_ID"],
        "out_trade_no": payment.out_trade_no,
        "total_fee": payment.amount_fen,
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "transaction_id": "4200000000000000000000000001",
        "nonce_str": secrets.token_hex(16),
    }
    fields["sign"] = _no_key_md5(fields)

    reply = client.post("/api/v1/payments/notify/wechat", data=_xml(fields), content_type="text/xml")

    assert reply.status_code == 404
    order = client.get(f"/api/v1/orders/{payment.order_id}", headers=shop["buyer_header"]).get_json()
    assert order["status"] == "pending_payment"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 0
    assert _events() == 0


def test_opening_a_payment_on_an_unconfigured_channel_is_refused(client, shop, configured):
    configured("alipay_off")
    order_id = place(client, shop, [(shop["peach_5"], 1)]).get_json()["id"]
    reply = client.post(
        f"/api/v1/orders/{order_id}/payments", headers=shop["buyer_header"], json={"channel": "alipay_wap"}
    )
    assert reply.status_code == 422
    assert "channel" in reply.get_json()["error"]["details"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


@pytest.mark.parametrize(
    ("channel", "name", "value"),
    [
        ("wechat_v2", "WECHAT_PAY_API_KEY", ""),
        ("wechat_v2", "WECHAT_PAY_API_KEY", " " * 32),
        ("wechat_v2", "WECHAT_PAY_API_KEY", "k" * 31),
        ("wechat_v2", "WECHAT_APPID", ""),
        ("alipay", "ALIPAY_PUBLIC_KEY", ""),
        ("alipay", "ALIPAY_PUBLIC_KEY", "\n"),
        ("alipay", "ALIPAY_APP_PRIVATE_KEY", ""),
    ],
)
def test_a_signer_or_verifier_refuses_an_empty_or_short_key_at_the_point_of_use(app, channel, name, value):
    """The second line of defence: a provider is never built on a blank secret, whatever the start checked."""
    config = {**app.config, name: value}
    with pytest.raises(GatewaySecretMissing, match=name):
        if channel == "wechat_v2":
            get_wechat_pay(config, version="v2")
        else:
            get_alipay(config)
