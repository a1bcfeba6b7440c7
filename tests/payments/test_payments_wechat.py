"""WeChat Pay v2 through real wechatpy against the loopback sandbox, from creating to the daily bill."""

import socket

import pytest
import requests
from wechatpy.pay import WeChatPay
from wechatpy.pay.base import BaseWeChatPayAPI

from core.clock import BEIJING, beijing_now
from core.errors import ValidationFailed
from payments.providers import PaymentGatewayError, PaymentRejected, get_provider
from payments.providers.wechat_v2 import REAL_PAY_BASE
from sandbox.notifier import WECHAT_SCHEDULE
from sandbox.signing import parse_xml, to_xml, wechat_sign
from tests.fakes import serve
from tests.payments_fixtures import TIME_FACTOR, payment_request, settings_for


@pytest.fixture
def wechat(gateways):
    config, receiver = gateways
    config["WECHAT_PAY_VERSION"] = "v2"  # this module is API v2's; v3 has test_payments_wechat_v3.py
    return get_provider("wechat_jsapi", config), config, receiver


def _open_and_pay(sandbox, provider, config, out_trade_no="WX1", amount_fen=1230):
    params = provider.create(payment_request(out_trade_no, "wechat_jsapi", config, amount_fen))
    sandbox.pay(out_trade_no, "wechat_jsapi", request_payment=params)
    return params


def test_create_returns_exactly_the_request_payment_params_signed_for_the_mini_program(sandbox, wechat):
    provider, config, _ = wechat
    params = provider.create(payment_request("WX_CREATE_1", "wechat_jsapi", config))
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["signType"] == "MD5" and len(params["nonceStr"]) == 32
    signed = {"appId": config["WECHAT_APPID"], **{k: v for k, v in params.items() if k != "paySign"}}
    assert params["paySign"] == wechat_sign(signed, config["WECHAT_PAY_API_KEY"])
    # The sandbox cashier checks paySign and prepay_id the way the WeChat client does.
    assert sandbox.pay("WX_CREATE_1", "wechat_jsapi", request_payment=params)["status"] == "paid"


def test_unified_order_carries_jsapi_openid_fen_beijing_expiry_and_client_ip(sandbox, wechat):
    provider, config, _ = wechat
    request = payment_request("WX_FIELDS_1", "wechat_jsapi", config, amount_fen=1)
    provider.create(request)
    (call,) = [r for r in sandbox.recorded("wechat_pay") if r.path.endswith("/pay/unifiedorder")]
    sent = call.params
    assert sent["trade_type"] == "JSAPI" and sent["openid"] == "sbx_buyer_openid"
    assert sent["total_fee"] == "1"
    assert sent["time_expire"] == request.expires_at.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
    assert sent["spbill_create_ip"] == "127.0.0.1"
    assert sent["notify_url"] == config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/wechat"
    assert len(sent["nonce_str"]) == 32 and "sign_type" not in sent  # MD5, the default


def test_wechat_jsapi_needs_the_payers_openid(wechat):
    provider, config, _ = wechat
    with pytest.raises(ValidationFailed):
        provider.create(payment_request("WX_NO_OPENID", "wechat_jsapi", config, payer_alipay_user_id="x"))


def test_no_dns_lookup_of_the_real_gateway(wechat, monkeypatch):
    provider, config, _ = wechat

    def refuse(host):
        raise AssertionError(f"looked up {host}")

    monkeypatch.setattr(socket, "gethostbyname", refuse)
    provider.create(payment_request("WX_NO_DNS", "wechat_jsapi", config))


def test_every_request_goes_to_the_configured_base(sandbox, wechat, monkeypatch):
    provider, config, _ = wechat
    sent = []
    original = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        sent.append(url)
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    _open_and_pay(sandbox, provider, config, "WX_BASE_1")
    provider.query("WX_BASE_1")
    provider.close("WX_BASE_2")
    provider.refund("WX_BASE_1", "RF_BASE_1", 1230, 30, "测试")
    provider.query_refund("WX_BASE_1", "RF_BASE_1")
    provider.download_bill(beijing_now().date())
    assert len(sent) == 6
    assert all(url.startswith(config["WECHAT_PAY_BASE_URL"]) for url in sent), sent
    # And no endpoint of the client keeps the real host as its base.
    client = provider.client
    assert config["WECHAT_PAY_BASE_URL"] == client.API_BASE_URL
    assert WeChatPay.API_BASE_URL == REAL_PAY_BASE  # the class attribute is untouched
    for name in dir(client):
        endpoint = getattr(client, name)
        if isinstance(endpoint, BaseWeChatPayAPI):
            assert endpoint._client is client
            assert not getattr(endpoint, "API_BASE_URL", "").startswith(REAL_PAY_BASE), name


def test_paying_delivers_a_notification_that_verifies_and_is_acknowledged(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "WX_NOTIFY_1")
    sandbox.deliver_due()
    (note,) = receiver.verdicts
    assert note.valid and note.paid
    assert (note.out_trade_no, note.amount_fen) == ("WX_NOTIFY_1", 1230)
    assert note.app_id == config["WECHAT_APPID"] and note.mch_id == config["WECHAT_PAY_MCH_ID"]
    assert note.transaction_id == provider.query("WX_NOTIFY_1").transaction_id
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.acked and len(delivery.attempts) == 1


def test_unacknowledged_notifications_are_retried_on_the_documented_schedule(sandbox, wechat):
    provider, config, receiver = wechat
    receiver.refuse_first = 3
    _open_and_pay(sandbox, provider, config, "WX_RETRY_1")
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.acked and len(delivery.attempts) == 4
    gaps = [later.at - earlier.at for earlier, later in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
    # Logical times (the due times deliver_due was called with), so equal up to float rounding.
    assert gaps == pytest.approx([seconds * TIME_FACTOR for seconds in WECHAT_SCHEDULE[:3]], abs=1e-5)
    assert [r.status for r in receiver.received] == [500, 500, 500, 200]


def test_a_notification_never_acknowledged_is_given_up_after_the_whole_schedule(sandbox, wechat):
    provider, config, receiver = wechat
    receiver.refuse_first = 10_000
    _open_and_pay(sandbox, provider, config, "WX_GIVEUP_1")
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.given_up and len(delivery.attempts) == len(WECHAT_SCHEDULE) + 1


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("forged", "bad signature"), ("tampered_amount", "bad signature"), ("wrong_appid", "appid mismatch")],
)
def test_forged_tampered_and_foreign_notifications_are_rejected_and_not_acknowledged(sandbox, wechat, kind, reason):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "WX_BAD_1")
    delivery = sandbox.send_variant("WX_BAD_1", kind)
    (note,) = receiver.verdicts
    assert not note.valid and reason in note.reason
    assert delivery.attempts[0].status == 400 and not delivery.acked


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


def test_parse_notification_never_raises_on_garbage(wechat):
    provider, _, _ = wechat
    for body in (
        b"",
        b"not xml",
        b"<xml><return_code>SUCCESS</return_code></xml>",
        b"<xml><a><b>1</b></a></xml>",
    ):
        assert not provider.parse_notification(body, "text/xml", None).valid


def test_query_reports_pending_paid_and_not_found(sandbox, wechat):
    provider, config, _ = wechat
    provider.create(payment_request("WX_QUERY_1", "wechat_jsapi", config))
    assert provider.query("WX_QUERY_1").status == "pending"
    sandbox.pay("WX_QUERY_1", "wechat_jsapi")
    trade = provider.query("WX_QUERY_1")
    assert (trade.status, trade.amount_fen) == ("paid", 1230)
    assert trade.transaction_id and trade.paid_at.tzinfo is not None
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


def test_reentering_an_order_needs_the_same_parameters(sandbox, wechat):
    provider, config, _ = wechat
    first = provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config))
    again = provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config))
    assert again["package"] == first["package"]
    with pytest.raises(PaymentRejected) as refused:
        provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config, amount_fen=1))
    assert refused.value.gateway_code == "INVALID_REQUEST"
    sandbox.pay("WX_AGAIN_1", "wechat_jsapi")
    with pytest.raises(PaymentRejected) as paid:
        provider.create(payment_request("WX_AGAIN_1", "wechat_jsapi", config))
    assert paid.value.gateway_code == "ORDERPAID"


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


@pytest.mark.parametrize(
    ("out_trade_no", "total", "refund", "code"),
    [
        ("WX_REFUND_2", 1230, 1231, "ERROR"),  # more than was paid
        ("WX_REFUND_2", 999, 10, "INVALID_REQUEST"),  # wrong order total
        ("WX_NOBODY", 1230, 10, "ORDERNOTEXIST"),
    ],
)
def test_refund_refusals(sandbox, wechat, out_trade_no, total, refund, code):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_2")
    result = provider.refund(out_trade_no, "RF_2", total, refund, "测试")
    assert result.status == "failed" and result.reason.startswith(code)


def test_refund_with_a_changed_amount_under_the_same_number_is_refused(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_3")
    provider.refund("WX_REFUND_3", "RF_3", 1230, 100, "测试")
    assert provider.refund("WX_REFUND_3", "RF_3", 1230, 200, "测试").reason.startswith("INVALID_REQUEST")


def test_refund_fails_when_the_merchant_balance_is_short(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_4")
    sandbox.state.wechat_balance_fen = 50
    assert provider.refund("WX_REFUND_4", "RF_4", 1230, 100, "测试").reason.startswith("NOTENOUGH")


def test_refund_notification_is_encrypted_and_decrypts_with_the_merchant_key(sandbox, wechat):
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


def test_a_refund_notification_for_another_merchant_or_key_is_invalid(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "WX_REFUND_6")
    provider.refund("WX_REFUND_6", "RF_6", 1230, 10, "测试", notify_url="http://127.0.0.1:9/refund")
    body = sandbox.notifier.deliveries[-1].body
    other_key = get_provider("wechat_jsapi", {**config, "WECHAT_PAY_API_KEY": "k" * 32})
    assert not other_key.parse_refund_notification(body).valid
    other_mch = get_provider("wechat_jsapi", {**config, "WECHAT_PAY_MCH_ID": "1230000109"})
    assert other_mch.parse_refund_notification(body).reason == "mch_id mismatch"
    assert not provider.parse_refund_notification(b"garbage").valid


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


def test_a_day_without_business_has_an_empty_bill(wechat):
    provider, _, _ = wechat
    assert provider.download_bill(beijing_now().date().replace(year=2020)) == []


def test_a_wrong_api_key_is_refused_by_the_gateway(sandbox, gateways):
    config, _ = gateways
    config["WECHAT_PAY_VERSION"] = "v2"
    provider = get_provider("wechat_jsapi", {**config, "WECHAT_PAY_API_KEY": "x" * 32})
    with pytest.raises(PaymentGatewayError):
        provider.query("WX_ANY")
    assert sandbox.recorded("wechat_pay")  # it reached the sandbox, which answered 签名错误


def test_a_reply_with_a_bad_signature_is_not_believed():
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


def test_client_certificate_paths_are_passed_to_wechatpy(gateways):
    config, _ = gateways
    config["WECHAT_PAY_VERSION"] = "v2"
    provider = get_provider(
        "wechat_jsapi",
        {**config, "WECHAT_PAY_CERT_PATH": "/etc/cert.pem", "WECHAT_PAY_KEY_PATH": "/etc/key.pem"},
    )
    assert (provider.client.mch_cert, provider.client.mch_key) == ("/etc/cert.pem", "/etc/key.pem")
