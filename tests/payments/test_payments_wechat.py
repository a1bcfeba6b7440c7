"""WeChat Pay's provider contract, run on both APIs (v2 and v3) through the real SDKs against the sandbox.

v2 is XML signed with MD5 under the merchant key (wechatpy); v3 is JSON signed
with RSA in public-key mode, notifications encrypted (wechatpayv3). What the
contract leaves to the version (how the cashier parameters are signed, the
order's fields, how a notification is acknowledged, the gateway's refusal
codes) is in ``VERSIONS``; what only one version has (v3's public-key mode and
encrypted events, v2's client certificates and encrypted refund notices)
follows at the end, each test marked with its version.
"""

import base64
import json
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wechatpy.pay import WeChatPay
from wechatpy.pay.base import BaseWeChatPayAPI

from core.clock import BEIJING, beijing_now
from core.errors import ValidationFailed
from core.gateway_settings import GatewaySecretMissing
from payments.providers import PaymentGatewayError, PaymentRejected, RefundNotification, get_provider
from payments.providers.wechat_v2 import REAL_PAY_BASE
from payments.providers.wechat_v3 import WeChatPayV3Provider, pinned_client
from sandbox import credentials as creds
from sandbox import wechat_pay_v3 as sandbox_v3
from sandbox.notifications import wechat_v3_headers, wechat_v3_payment_body
from sandbox.notifier import WECHAT_SCHEDULE, WECHAT_V3_SCHEDULE
from sandbox.signing import parse_xml, to_xml, wechat_sign
from tests.fakes import serve
from tests.payments_fixtures import TIME_FACTOR, payment_request, settings_for


def _merchant_public_key():
    private = serialization.load_pem_private_key(creds.WECHAT_PAY_V3_PRIVATE_KEY.encode(), password=None)
    return private.public_key()


def _v2_pay_sign_checks(params, config) -> None:
    assert params["signType"] == "MD5" and len(params["nonceStr"]) == 32
    signed = {"appId": config["WECHAT_APPID"], **{k: v for k, v in params.items() if k != "paySign"}}
    assert params["paySign"] == wechat_sign(signed, config["WECHAT_PAY_API_KEY"])


def _v3_pay_sign_checks(params, config) -> None:
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=wx")
    message = "".join(
        f"{v}\n" for v in (config["WECHAT_APPID"], params["timeStamp"], params["nonceStr"], params["package"])
    )
    _merchant_public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def _v2_order(sandbox, request, config) -> None:
    (call,) = [r for r in sandbox.recorded("wechat_pay") if r.path.endswith("/pay/unifiedorder")]
    sent = call.params
    assert sent["trade_type"] == "JSAPI" and sent["openid"] == "sbx_buyer_openid"
    assert sent["total_fee"] == "1"
    assert sent["time_expire"] == request.expires_at.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
    assert sent["spbill_create_ip"] == "127.0.0.1"
    assert sent["notify_url"] == config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/wechat"
    assert len(sent["nonce_str"]) == 32 and "sign_type" not in sent  # MD5, the default


def _v3_order(sandbox, request, config) -> None:
    (call,) = sandbox.recorded("wechat_pay_v3")
    assert call.path == "/wechat-pay/v3/pay/transactions/jsapi"
    sent = call.params
    assert sent["amount"] == {"total": 1, "currency": "CNY"} and sent["payer"] == {"openid": "sbx_buyer_openid"}
    assert (sent["appid"], sent["mchid"]) == (config["WECHAT_APPID"], config["WECHAT_PAY_MCH_ID"])
    assert sent["time_expire"] == request.expires_at.astimezone(BEIJING).isoformat(timespec="seconds")
    assert sent["notify_url"] == config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/wechat-v3"
    assert sent["description"] == "炎陵黄桃 5斤装"


def _v2_refusal_body(body: bytes) -> None:
    assert parse_xml(body)["return_code"] == "FAIL"


def _v3_refusal_body(body: bytes) -> None:
    assert json.loads(body)["code"] == "FAIL"


@dataclass(frozen=True)
class Version:
    """What WeChat Pay's contract leaves to the API version."""

    name: str
    pay_sign_checks: object  # (params, config): the cashier parameters are signed as this version signs them
    order_checks: object  # (sandbox, request, config): the order the gateway received carries the request
    notify_gateway: str  # the app's notify endpoint for payments: /api/v1/payments/notify/<this>
    acked: int  # the HTTP status of an acknowledged notification
    refusal_body: object  # (body): a refused notification's answer says FAIL
    schedule: tuple  # seconds between notification retries
    requests_base: str  # every request's URL starts with WECHAT_PAY_BASE_URL + this
    round_trip_requests: int  # create, query, close, refund, refund query and the bill (two steps on v3)
    reentry_code: str  # an open order's number again with another amount
    short_balance_code: str  # a refund the merchant balance cannot cover
    refunded_too_much: str  # in the reason of a refund of more than was paid


VERSIONS = {
    "v2": Version(
        name="v2",
        pay_sign_checks=_v2_pay_sign_checks,
        order_checks=_v2_order,
        notify_gateway="wechat",
        acked=200,
        refusal_body=_v2_refusal_body,
        schedule=WECHAT_SCHEDULE,
        requests_base="",
        round_trip_requests=6,
        reentry_code="INVALID_REQUEST",
        short_balance_code="NOTENOUGH",
        refunded_too_much="ERROR",
    ),
    "v3": Version(
        name="v3",
        pay_sign_checks=_v3_pay_sign_checks,
        order_checks=_v3_order,
        notify_gateway="wechat-v3",
        acked=204,
        refusal_body=_v3_refusal_body,
        schedule=WECHAT_V3_SCHEDULE,
        requests_base="v3/",
        round_trip_requests=7,
        reentry_code="OUT_TRADE_NO_USED",
        short_balance_code="NOT_ENOUGH",
        refunded_too_much="累计退款金额大于支付金额",
    ),
}
only_v2 = pytest.mark.parametrize("version", ["v2"])
only_v3 = pytest.mark.parametrize("version", ["v3"])


@pytest.fixture(params=sorted(VERSIONS))
def version(request) -> str:
    return request.param


@pytest.fixture
def spec(version) -> Version:
    return VERSIONS[version]


@pytest.fixture
def wechat(gateways, version):
    """(provider, settings, receiver) of this version."""
    config, receiver = gateways
    assert config["WECHAT_PAY_VERSION"] == "v3"  # the default, as API.md says
    config["WECHAT_PAY_VERSION"] = version
    return get_provider("wechat_jsapi", config), config, receiver


def _open_and_pay(sandbox, provider, config, out_trade_no="WX1", amount_fen=1230):
    params = provider.create(payment_request(out_trade_no, "wechat_jsapi", config, amount_fen))
    sandbox.pay(out_trade_no, "wechat_jsapi", request_payment=params)
    return params


# The contract, on both versions.


def test_create_returns_exactly_the_request_payment_params_signed_for_the_mini_program(sandbox, wechat, spec):
    provider, config, _ = wechat
    params = provider.create(payment_request("WX_CREATE_1", "wechat_jsapi", config))
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    spec.pay_sign_checks(params, config)
    # The sandbox cashier checks paySign and prepay_id the way the WeChat client does.
    forged = {**params, "paySign": params["paySign"][::-1]}
    with pytest.raises(Exception, match="paySign"):
        sandbox.pay("WX_CREATE_1", "wechat_jsapi", request_payment=forged)
    assert sandbox.pay("WX_CREATE_1", "wechat_jsapi", request_payment=params)["status"] == "paid"


def test_the_order_carries_jsapi_openid_fen_beijing_expiry_and_the_notify_url(sandbox, wechat, spec):
    provider, config, _ = wechat
    request = payment_request("WX_FIELDS_1", "wechat_jsapi", config, amount_fen=1)
    provider.create(request)
    spec.order_checks(sandbox, request, config)


def test_wechat_jsapi_needs_the_payers_openid(wechat):
    provider, config, _ = wechat
    with pytest.raises(ValidationFailed):
        provider.create(payment_request("WX_NO_OPENID", "wechat_jsapi", config, payer_alipay_user_id="x"))


def test_every_request_goes_to_the_configured_base(sandbox, wechat, spec, monkeypatch):
    """Constructing, paying, querying, closing, refunding and the bill: no URL elsewhere, no DNS lookup."""
    _, config, _ = wechat
    sent = []
    original = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        sent.append(url)
        return original(self, method, url, *args, **kwargs)

    def refuse(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"looked up {host}")
        return original_getaddrinfo(host, *args, **kwargs)

    def refuse_any(host):
        raise AssertionError(f"looked up {host}")

    original_getaddrinfo = socket.getaddrinfo
    pinned_client.cache_clear()  # construct for real, under the recording
    monkeypatch.setattr(requests.Session, "request", recording)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse_any)
    provider = get_provider("wechat_jsapi", config)
    assert sent == []  # the constructor downloads nothing (v3: public-key mode)
    _open_and_pay(sandbox, provider, config, "WX_BASE_1")
    provider.query("WX_BASE_1")
    provider.close("WX_BASE_2")
    provider.refund("WX_BASE_1", "RF_BASE_1", 1230, 30, "测试")
    provider.query_refund("WX_BASE_1", "RF_BASE_1")
    assert [row.out_trade_no for row in provider.download_bill(beijing_now().date())] == ["WX_BASE_1"] * 2
    assert len(sent) == spec.round_trip_requests
    assert all(url.startswith(config["WECHAT_PAY_BASE_URL"] + spec.requests_base) for url in sent), sent
    assert not any("certificates" in url for url in sent)


def test_paying_delivers_a_notification_that_verifies_and_is_acknowledged(sandbox, wechat, spec):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "WX_NOTIFY_1")
    sandbox.deliver_due()
    (received,) = receiver.received
    assert (received.gateway, received.status) == (spec.notify_gateway, spec.acked)
    note = received.verdict
    assert note.valid and note.paid
    assert (note.out_trade_no, note.amount_fen) == ("WX_NOTIFY_1", 1230)
    assert note.app_id == config["WECHAT_APPID"] and note.mch_id == config["WECHAT_PAY_MCH_ID"]
    assert note.transaction_id == provider.query("WX_NOTIFY_1").transaction_id
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.acked and len(delivery.attempts) == 1


def test_unacknowledged_notifications_are_retried_on_the_documented_schedule(sandbox, wechat, spec):
    provider, config, receiver = wechat
    receiver.refuse_first = 3
    _open_and_pay(sandbox, provider, config, "WX_RETRY_1")
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.acked and len(delivery.attempts) == 4
    assert [a.status for a in delivery.attempts] == [500, 500, 500, spec.acked]
    gaps = [later.at - earlier.at for earlier, later in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
    # Logical times (the due times deliver_due was called with), so equal up to float rounding.
    assert gaps == pytest.approx([seconds * TIME_FACTOR for seconds in spec.schedule[:3]], abs=1e-5)
    assert [round(gap / TIME_FACTOR) for gap in gaps] == list(spec.schedule[:3]) == [15, 15, 30]
    assert [r.status for r in receiver.received] == [500, 500, 500, spec.acked]


def test_a_notification_never_acknowledged_is_given_up_after_the_whole_schedule(sandbox, wechat, spec):
    provider, config, receiver = wechat
    receiver.refuse_first = 10_000
    _open_and_pay(sandbox, provider, config, "WX_GIVEUP_1")
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.given_up and len(delivery.attempts) == len(spec.schedule) + 1


@pytest.mark.parametrize(
    ("version", "kind", "reason"),
    [
        ("v2", "forged", "bad signature or malformed XML"),
        ("v2", "tampered_amount", "bad signature or malformed XML"),
        ("v2", "wrong_appid", "appid mismatch"),
        ("v3", "forged", "bad signature"),
        ("v3", "unknown_serial", "unknown Wechatpay-Serial"),
        ("v3", "stale_timestamp", "Wechatpay-Timestamp more than 5 minutes off"),
        ("v3", "tampered_ciphertext", "cannot decrypt resource"),
        ("v3", "wrong_appid", "appid mismatch"),
    ],
)
def test_forged_tampered_and_foreign_notifications_are_refused_and_not_acknowledged(
    sandbox, wechat, spec, kind, reason
):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, f"WX_{kind}"[:32])
    delivery = sandbox.send_variant(f"WX_{kind}"[:32], kind)
    (note,) = receiver.verdicts
    assert not note.valid and note.reason == reason
    assert delivery.attempts[-1].status == 400 and not delivery.acked
    spec.refusal_body(delivery.attempts[-1].body)


def test_a_wrong_amount_is_validly_signed_so_the_app_must_compare_it(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "WX_AMOUNT_1")
    sandbox.send_variant("WX_AMOUNT_1", "wrong_amount")
    (note,) = receiver.verdicts
    assert note.valid and note.amount_fen == 1231


def test_a_duplicate_notification_is_the_same_valid_message(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "WX_DUP_1")
    sandbox.deliver_due()
    sandbox.send_variant("WX_DUP_1", "duplicate")
    first, second = receiver.received
    assert first.body == second.body and second.verdict.valid


def test_query_reports_pending_paid_and_not_found(sandbox, wechat):
    provider, config, _ = wechat
    provider.create(payment_request("WX_QUERY_1", "wechat_jsapi", config))
    assert provider.query("WX_QUERY_1").status == "pending"
    sandbox.pay("WX_QUERY_1", "wechat_jsapi")
    trade = provider.query("WX_QUERY_1")
    assert (trade.status, trade.amount_fen) == ("paid", 1230) and trade.transaction_id.startswith("42000")
    assert trade.paid_at is not None and trade.paid_at.utcoffset().total_seconds() == 8 * 3600
    assert provider.query("WX_NOBODY").status == "not_found"


def test_close_pending_twice_paid_and_unknown(sandbox, wechat):
    provider, config, _ = wechat
    provider.create(payment_request("WX_CLOSE_1", "wechat_jsapi", config))
    assert provider.close("WX_CLOSE_1") == "closed"
    assert provider.close("WX_CLOSE_1") == "closed"
    assert provider.query("WX_CLOSE_1").status == "closed"
    _open_and_pay(sandbox, provider, config, "WX_CLOSE_2")
    assert provider.close("WX_CLOSE_2") == "already_paid"
    assert provider.close("WX_CLOSE_3") == "not_found"


def test_reentering_an_order_needs_the_same_parameters(sandbox, wechat, spec):
    provider, config, _ = wechat
    first = provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config))
    again = provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config))
    assert again["package"] == first["package"]
    with pytest.raises(PaymentRejected) as refused:
        provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config, amount_fen=1))
    assert refused.value.gateway_code == spec.reentry_code


def test_refund_is_idempotent_and_checked_by_query(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_1")
    accepted = provider.refund("WX_REFUND_1", "RF_1", 1230, 230, "少发一斤")
    assert (accepted.status, accepted.amount_fen) == ("processing", 230) and accepted.refund_id
    repeated = provider.refund("WX_REFUND_1", "RF_1", 1230, 230, "少发一斤")
    assert repeated.refund_id == accepted.refund_id
    assert sandbox.state.wechat_trades["WX_REFUND_1"].refunded_fee == 230
    settled = provider.query_refund("WX_REFUND_1", "RF_1")
    assert (settled.status, settled.amount_fen, settled.refund_id) == ("success", 230, accepted.refund_id)
    assert provider.query("WX_REFUND_1").status == "refunded"
    assert provider.query_refund("WX_REFUND_1", "RF_NONE").status == "not_found"


def test_refund_with_a_changed_amount_under_the_same_number_is_refused(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_3")
    provider.refund("WX_REFUND_3", "RF_3", 1230, 100, "测试")
    changed = provider.refund("WX_REFUND_3", "RF_3", 1230, 200, "测试")
    assert changed.status == "failed" and changed.reason.startswith("INVALID_REQUEST")


def test_a_refund_of_more_than_was_paid_is_refused(sandbox, wechat, spec):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_2")
    provider.refund("WX_REFUND_2", "RF_2A", 1230, 230, "测试")
    too_much = provider.refund("WX_REFUND_2", "RF_2B", 1230, 1001, "测试")
    assert too_much.status == "failed" and spec.refunded_too_much in too_much.reason


def test_refund_fails_when_the_merchant_balance_is_short(sandbox, wechat, spec):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_4")
    sandbox.state.wechat_balance_fen = 50
    result = provider.refund("WX_REFUND_4", "RF_4", 1230, 100, "测试")
    assert result.status == "failed" and result.reason.startswith(spec.short_balance_code)


def test_daily_bill_lists_payments_and_refunds(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_BILL_1", amount_fen=1230)
    _open_and_pay(sandbox, provider, config, "WX_BILL_2", amount_fen=5)
    provider.refund("WX_BILL_1", "RF_BILL_1", 1230, 230, "测试")
    rows = provider.download_bill(beijing_now().date())
    assert sorted((r.out_trade_no, r.status, r.amount_fen, r.refund_fen) for r in rows) == [
        ("WX_BILL_1", "paid", 1230, 0),
        ("WX_BILL_1", "refunded", 0, 230),
        ("WX_BILL_2", "paid", 5, 0),
    ]
    refund_row = next(r for r in rows if r.status == "refunded")
    assert refund_row.out_refund_no == "RF_BILL_1" and refund_row.at.tzinfo is not None
    assert {r.out_refund_no for r in rows if r.status == "paid"} == {None}


def test_a_day_without_business_has_an_empty_bill(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_BILL_3")
    assert provider.download_bill(beijing_now().date() - timedelta(days=40)) == []
    assert provider.download_bill(beijing_now().date().replace(year=2020)) == []


# API v2 only.


@only_v2
def test_no_endpoint_of_the_v2_client_keeps_the_real_host(wechat):
    provider, config, _ = wechat
    client = provider.client
    assert config["WECHAT_PAY_BASE_URL"] == client.API_BASE_URL
    assert WeChatPay.API_BASE_URL == REAL_PAY_BASE  # the class attribute is untouched
    for name in dir(client):
        endpoint = getattr(client, name)
        if isinstance(endpoint, BaseWeChatPayAPI):
            assert endpoint._client is client
            assert not getattr(endpoint, "API_BASE_URL", "").startswith(REAL_PAY_BASE), name


@only_v2
def test_v2_paying_an_order_again_is_refused(sandbox, wechat):
    provider, config, _ = wechat
    provider.create(payment_request("WX_PAID_1", "wechat_jsapi", config))
    sandbox.pay("WX_PAID_1", "wechat_jsapi")
    with pytest.raises(PaymentRejected) as paid:
        provider.create(payment_request("WX_PAID_1", "wechat_jsapi", config))
    assert paid.value.gateway_code == "ORDERPAID"


@only_v2
@pytest.mark.parametrize(
    ("out_trade_no", "total", "refund", "code"),
    [
        ("WX_REFUND_2", 1230, 1231, "ERROR"),  # more than was paid
        ("WX_REFUND_2", 999, 10, "INVALID_REQUEST"),  # wrong order total
        ("WX_NOBODY", 1230, 10, "ORDERNOTEXIST"),
    ],
)
def test_v2_refund_refusals(sandbox, wechat, out_trade_no, total, refund, code):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_2")
    result = provider.refund(out_trade_no, "RF_2", total, refund, "测试")
    assert result.status == "failed" and result.reason.startswith(code)


@only_v2
def test_v2_parse_notification_never_raises_on_garbage(wechat):
    provider, _, _ = wechat
    for body in (
        b"",
        b"not xml",
        b"<xml><return_code>SUCCESS</return_code></xml>",
        b"<xml><a><b>1</b></a></xml>",
    ):
        assert not provider.parse_notification(body, "text/xml", None).valid


@only_v2
def test_v2_refund_notification_is_encrypted_and_decrypts_with_the_merchant_key(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_5")
    sandbox.deliver_due()
    refund_url = config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/wechat-refund"
    provider.refund("WX_REFUND_5", "RF_5", 1230, 1230, "整单退款", notify_url=refund_url)
    sandbox.deliver_due()
    verdict = receiver.received[-1].verdict
    assert verdict.valid and verdict.status == "success"
    assert (verdict.out_trade_no, verdict.out_refund_no, verdict.amount_fen) == ("WX_REFUND_5", "RF_5", 1230)
    assert b"RF_5" not in receiver.received[-1].body  # the details travel only inside req_info


@only_v2
def test_v2_a_refund_notification_for_another_merchant_or_key_is_invalid(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_6")
    provider.refund("WX_REFUND_6", "RF_6", 1230, 10, "测试", notify_url="http://127.0.0.1:9/refund")
    body = sandbox.notifier.deliveries[-1].body
    other_key = get_provider("wechat_jsapi", {**config, "WECHAT_PAY_API_KEY": "k" * 32})
    assert not other_key.parse_refund_notification(body).valid
    other_mch = get_provider("wechat_jsapi", {**config, "WECHAT_PAY_MCH_ID": "1230000109"})
    assert other_mch.parse_refund_notification(body).reason == "mch_id mismatch"
    assert not provider.parse_refund_notification(b"garbage").valid


@only_v2
def test_v2_a_wrong_api_key_is_refused_by_the_gateway(sandbox, wechat):
    _, config, _ = wechat
    provider = get_provider("wechat_jsapi", {**config, "WECHAT_PAY_API_KEY": "x" * 32})
    with pytest.raises(PaymentGatewayError):
        provider.query("WX_ANY")
    assert sandbox.recorded("wechat_pay")  # it reached the sandbox, which answered 签名错误


def test_v2_a_reply_with_a_bad_signature_is_not_believed():
    from flask import Flask

    fake = Flask("bad_signer")

    @fake.post("/pay/orderquery")
    def order_query():
        params = parse_xml(b"<xml><return_code>SUCCESS</return_code></xml>")
        params |= {"result_code": "SUCCESS", "trade_state": "SUCCESS", "total_fee": "1", "out_trade_no": "X"}
        params["sign"] = wechat_sign(params, "not-the-merchant-key")
        return to_xml(params), 200, {"Content-Type": "text/xml"}

    with serve(fake) as base:
        provider = get_provider(
            "wechat_jsapi", settings_for("http://127.0.0.1:9/", wechat_pay_version="v2") | {"WECHAT_PAY_BASE_URL": base}
        )
        with pytest.raises(PaymentGatewayError):
            provider.query("X")


@only_v2
def test_v2_client_certificate_paths_are_passed_to_wechatpy(wechat):
    _, config, _ = wechat
    provider = get_provider(
        "wechat_jsapi",
        {**config, "WECHAT_PAY_CERT_PATH": "/etc/cert.pem", "WECHAT_PAY_KEY_PATH": "/etc/key.pem"},
    )
    assert (provider.client.mch_cert, provider.client.mch_key) == ("/etc/cert.pem", "/etc/key.pem")


# API v3 only.


@only_v3
def test_the_provider_is_v3_in_public_key_mode(wechat):
    provider, config, _ = wechat
    assert isinstance(provider, WeChatPayV3Provider)
    core = provider.client._core
    assert core._public_key_id == creds.WECHAT_PAY_V3_PUBLIC_KEY_ID and core._certificates == []
    assert core._gate_way == config["WECHAT_PAY_BASE_URL"].rstrip("/")


@only_v3
def test_v3_without_the_public_key_it_refuses_instead_of_downloading_certificates(wechat, monkeypatch):
    _, config, _ = wechat
    sent = []
    monkeypatch.setattr(requests.Session, "request", lambda self, method, url, *a, **k: sent.append(url))
    with pytest.raises(GatewaySecretMissing, match="WECHAT_PAY_V3_PUBLIC_KEY"):
        get_provider("wechat_jsapi", config | {"WECHAT_PAY_V3_PUBLIC_KEY": "", "WECHAT_PAY_V3_PUBLIC_KEY_ID": ""})
    assert sent == []


@only_v3
@pytest.mark.parametrize("name", ["WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PRIVATE_KEY", "WECHAT_PAY_V3_SERIAL_NO"])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_v3_secret_is_refused_at_the_point_of_use(wechat, name, value):
    _, config, _ = wechat
    with pytest.raises(GatewaySecretMissing, match=name):
        get_provider("wechat_jsapi", config | {name: value})


@only_v3
def test_v3_an_answer_signed_under_an_unknown_serial_is_not_believed_and_fetches_no_certificates(wechat):
    """A v3 'gateway' whose answers carry another serial: the SDK would go and download certificates."""
    from flask import Flask, jsonify

    fake = Flask("fake_v3")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    paths = []

    @fake.route("/<path:path>", methods=["GET", "POST"])
    def anything(path):
        paths.append(path)
        body = json.dumps({"prepay_id": "wx_fake"})
        stamp, nonce = str(int(time.time())), "n" * 16
        signature = other_key.sign(f"{stamp}\n{nonce}\n{body}\n".encode(), padding.PKCS1v15(), hashes.SHA256())
        response = jsonify(prepay_id="wx_fake")
        response.set_data(body)
        response.headers.update(
            {
                "Wechatpay-Timestamp": stamp,
                "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": base64.b64encode(signature).decode(),
                "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000000009",
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            }
        )
        return response

    _, config, _ = wechat
    with serve(fake) as base:
        provider = get_provider("wechat_jsapi", config | {"WECHAT_PAY_BASE_URL": base})
        with pytest.raises(PaymentGatewayError):
            provider.create(payment_request("V3_FAKE", "wechat_jsapi", config))
    assert paths == ["v3/pay/transactions/jsapi"]


@only_v3
def test_v3_a_wrong_merchant_key_is_refused_by_the_gateway(sandbox, wechat):
    _, config, _ = wechat
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    provider = get_provider("wechat_jsapi", config | {"WECHAT_PAY_V3_PRIVATE_KEY": pem})
    with pytest.raises(PaymentRejected) as refused:
        provider.create(payment_request("V3_BAD_KEY", "wechat_jsapi", config))
    assert refused.value.gateway_code == "SIGN_ERROR"


@only_v3
def test_v3_the_payment_notification_is_encrypted(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "V3_NOTIFY")
    sandbox.deliver_due()
    (received,) = receiver.received
    assert received.gateway == "wechat-v3" and received.verdict.valid
    envelope = json.loads(received.body)
    assert envelope["event_type"] == "TRANSACTION.SUCCESS" and envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert "V3_NOTIFY" not in received.body.decode()  # only the ciphertext carries it


@only_v3
def test_v3_every_retry_of_a_notification_is_signed_afresh(sandbox, wechat, monkeypatch):
    provider, config, receiver = wechat
    receiver.refuse_first = 3
    _open_and_pay(sandbox, provider, config, "V3_RETRY")
    stamps = []
    signer = sandbox.notifier.signers["wechat_v3"]
    monkeypatch.setitem(sandbox.notifier.signers, "wechat_v3", lambda body: stamps.append(signer(body)) or stamps[-1])
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert [a.status for a in delivery.attempts] == [500, 500, 500, 204] and delivery.acked
    assert len({s["Wechatpay-Nonce"] for s in stamps}) == 4  # every sending is signed anew


@only_v3
def test_v3_parse_event_never_raises_on_garbage(wechat):
    provider, _, _ = wechat
    good = {"Wechatpay-Serial": creds.WECHAT_PAY_V3_PUBLIC_KEY_ID, "Wechatpay-Timestamp": str(int(time.time()))}
    for headers, body in [
        ({}, b""),
        (good, b"\xff\xfe"),
        (good | {"Wechatpay-Signature": "!!"}, b"{}"),
        (good | {"Wechatpay-Timestamp": "soon"}, b"{}"),
        (good | {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, b"{}"),
    ]:
        assert not provider.parse_event(headers, body).valid


@only_v3
def test_v3_a_notification_signed_right_but_encrypted_with_another_apiv3_key_is_refused(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "V3_OTHER_KEY")
    trade = sandbox.state.wechat_trades["V3_OTHER_KEY"]
    other = type(sandbox.settings)(**{**sandbox.settings.__dict__, "apiv3_key": "x" * 32})
    body = wechat_v3_payment_body(other, trade)
    note = provider.parse_event(wechat_v3_headers(sandbox.settings, body), body)
    assert not note.valid and note.reason == "cannot decrypt resource"


@only_v3
@pytest.mark.parametrize(("outcome", "status"), [("SUCCESS", "success"), ("ABNORMAL", "failed"), ("CLOSED", "failed")])
def test_v3_refund_notifications_decrypt_to_their_outcome(sandbox, wechat, outcome, status):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "V3_RN")
    sandbox.state.wechat_refund_outcome = outcome
    notify = config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/wechat-v3"
    provider.refund("V3_RN", "RF_V3_RN", 1230, 1230, "退款", notify_url=notify)
    sandbox.notifier.run_until_settled()
    note = receiver.verdicts[-1]
    assert isinstance(note, RefundNotification) and note.valid
    assert (note.out_refund_no, note.amount_fen, note.status) == ("RF_V3_RN", 1230, status)
    assert json.loads(receiver.received[-1].body)["event_type"] == f"REFUND.{outcome}"
    assert provider.query_refund("V3_RN", "RF_V3_RN").status == status
    if outcome == "ABNORMAL":
        assert "异常退款" in note.reason


@only_v3
def test_v3_the_bill_is_checked_against_its_hash(sandbox, wechat, monkeypatch):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "V3_BILL")
    provider.refund("V3_BILL", "RF_V3_BILL", 1230, 200, "坏果")
    rows = provider.download_bill(beijing_now().date())
    assert [(r.status, r.amount_fen, r.refund_fen, r.out_refund_no) for r in rows] == [
        ("paid", 1230, 0, None),
        ("refunded", 0, 200, "RF_V3_BILL"),
    ]
    real = sandbox_v3.wechat_bill_text
    calls = []

    def changed_in_transit(box, day, bill_type="ALL"):
        calls.append(day)
        text = real(box, day, bill_type)
        return text if len(calls) == 1 else text.replace("12.30", "12.31")

    monkeypatch.setattr(sandbox_v3, "wechat_bill_text", changed_in_transit)
    with pytest.raises(PaymentGatewayError) as refused:
        provider.download_bill(beijing_now().date())
    assert refused.value.details == {"gateway_code": "bill hash mismatch"}


@only_v3
def test_v3_the_cashier_page_pays_a_v3_trade(sandbox, wechat):
    provider, config, receiver = wechat
    provider.create(payment_request("V3_CASHIER", "wechat_jsapi", config))
    page = requests.get(sandbox.base_url + "cashier/V3_CASHIER", timeout=5)
    assert page.status_code == 200 and "API v3" in page.text and "¥12.30" in page.text
    paid = requests.post(sandbox.base_url + "cashier/V3_CASHIER/pay", data={"channel": "wechat_jsapi"}, timeout=5)
    assert "支付成功" in paid.text
    sandbox.deliver_due()
    assert receiver.verdicts[-1].valid and receiver.received[-1].status == 204


def test_v3_the_refund_outcome_hook(sandbox):
    url = sandbox.base_url + "sandbox/wechat-refund-outcome"
    assert requests.post(url, json={"outcome": "ABNORMAL"}, timeout=5).json() == {"outcome": "ABNORMAL"}
    assert sandbox.state.wechat_refund_outcome == "ABNORMAL"
    assert requests.post(url, json={"outcome": "LOST"}, timeout=5).status_code == 400
    assert sandbox.state.wechat_refund_outcome == "ABNORMAL"
