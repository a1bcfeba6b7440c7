"""Signatures against published vectors, and the SDKs agreeing with the simulator's independent signing."""

import pytest
from alipay.aop.api.util.SignatureUtils import get_sign_content, sign_with_rsa2
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac

from payments.providers import get_provider
from payments.providers.alipay import sign_content
from payments.providers.alipay_adapter import pkcs1_private_key, verify_rsa2
from payments.providers.wechat_v2 import nonce
from sandbox import credentials as creds
from sandbox.signing import (
    alipay_sign_content,
    load_private_key,
    load_public_key,
    parse_xml,
    rsa2_sign,
    rsa2_valid,
    to_xml,
    wechat_sign,
    wechat_signature_valid,
)
from tests.payments_fixtures import settings_for

# shared/data/test_vectors.md: WeChat Pay API v2 "签名算法" example.
VECTOR = {
    "appid": "wxd930ea5d5a258f4f",
    "mch_id": "10000100",
    "device_info": "1000",
    "body": "test",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}
VECTOR_KEY = "192006250b4c09247ec02edce69f6a2d"
VECTOR_MD5 = "9A0A8659F005D6984697E2CA0A9CF3B7"
VECTOR_HMAC = "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"


def test_wechatpy_signs_the_published_vector():
    assert calculate_signature(VECTOR, VECTOR_KEY) == VECTOR_MD5
    assert calculate_signature_hmac(VECTOR, VECTOR_KEY) == VECTOR_HMAC


def test_the_sandbox_signs_the_published_vector():
    assert wechat_sign(VECTOR, VECTOR_KEY) == VECTOR_MD5
    assert wechat_sign(VECTOR, VECTOR_KEY, "HMAC-SHA256") == VECTOR_HMAC
    assert wechat_signature_valid({**VECTOR, "sign": VECTOR_MD5}, VECTOR_KEY)
    hmac_request = {**VECTOR, "sign_type": "HMAC-SHA256"}
    hmac_request["sign"] = wechat_sign(hmac_request, VECTOR_KEY, "HMAC-SHA256")
    assert wechat_signature_valid(hmac_request, VECTOR_KEY)
    assert not wechat_signature_valid({**VECTOR, "sign": VECTOR_HMAC}, VECTOR_KEY)


def test_empty_fields_and_sign_do_not_take_part():
    assert wechat_sign({**VECTOR, "attach": "", "detail": None, "sign": "X"}, VECTOR_KEY) == VECTOR_MD5


def test_request_payment_pay_sign_matches_the_published_mini_program_example():
    """WeChat Pay's 小程序调起支付 example: paySign = 22D9B4E54AB1950F51E0649E8810ACD6."""
    config = settings_for("http://127.0.0.1:9/", wechat_pay_version="v2") | {
        "WECHAT_APPID": "wxd678efh567hg6787",
        "WECHAT_PAY_API_KEY": "qazwsxedcrfvtgbyhnujmikolp111111",
    }
    client = get_provider("wechat_jsapi", config).client
    params = client.jsapi.get_jsapi_params(
        "wx2017033010242291fcfe0db70013231072",
        timestamp="1490840662",
        nonce_str="5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )
    assert params["paySign"] == "22D9B4E54AB1950F51E0649E8810ACD6"


def test_nonces_are_32_random_alphanumerics():
    values = {nonce() for _ in range(50)}
    assert len(values) == 50 and all(len(v) == 32 and v.isalnum() for v in values)


def test_xml_round_trip_keeps_cdata_safe():
    tricky = {"body": "a]]>b<c>&", "total_fee": 1}
    assert parse_xml(to_xml(tricky).encode()) == {"body": "a]]>b<c>&", "total_fee": "1"}
    assert parse_xml(b"<!DOCTYPE x [<!ENTITY e 'boom'>]><xml><a>&e;</a></xml>") is None


def test_alipay_sdk_signatures_verify_in_the_sandbox_and_back():
    content = get_sign_content({"b": "2", "a": "支付", "method": "alipay.trade.query"})
    assert content == "a=支付&b=2&method=alipay.trade.query"
    sdk_signature = sign_with_rsa2(pkcs1_private_key(creds.ALIPAY_APP_PRIVATE_KEY), content, "utf-8")
    assert rsa2_valid(load_public_key(creds.ALIPAY_APP_PUBLIC_KEY), content, sdk_signature)
    sandbox_signature = rsa2_sign(load_private_key(creds.ALIPAY_GATEWAY_PRIVATE_KEY), content)
    assert verify_rsa2(creds.ALIPAY_PUBLIC_KEY, content, sandbox_signature)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2"}, "a=1&b=2"),
        ({"a": "", "c": "3", "b": "二"}, "b=二&c=3"),
    ],
)
def test_notification_sign_content_excludes_sign_sign_type_and_empty_fields(params, expected):
    assert sign_content(params) == expected
    assert alipay_sign_content(params, exclude=("sign", "sign_type")) == expected
