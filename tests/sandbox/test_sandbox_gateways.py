"""The simulator at the wire: refusals, signatures and answer shapes as the real gateways document them."""

import json
from datetime import timedelta

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from core.clock import beijing_now
from payments.providers import get_provider
from sandbox import credentials as creds
from sandbox.signing import (
    alipay_sign_content,
    load_public_key,
    parse_xml,
    rsa2_sign,
    rsa2_valid,
    to_xml,
    wechat_sign,
)
from tests.payments_fixtures import payment_request, settings_for

MCH_KEY = creds.WECHAT_PAY_API_KEY


def _wechat(sandbox, path: str, params: dict, key: str = MCH_KEY, sign_type: str = "MD5") -> dict:
    fields = {"appid": creds.WECHAT_APPID, "mch_id": creds.WECHAT_PAY_MCH_ID, "nonce_str": "n0nce", **params}
    if sign_type != "MD5":
        fields["sign_type"] = sign_type
    fields["sign"] = wechat_sign(fields, key, sign_type)
    response = requests.post(sandbox.base_url + "wechat-pay/" + path, data=to_xml(fields).encode(), timeout=5)
    return parse_xml(response.content)


def _unified(out_trade_no: str, **overrides) -> dict:
    expire = (beijing_now() + timedelta(minutes=30)).strftime("%Y%m%d%H%M%S")
    return {
        "body": "黄桃",
        "out_trade_no": out_trade_no,
        "total_fee": "100",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": "http://127.0.0.1:9/notify",
        "trade_type": "JSAPI",
        "openid": "sbx_someone",
        "time_expire": expire,
        **overrides,
    }


def test_success_answers_are_signed_with_the_merchant_key(sandbox):
    answer = _wechat(sandbox, "pay/unifiedorder", _unified("RAW_1"))
    assert answer["return_code"] == answer["result_code"] == "SUCCESS" and answer["prepay_id"].startswith("wx")
    assert answer["sign"] == wechat_sign(answer, MCH_KEY)


def test_hmac_sha256_requests_get_hmac_sha256_answers(sandbox):
    answer = _wechat(sandbox, "pay/unifiedorder", _unified("RAW_HMAC"), sign_type="HMAC-SHA256")
    assert answer["result_code"] == "SUCCESS"
    assert answer["sign"] == wechat_sign(answer, MCH_KEY, "HMAC-SHA256")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": "wrong-key"}, "签名错误"),
        ({"mch_id": "1230000109"}, "商户号mch_id或sub_mch_id不存在"),
        ({"appid": "wx0000000000000000"}, "appid和mch_id不匹配"),
    ],
)
def test_protocol_failures_are_return_code_fail_and_unsigned(sandbox, change, message):
    key = change.pop("key", MCH_KEY)
    answer = _wechat(sandbox, "pay/orderquery", {"out_trade_no": "X", **change}, key=key)
    assert answer["return_code"] == "FAIL" and answer["return_msg"] == message and "sign" not in answer


def test_malformed_xml_is_refused(sandbox):
    response = requests.post(sandbox.base_url + "wechat-pay/pay/orderquery", data=b"<xml><a>", timeout=5)
    assert parse_xml(response.content) == {"return_code": "FAIL", "return_msg": "XML格式错误"}


@pytest.mark.parametrize(
    ("overrides", "err_code"),
    [
        ({"openid": ""}, "LACK_PARAMS"),
        ({"total_fee": "0"}, "INVALID_REQUEST"),
        ({"total_fee": "1.5"}, "INVALID_REQUEST"),
        ({"trade_type": "NATIVE"}, "NO_AUTH"),
        ({"time_expire": beijing_now().strftime("%Y%m%d%H%M%S")}, "INVALID_REQUEST"),
        ({"body": "桃" * 50}, "INVALID_REQUEST"),
    ],
)
def test_unified_order_business_refusals(sandbox, overrides, err_code):
    answer = _wechat(sandbox, "pay/unifiedorder", _unified("RAW_BAD", **overrides))
    assert (answer["return_code"], answer["result_code"], answer["err_code"]) == ("SUCCESS", "FAIL", err_code)
    assert answer["sign"] == wechat_sign(answer, MCH_KEY)


def test_refunding_an_unpaid_order_and_unknown_bills(sandbox):
    _wechat(sandbox, "pay/unifiedorder", _unified("RAW_UNPAID"))
    refund = {"out_trade_no": "RAW_UNPAID", "out_refund_no": "R1", "total_fee": "100", "refund_fee": "1"}
    assert _wechat(sandbox, "secapi/pay/refund", refund)["err_code"] == "ERROR"
    assert _wechat(sandbox, "pay/refundquery", {"out_refund_no": "R404"})["err_code"] == "REFUNDNOTEXIST"
    assert _wechat(sandbox, "pay/downloadbill", {"bill_date": "2020-01-01"})["return_msg"] == "invalid bill_date"
    no_bill = _wechat(sandbox, "pay/downloadbill", {"bill_date": "20200101"})
    assert (no_bill["return_msg"], no_bill["error_code"]) == ("No Bill Exist", "20002")


# -- Alipay gateway.do --------------------------------------------------------------------------------


def _alipay(sandbox, method: str, biz: dict | None = None, key_pem: str = creds.ALIPAY_APP_PRIVATE_KEY, **extra):
    params = {
        "app_id": creds.ALIPAY_APP_ID,
        "method": method,
        "charset": "utf-8",
        "format": "json",
        "sign_type": "RSA2",
        "timestamp": beijing_now().strftime("%Y-%m-%d %H:%M:%S"),
        "version": "1.0",
        **({"biz_content": json.dumps(biz, ensure_ascii=False)} if biz is not None else {}),
        **extra,
    }
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    params["sign"] = rsa2_sign(key, alipay_sign_content(params))
    params = {k: v for k, v in params.items() if v is not None}
    return requests.post(sandbox.base_url + "alipay/gateway.do", data=params, timeout=5).text


def _inner(text: str, key: str) -> dict:
    """The answer's object, after checking the signature over exactly its text."""
    document = json.loads(text)
    assert set(document) == {key, "sign"}
    content = json.dumps(document[key], ensure_ascii=False, separators=(",", ":"))
    assert text == f'{{"{key}":{content},"sign":"{document["sign"]}"}}'
    assert rsa2_valid(load_public_key(creds.ALIPAY_PUBLIC_KEY), content, document["sign"])
    return document[key]


def test_answers_are_method_response_plus_a_signature_over_exactly_it(sandbox):
    answer = _inner(_alipay(sandbox, "alipay.trade.query", {"out_trade_no": "NONE"}), "alipay_trade_query_response")
    assert (answer["code"], answer["sub_code"], answer["sub_msg"]) == (
        "40004",
        "ACQ.TRADE_NOT_EXIST",
        "交易不存在",
    )


@pytest.mark.parametrize(
    ("kwargs", "sub_code"),
    [
        ({"app_id": "2021000000009999"}, "isv.invalid-app-id"),
        ({"key_pem": creds.ALIPAY_GATEWAY_PRIVATE_KEY}, "isv.invalid-signature"),
        (
            {"timestamp": (beijing_now() - timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")},
            "isv.invalid-timestamp",
        ),
        ({"sign_type": "RSA"}, "isv.invalid-signature-type"),
    ],
)
def test_gateway_level_refusals(sandbox, kwargs, sub_code):
    answer = _inner(
        _alipay(sandbox, "alipay.trade.query", {"out_trade_no": "X"}, **kwargs), "alipay_trade_query_response"
    )
    assert answer["code"] == "40002" and answer["sub_code"] == sub_code


def test_unknown_or_missing_methods(sandbox):
    unknown = _inner(_alipay(sandbox, "alipay.trade.pay.nothing", {}), "alipay_trade_pay_nothing_response")
    assert unknown["sub_code"] == "isv.invalid-method"
    missing = requests.post(sandbox.base_url + "alipay/gateway.do", data={"a": "1"}, timeout=5).text
    assert _inner(missing, "error_response")["sub_code"] == "isv.missing-method"


def test_oauth_failures_answer_as_error_response_and_success_has_no_code(sandbox):
    failed = _alipay(sandbox, "alipay.system.oauth.token", grant_type="authorization_code", code="invalid")
    assert _inner(failed, "error_response")["sub_code"] == "isv.code-invalid"
    ok = _inner(
        _alipay(sandbox, "alipay.system.oauth.token", grant_type="authorization_code", code="c1"),
        "alipay_system_oauth_token_response",
    )
    assert "code" not in ok and ok["user_id"].startswith("2088")


def test_a_trade_closes_itself_at_time_expire(sandbox):
    config = settings_for(sandbox.base_url)
    provider = get_provider("alipay_mini", config)
    provider.create(payment_request("AX_1", "alipay_mini", config))
    sandbox.state.alipay_trades["AX_1"].time_expire = beijing_now() - timedelta(seconds=1)
    assert provider.query("AX_1").status == "closed"
