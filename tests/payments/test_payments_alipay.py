"""Alipay through the real alipay-sdk-python against the loopback sandbox."""

import http.client
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.clock import BEIJING, beijing_now
from core.errors import Unauthorized, ValidationFailed
from payments.providers import PaymentGatewayError, PaymentRejected, get_alipay, get_provider
from sandbox.notifier import ALIPAY_SCHEDULE
from tests.payments_fixtures import payment_request


@pytest.fixture
def alipay(gateways):
    config, receiver = gateways
    return get_provider("alipay_mini", config), config, receiver


def _open_mini_and_pay(sandbox, provider, config, out_trade_no="AM1", amount_fen=1230):
    trade_no = provider.create(payment_request(out_trade_no, "alipay_mini", config, amount_fen))["trade_no"]
    sandbox.pay(out_trade_no, "alipay_mini")
    return trade_no


def _other_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_mini_create_sends_jsapi_pay_with_the_buyer_and_returns_the_trade_no(sandbox, alipay):
    provider, config, _ = alipay
    request = payment_request("AM_CREATE_1", "alipay_mini", config, amount_fen=1230)
    answer = provider.create(request)
    assert set(answer) == {"trade_no"}
    (call,) = [r for r in sandbox.recorded("alipay") if r.params["method"] == "alipay.trade.create"]
    biz = json.loads(call.params["biz_content"])
    assert biz["product_code"] == "JSAPI_PAY" and biz["buyer_id"] == "2088000000000077"
    assert biz["total_amount"] == "12.30"
    assert biz["time_expire"] == request.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    assert call.params["notify_url"] == config["PUBLIC_BASE_URL"] + "/api/v1/payments/notify/alipay"
    assert call.params["sign_type"] == "RSA2" and call.params["app_id"] == config["ALIPAY_APP_ID"]
    assert sandbox.state.alipay_trades["AM_CREATE_1"].trade_no == answer["trade_no"]


def test_mini_create_can_use_the_open_id(sandbox, alipay):
    provider, config, _ = alipay
    provider.create(payment_request("AM_OPENID_1", "alipay_mini", config, payer_alipay_open_id="sbxOPEN"))
    assert sandbox.state.alipay_trades["AM_OPENID_1"].buyer_open_id == "sbxOPEN"


def test_a_buyer_without_an_alipay_identity_cannot_use_alipay_mini(alipay):
    provider, config, _ = alipay
    with pytest.raises(ValidationFailed) as refused:
        provider.create(payment_request("AM_NOBODY", "alipay_mini", config, payer_openid="sbx_wechat_only"))
    assert refused.value.status == 422


def test_wap_url_opens_the_sandbox_cashier_and_the_payment_notifies(sandbox, gateways):
    config, receiver = gateways
    provider = get_provider("alipay_wap", config)
    url = provider.create(payment_request("AW_1", "alipay_wap", config, amount_fen=1))["url"]
    assert url.startswith(config["ALIPAY_SERVER_URL"] + "?")
    query = parse_qs(urlsplit(url).query)
    assert query["method"] == ["alipay.trade.wap.pay"]
    assert json.loads(query["biz_content"][0])["product_code"] == "QUICK_WAP_WAY"
    assert provider.query("AW_1").status == "not_found"  # until the buyer opens the page
    opened = requests.get(url, allow_redirects=False, timeout=5)
    assert opened.status_code == 302 and "/cashier/AW_1" in opened.headers["Location"]
    cashier = requests.get(sandbox.base_url + opened.headers["Location"].lstrip("/"), timeout=5)
    assert "¥0.01" in cashier.text
    assert provider.query("AW_1").status == "pending"
    paid = requests.post(sandbox.base_url + "cashier/AW_1/pay", data={"channel": "alipay_wap"}, timeout=5)
    assert "支付成功" in paid.text
    sandbox.deliver_due()
    (note,) = receiver.verdicts
    assert note.valid and note.paid and (note.out_trade_no, note.amount_fen) == ("AW_1", 1)
    assert provider.query("AW_1").status == "paid"


def test_a_tampered_wap_url_is_refused_by_the_gateway(gateways):
    config, _ = gateways
    url = get_provider("alipay_wap", config).create(payment_request("AW_2", "alipay_wap", config))["url"]
    tampered = url.replace("12.30", "0.01")
    assert tampered != url
    page = requests.get(tampered, allow_redirects=False, timeout=5)
    assert page.status_code == 400 and "isv.invalid-signature" in page.text


def test_paying_delivers_a_signed_form_notification(sandbox, alipay):
    provider, config, receiver = alipay
    trade_no = _open_mini_and_pay(sandbox, provider, config, "AM_NOTIFY_1")
    sandbox.deliver_due()
    (received,) = receiver.received
    assert received.content_type.startswith("application/x-www-form-urlencoded")
    note = received.verdict
    assert note.valid and note.paid and note.transaction_id == trade_no
    assert note.app_id == config["ALIPAY_APP_ID"] and note.mch_id == config["ALIPAY_SELLER_ID"]
    assert note.raw["trade_status"] == "TRADE_SUCCESS" and note.raw["total_amount"] == "12.30"
    assert sandbox.notifier.deliveries[0].acked


def test_alipay_retries_on_its_own_schedule_until_success(sandbox, alipay):
    provider, config, receiver = alipay
    receiver.refuse_first = 10_000
    _open_mini_and_pay(sandbox, provider, config, "AM_RETRY_1")
    sandbox.notifier.run_until_settled()
    (delivery,) = sandbox.notifier.deliveries
    assert delivery.given_up and len(delivery.attempts) == len(ALIPAY_SCHEDULE) + 1


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("forged", "bad signature"), ("tampered_amount", "bad signature"), ("wrong_appid", "app_id mismatch")],
)
def test_bad_notifications_are_rejected(sandbox, alipay, kind, reason):
    provider, config, receiver = alipay
    _open_mini_and_pay(sandbox, provider, config, "AM_BAD_1")
    delivery = sandbox.send_variant("AM_BAD_1", kind)
    (note,) = receiver.verdicts
    assert not note.valid and note.reason == reason
    assert not delivery.acked and delivery.attempts[0].status == 400


def test_a_notification_for_another_seller_is_rejected(sandbox, alipay):
    provider, config, _ = alipay
    _open_mini_and_pay(sandbox, provider, config, "AM_SELLER_1")
    body = sandbox.notifier.deliveries[0].body
    other = get_alipay({**config, "ALIPAY_SELLER_ID": "2088999999999999"})
    assert other.parse_notification(body, "application/x-www-form-urlencoded", None).reason == "seller_id mismatch"


def test_wrong_amount_is_validly_signed_and_parse_never_raises(sandbox, alipay):
    provider, config, receiver = alipay
    _open_mini_and_pay(sandbox, provider, config, "AM_AMOUNT_1")
    sandbox.send_variant("AM_AMOUNT_1", "wrong_amount")
    assert receiver.verdicts[0].valid and receiver.verdicts[0].amount_fen == 1231
    for body in (b"", b"\xff\xfe", b"sign=abc&sign_type=RSA2", b"a=1"):
        assert not provider.parse_notification(body, None, None).valid


def test_query_close_and_their_edge_cases(sandbox, alipay):
    provider, config, _ = alipay
    provider.create(payment_request("AM_CLOSE_1", "alipay_mini", config))
    assert provider.query("AM_CLOSE_1").status == "pending"
    assert provider.close("AM_CLOSE_1") == "closed"
    assert provider.close("AM_CLOSE_1") == "closed"
    assert provider.query("AM_CLOSE_1").status == "closed"
    _open_mini_and_pay(sandbox, provider, config, "AM_CLOSE_2")
    assert provider.close("AM_CLOSE_2") == "already_paid"
    assert provider.close("AM_NOBODY") == "not_found"
    assert provider.query("AM_NOBODY").status == "not_found"
    paid = provider.query("AM_CLOSE_2")
    assert (paid.status, paid.amount_fen) == ("paid", 1230) and paid.paid_at.tzinfo is not None


def test_reentering_a_trade_with_other_data_is_refused(sandbox, alipay):
    provider, config, _ = alipay
    first = provider.create(payment_request("AM_AGAIN_1", "alipay_mini", config))
    assert provider.create(payment_request("AM_AGAIN_1", "alipay_mini", config)) == first
    with pytest.raises(PaymentRejected) as refused:
        provider.create(payment_request("AM_AGAIN_1", "alipay_mini", config, amount_fen=1))
    assert refused.value.gateway_code == "ACQ.CONTEXT_INCONSISTENT"
    sandbox.pay("AM_AGAIN_1", "alipay_mini")
    with pytest.raises(PaymentRejected) as paid:
        provider.create(payment_request("AM_AGAIN_1", "alipay_mini", config))
    assert paid.value.gateway_code == "ACQ.TRADE_HAS_SUCCESS"


def test_refunds_partial_repeated_exceeding_and_full(sandbox, alipay):
    provider, config, _ = alipay
    _open_mini_and_pay(sandbox, provider, config, "AM_REFUND_1")
    first = provider.refund("AM_REFUND_1", "RF_A1", 1230, 230, "少发一斤")
    assert (first.status, first.amount_fen) == ("success", 230)
    assert provider.refund("AM_REFUND_1", "RF_A1", 1230, 230, "少发一斤").status == "success"
    assert sandbox.state.alipay_trades["AM_REFUND_1"].refunded_fen == 230  # not twice
    assert provider.refund("AM_REFUND_1", "RF_A1", 1230, 231, "x").reason.startswith("ACQ.DISCORDANT_REPEAT_REQUEST")
    exceeding = provider.refund("AM_REFUND_1", "RF_A2", 1230, 1001, "x")
    assert exceeding.status == "failed" and exceeding.reason.startswith("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    found = provider.query_refund("AM_REFUND_1", "RF_A1")
    assert (found.status, found.amount_fen) == ("success", 230)
    assert provider.query_refund("AM_REFUND_1", "RF_NONE").status == "not_found"
    assert provider.refund("AM_REFUND_1", "RF_A3", 1230, 1000, "余款").status == "success"
    assert provider.query("AM_REFUND_1").status == "refunded"
    assert provider.refund("AM_NOBODY", "RF_A4", 10, 10, "x").reason.startswith("ACQ.TRADE_NOT_EXIST")


def test_refunding_an_unpaid_trade_is_refused(alipay):
    provider, config, _ = alipay
    provider.create(payment_request("AM_REFUND_2", "alipay_mini", config))
    assert provider.refund("AM_REFUND_2", "RF_B1", 1230, 10, "x").reason.startswith("ACQ.TRADE_STATUS_ERROR")


def test_transfers_succeed_once_and_fail_with_the_gateways_reason(sandbox, alipay):
    provider, _, _ = alipay
    paid = provider.transfer("PO_1", "13800138000", "张三", 12345, "7月结算")
    assert paid.status == "success" and paid.order_id
    again = provider.transfer("PO_1", "13800138000", "张三", 12345, "7月结算")
    assert again.order_id == paid.order_id and len(sandbox.state.transfers) == 1
    assert provider.query_transfer("PO_1").status == "success"
    (call,) = [r for r in sandbox.recorded("alipay") if r.params["method"] == "alipay.fund.trans.uni.transfer"][:1]
    biz = json.loads(call.params["biz_content"])
    assert (biz["product_code"], biz["biz_scene"], biz["trans_amount"]) == (
        "TRANS_ACCOUNT_NO_PWD",
        "DIRECT_TRANSFER",
        "123.45",
    )
    assert biz["payee_info"] == {
        "identity": "13800138000",
        "identity_type": "ALIPAY_LOGON_ID",
        "name": "张三",
    }


@pytest.mark.parametrize(
    ("account", "amount_fen", "code"),
    [
        ("invalid-account@example.com", 100, "PAYEE_NOT_EXIST"),
        ("zhangsan", 100, "PAYEE_NOT_EXIST"),
        ("13800138000", 9, "EXCEED_LIMIT_SM_MIN_AMOUNT"),
    ],
)
def test_failed_transfers_are_reported_and_not_found_afterwards(alipay, account, amount_fen, code):
    provider, _, _ = alipay
    failed = provider.transfer("PO_FAIL", account, "张三", amount_fen, "结算")
    assert failed.status == "failed" and failed.reason.startswith(code)
    assert provider.query_transfer("PO_FAIL").status == "not_found"


def test_payee_not_exist_has_the_chinese_reason(alipay):
    provider, _, _ = alipay
    assert provider.transfer("PO_2", "invalid@example.com", "张三", 100, "结算").reason == (
        "PAYEE_NOT_EXIST: 收款账号不存在"
    )


def test_transfers_fail_when_the_payer_balance_is_short(sandbox, alipay):
    provider, _, _ = alipay
    sandbox.state.alipay_balance_fen = 100
    assert provider.transfer("PO_3", "a@example.com", "张三", 100, "结算").status == "success"
    assert provider.transfer("PO_4", "a@example.com", "张三", 1, "结算").reason.startswith("EXCEED_LIMIT_SM_MIN_AMOUNT")
    assert provider.transfer("PO_5", "a@example.com", "张三", 10, "结算").reason.startswith("PAYER_BALANCE_NOT_ENOUGH")


def test_daily_bill_has_payments_and_refunds(sandbox, alipay):
    provider, config, _ = alipay
    trade_no = _open_mini_and_pay(sandbox, provider, config, "AM_BILL_1", amount_fen=1230)
    provider.refund("AM_BILL_1", "RF_BILL_1", 1230, 30, "x")
    rows = provider.download_bill(beijing_now().date())
    assert sorted((r.out_trade_no, r.transaction_id, r.status, r.amount_fen, r.refund_fen) for r in rows) == [
        ("AM_BILL_1", trade_no, "paid", 1230, 0),
        ("AM_BILL_1", trade_no, "refunded", 0, 30),
    ]
    assert next(r for r in rows if r.status == "refunded").out_refund_no == "RF_BILL_1"
    assert provider.download_bill(beijing_now().date().replace(year=2020)) == []


def test_login_exchanges_auth_codes_for_stable_ids(alipay):
    provider, _, _ = alipay
    first = provider.exchange_auth_code("code-alice")
    assert first["user_id"].startswith("2088") and len(first["user_id"]) == 16
    assert first["open_id"] and first["access_token"]
    assert provider.exchange_auth_code("code-alice")["user_id"] == first["user_id"]
    assert provider.exchange_auth_code("code-bob")["user_id"] != first["user_id"]
    with pytest.raises(Unauthorized):
        provider.exchange_auth_code("invalid")


def test_a_wrong_app_key_is_refused_with_invalid_signature(sandbox, gateways):
    config, _ = gateways
    provider = get_provider("alipay_mini", {**config, "ALIPAY_APP_PRIVATE_KEY": _other_key_pem()})
    with pytest.raises(PaymentGatewayError) as refused:
        provider.query("AM_ANY")
    assert refused.value.details["gateway_code"] == "isv.invalid-signature"


def test_an_answer_not_signed_by_the_configured_alipay_key_is_not_believed(gateways):
    config, _ = gateways
    other_public = (
        serialization.load_pem_private_key(_other_key_pem().encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    provider = get_provider("alipay_mini", {**config, "ALIPAY_PUBLIC_KEY": other_public})
    with pytest.raises(PaymentGatewayError):
        provider.query("AM_ANY")


def test_every_alipay_request_goes_to_the_configured_server(sandbox, alipay, monkeypatch):
    provider, config, _ = alipay
    hosts = []
    original = http.client.HTTPConnection.connect

    def recording(self):
        hosts.append((self.host, self.port))
        return original(self)

    monkeypatch.setattr(http.client.HTTPConnection, "connect", recording)
    downloads = []
    original_request = requests.Session.request

    def recording_request(self, method, url, *args, **kwargs):
        downloads.append(url)
        return original_request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording_request)
    _open_mini_and_pay(sandbox, provider, config, "AM_HOSTS_1")
    provider.query("AM_HOSTS_1")
    provider.refund("AM_HOSTS_1", "RF_H1", 1230, 1, "x")
    provider.transfer("PO_H1", "13800138000", "张三", 100, "x")
    provider.download_bill(beijing_now().date())
    provider.exchange_auth_code("code-h")
    server = urlsplit(config["ALIPAY_SERVER_URL"])
    # create, query, refund, transfer, bill URL, oauth: the SDK's own http.client connections.
    assert len(hosts) == 6 and set(hosts) == {(server.hostname, server.port)}, hosts
    # The bill archive itself is fetched with requests, from the URL the gateway gave.
    (download,) = downloads
    assert download.startswith(f"{server.scheme}://{server.netloc}/alipay/bill/download?token=")
