"""WeChat Pay API v3 in public-key mode through the real wechatpayv3 code against the loopback sandbox."""

import base64
import json
import socket
import time
from datetime import timedelta

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.clock import BEIJING, beijing_now
from core.errors import ValidationFailed
from core.gateway_settings import GatewaySecretMissing
from payments.providers import PaymentGatewayError, PaymentRejected, RefundNotification, get_provider
from payments.providers.wechat_v3 import WeChatPayV3Provider, pinned_client
from sandbox import credentials as creds
from sandbox import wechat_pay_v3 as sandbox_v3
from sandbox.notifications import wechat_v3_headers, wechat_v3_payment_body
from sandbox.notifier import WECHAT_V3_SCHEDULE
from tests.fakes import serve
from tests.payments_fixtures import TIME_FACTOR, payment_request


@pytest.fixture
def wechat(gateways):
    config, receiver = gateways
    assert config["WECHAT_PAY_VERSION"] == "v3"  # the default, as API.md says
    return get_provider("wechat_jsapi", config), config, receiver


def _open_and_pay(sandbox, provider, config, out_trade_no="V3_1", amount_fen=1230):
    params = provider.create(payment_request(out_trade_no, "wechat_jsapi", config, amount_fen))
    sandbox.pay(out_trade_no, "wechat_jsapi", request_payment=params)
    return params


def _merchant_public_key():
    private = serialization.load_pem_private_key(creds.WECHAT_PAY_V3_PRIVATE_KEY.encode(), password=None)
    return private.public_key()


def test_the_provider_is_v3_in_public_key_mode(wechat):
    provider, config, _ = wechat
    assert isinstance(provider, WeChatPayV3Provider)
    core = provider.client._core
    assert core._public_key_id == creds.WECHAT_PAY_V3_PUBLIC_KEY_ID and core._certificates == []
    assert core._gate_way == config["WECHAT_PAY_BASE_URL"].rstrip("/")


def test_without_the_public_key_it_refuses_instead_of_downloading_certificates(wechat, monkeypatch):
    _, config, _ = wechat
    sent = []
    monkeypatch.setattr(requests.Session, "request", lambda self, method, url, *a, **k: sent.append(url))
    with pytest.raises(GatewaySecretMissing, match="WECHAT_PAY_V3_PUBLIC_KEY"):
        get_provider("wechat_jsapi", config | {"WECHAT_PAY_V3_PUBLIC_KEY": "", "WECHAT_PAY_V3_PUBLIC_KEY_ID": ""})
    assert sent == []


@pytest.mark.parametrize("name", ["WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PRIVATE_KEY", "WECHAT_PAY_V3_SERIAL_NO"])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_v3_secret_is_refused_at_the_point_of_use(wechat, name, value):
    _, config, _ = wechat
    with pytest.raises(GatewaySecretMissing, match=name):
        get_provider("wechat_jsapi", config | {name: value})


def test_create_returns_exactly_the_request_payment_params_signed_with_the_merchant_key(sandbox, wechat):
    provider, config, _ = wechat
    params = provider.create(payment_request("V3_CREATE", "wechat_jsapi", config))
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=wx")
    message = "".join(
        f"{v}\n" for v in (config["WECHAT_APPID"], params["timeStamp"], params["nonceStr"], params["package"])
    )
    _merchant_public_key().verify(
        base64.b64decode(params["paySign"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    forged = {**params, "paySign": params["paySign"][::-1]}
    with pytest.raises(Exception, match="paySign"):
        sandbox.pay("V3_CREATE", "wechat_jsapi", request_payment=forged)
    assert sandbox.pay("V3_CREATE", "wechat_jsapi", request_payment=params)["status"] == "paid"


def test_the_jsapi_order_carries_description_fen_openid_expiry_and_the_v3_notify_url(sandbox, wechat):
    provider, config, _ = wechat
    request = payment_request("V3_FIELDS", "wechat_jsapi", config, amount_fen=1)
    provider.create(request)
    (call,) = sandbox.recorded("wechat_pay_v3")
    assert call.path == "/wechat-pay/v3/pay/transactions/jsapi"
    sent = call.params
    assert sent["amount"] == {"total": 1, "currency": "CNY"} and sent["payer"] == {"openid": "sbx_buyer_openid"}
    assert (sent["appid"], sent["mchid"]) == (config["WECHAT_APPID"], config["WECHAT_PAY_MCH_ID"])
    assert sent["time_expire"] == request.expires_at.astimezone(BEIJING).isoformat(timespec="seconds")
    assert sent["notify_url"] == config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/wechat-v3"
    assert sent["description"] == "炎陵黄桃 5斤装"


def test_wechat_jsapi_needs_the_payers_openid(wechat):
    provider, config, _ = wechat
    with pytest.raises(ValidationFailed):
        provider.create(payment_request("V3_NO_OPENID", "wechat_jsapi", config, payer_alipay_user_id="x"))


def test_every_request_goes_to_the_configured_base(sandbox, wechat, monkeypatch):
    """Constructing, paying, querying, closing, refunding and both bill steps: not one URL elsewhere."""
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

    original_getaddrinfo = socket.getaddrinfo
    pinned_client.cache_clear()  # construct for real, under the recording
    monkeypatch.setattr(requests.Session, "request", recording)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    provider = get_provider("wechat_jsapi", config)
    assert sent == []  # public-key mode: the constructor downloads nothing
    _open_and_pay(sandbox, provider, config, "V3_BASE_1")
    provider.query("V3_BASE_1")
    provider.close("V3_BASE_2")
    provider.refund("V3_BASE_1", "RF_V3_BASE_1", 1230, 30, "测试")
    provider.query_refund("V3_BASE_1", "RF_V3_BASE_1")
    assert [row.out_trade_no for row in provider.download_bill(beijing_now().date())] == ["V3_BASE_1"] * 2
    assert len(sent) == 7  # jsapi, query, close, refund, refund query, tradebill, bill file
    assert all(url.startswith(config["WECHAT_PAY_BASE_URL"] + "v3/") for url in sent), sent
    assert not any("certificates" in url for url in sent)


def test_an_answer_signed_under_an_unknown_serial_is_not_believed_and_fetches_no_certificates(wechat, monkeypatch):
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


def test_a_wrong_merchant_key_is_refused_by_the_gateway(sandbox, wechat):
    _, config, _ = wechat
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    provider = get_provider("wechat_jsapi", config | {"WECHAT_PAY_V3_PRIVATE_KEY": pem})
    with pytest.raises(PaymentRejected) as refused:
        provider.create(payment_request("V3_BAD_KEY", "wechat_jsapi", config))
    assert refused.value.gateway_code == "SIGN_ERROR"


def test_paying_delivers_an_encrypted_notification_that_verifies(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "V3_NOTIFY")
    sandbox.deliver_due()
    (received,) = receiver.received
    assert received.gateway == "wechat-v3" and received.status == 204
    note = received.verdict
    assert note.valid and note.paid and (note.out_trade_no, note.amount_fen) == ("V3_NOTIFY", 1230)
    assert (note.app_id, note.mch_id) == (config["WECHAT_APPID"], config["WECHAT_PAY_MCH_ID"])
    assert note.transaction_id == provider.query("V3_NOTIFY").transaction_id
    envelope = json.loads(received.body)
    assert envelope["event_type"] == "TRANSACTION.SUCCESS" and envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert "V3_NOTIFY" not in received.body.decode()  # only the ciphertext carries it
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.acked and len(delivery.attempts) == 1


def test_unacknowledged_notifications_are_retried_on_v3s_schedule_signed_afresh(sandbox, wechat, monkeypatch):
    provider, config, receiver = wechat
    receiver.refuse_first = 3
    _open_and_pay(sandbox, provider, config, "V3_RETRY")
    stamps = []
    signer = sandbox.notifier.signers["wechat_v3"]
    monkeypatch.setitem(sandbox.notifier.signers, "wechat_v3", lambda body: stamps.append(signer(body)) or stamps[-1])
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert [a.status for a in delivery.attempts] == [500, 500, 500, 204] and delivery.acked
    gaps = [round((b.at - a.at) / TIME_FACTOR) for a, b in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
    assert gaps == list(WECHAT_V3_SCHEDULE[:3]) == [15, 15, 30]
    assert len({s["Wechatpay-Nonce"] for s in stamps}) == 4  # every sending is signed anew


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("forged", "bad signature"),
        ("unknown_serial", "unknown Wechatpay-Serial"),
        ("stale_timestamp", "Wechatpay-Timestamp more than 5 minutes off"),
        ("tampered_ciphertext", "cannot decrypt resource"),
        ("wrong_appid", "appid mismatch"),
    ],
)
def test_refused_notifications_are_not_acknowledged(sandbox, wechat, kind, reason):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, f"V3_{kind}"[:32])
    delivery = sandbox.send_variant(f"V3_{kind}"[:32], kind)
    (note,) = receiver.verdicts
    assert not note.valid and note.reason == reason
    assert delivery.attempts[-1].status == 400 and not delivery.acked
    assert json.loads(delivery.attempts[-1].body)["code"] == "FAIL"


def test_a_wrong_amount_is_validly_signed_so_the_app_must_compare_it(sandbox, wechat):
    provider, config, receiver = wechat
    _open_and_pay(sandbox, provider, config, "V3_AMOUNT")
    sandbox.send_variant("V3_AMOUNT", "wrong_amount")
    (note,) = receiver.verdicts
    assert note.valid and note.amount_fen == 1231


def test_parse_event_never_raises_on_garbage(wechat):
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


def test_a_notification_signed_right_but_encrypted_with_another_apiv3_key_is_refused(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "V3_OTHER_KEY")
    trade = sandbox.state.wechat_trades["V3_OTHER_KEY"]
    other = type(sandbox.settings)(**{**sandbox.settings.__dict__, "apiv3_key": "x" * 32})
    body = wechat_v3_payment_body(other, trade)
    note = provider.parse_event(wechat_v3_headers(sandbox.settings, body), body)
    assert not note.valid and note.reason == "cannot decrypt resource"


def test_query_reports_pending_paid_and_not_found(sandbox, wechat):
    provider, config, _ = wechat
    provider.create(payment_request("V3_Q", "wechat_jsapi", config))
    assert provider.query("V3_Q").status == "pending"
    sandbox.pay("V3_Q")
    trade = provider.query("V3_Q")
    assert (trade.status, trade.amount_fen) == ("paid", 1230) and trade.transaction_id.startswith("42000")
    assert trade.paid_at is not None and trade.paid_at.utcoffset().total_seconds() == 8 * 3600
    assert provider.query("V3_NOBODY").status == "not_found"


def test_close_pending_twice_paid_and_unknown(sandbox, wechat):
    provider, config, _ = wechat
    provider.create(payment_request("V3_C1", "wechat_jsapi", config))
    assert provider.close("V3_C1") == "closed"
    assert provider.close("V3_C1") == "closed"
    assert provider.query("V3_C1").status == "closed"
    _open_and_pay(sandbox, provider, config, "V3_C2")
    assert provider.close("V3_C2") == "already_paid"
    assert provider.close("V3_C3") == "not_found"


def test_reentering_an_order_needs_the_same_parameters(sandbox, wechat):
    provider, config, _ = wechat
    first = provider.create(payment_request("V3_RE", "wechat_jsapi", config))
    again = provider.create(payment_request("V3_RE", "wechat_jsapi", config))
    assert first["package"] == again["package"]
    with pytest.raises(PaymentRejected) as refused:
        provider.create(payment_request("V3_RE", "wechat_jsapi", config, amount_fen=999))
    assert refused.value.gateway_code == "OUT_TRADE_NO_USED"


def test_refund_is_idempotent_and_checked_by_query(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "V3_RF")
    first = provider.refund("V3_RF", "RF_V3_1", 1230, 230, "坏果")
    again = provider.refund("V3_RF", "RF_V3_1", 1230, 230, "坏果")
    assert first.status == "processing" and first.refund_id == again.refund_id and first.amount_fen == 230
    assert sandbox.state.wechat_trades["V3_RF"].refunded_fee == 230
    assert provider.query_refund("V3_RF", "RF_V3_1").status == "success"
    assert provider.query_refund("V3_RF", "RF_V3_NONE").status == "not_found"
    changed = provider.refund("V3_RF", "RF_V3_1", 1230, 231, "坏果")
    assert changed.status == "failed" and changed.reason.startswith("INVALID_REQUEST")
    too_much = provider.refund("V3_RF", "RF_V3_2", 1230, 1001, "坏果")
    assert too_much.status == "failed" and "累计退款金额大于支付金额" in too_much.reason


def test_refund_fails_when_the_merchant_balance_is_short(sandbox, wechat):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "V3_POOR")
    sandbox.state.wechat_balance_fen = 100
    result = provider.refund("V3_POOR", "RF_V3_POOR", 1230, 1230, "退款")
    assert result.status == "failed" and result.reason.startswith("NOT_ENOUGH")


@pytest.mark.parametrize(("outcome", "status"), [("SUCCESS", "success"), ("ABNORMAL", "failed"), ("CLOSED", "failed")])
def test_refund_notifications_decrypt_to_their_outcome(sandbox, wechat, outcome, status):
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


def test_daily_bill_lists_payments_and_refunds_and_checks_the_hash(sandbox, wechat, monkeypatch):
    provider, config, _ = wechat
    _open_and_pay(sandbox, provider, config, "V3_BILL")
    provider.refund("V3_BILL", "RF_V3_BILL", 1230, 200, "坏果")
    rows = provider.download_bill(beijing_now().date())
    assert [(r.status, r.amount_fen, r.refund_fen, r.out_refund_no) for r in rows] == [
        ("paid", 1230, 0, None),
        ("refunded", 0, 200, "RF_V3_BILL"),
    ]
    assert provider.download_bill(beijing_now().date() - timedelta(days=40)) == []
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


def test_the_cashier_page_pays_a_v3_trade(sandbox, wechat):
    provider, config, receiver = wechat
    provider.create(payment_request("V3_CASHIER", "wechat_jsapi", config))
    page = requests.get(sandbox.base_url + "cashier/V3_CASHIER", timeout=5)
    assert page.status_code == 200 and "API v3" in page.text and "¥12.30" in page.text
    paid = requests.post(sandbox.base_url + "cashier/V3_CASHIER/pay", data={"channel": "wechat_jsapi"}, timeout=5)
    assert "支付成功" in paid.text
    sandbox.deliver_due()
    assert receiver.verdicts[-1].valid and receiver.received[-1].status == 204


def test_the_refund_outcome_hook(sandbox):
    url = sandbox.base_url + "sandbox/wechat-refund-outcome"
    assert requests.post(url, json={"outcome": "ABNORMAL"}, timeout=5).json() == {"outcome": "ABNORMAL"}
    assert sandbox.state.wechat_refund_outcome == "ABNORMAL"
    assert requests.post(url, json={"outcome": "LOST"}, timeout=5).status_code == 400
    assert sandbox.state.wechat_refund_outcome == "ABNORMAL"
