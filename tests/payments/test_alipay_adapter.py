"""alipay-sdk-python 3.7.1411's defects: each is shown to exist in the SDK as shipped, then shown fixed.

The "defect exists" tests pin the SDK's behaviour: if an upgrade fixes one, its
test fails and the corresponding fix in payments/providers/alipay_adapter.py
can go.
"""

import base64
import importlib
import os
import time
from datetime import datetime, timedelta

import pytest
import rsa
from alipay.aop.api.exception.Exception import ResponseException
from alipay.aop.api.util import SignatureUtils, WebUtils
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from core.clock import BEIJING, beijing_now
from payments.providers import PaymentGatewayError, get_provider
from payments.providers import alipay_adapter as adapter
from payments.providers.alipay_adapter import SDK_ORIGINALS, AlipayKeyError
from sandbox import credentials as creds
from sandbox.signing import load_public_key, rsa2_sign, rsa2_valid
from tests.fakes import serve
from tests.payments_fixtures import settings_for


@pytest.fixture
def provider(sandbox):
    return get_provider("alipay_mini", settings_for(sandbox.base_url))


# 1. An explicit port in server_url --------------------------------------------------------------


def test_defect_sdk_get_http_connection_fails_on_an_explicit_port():
    with pytest.raises(TypeError):
        SDK_ORIGINALS["get_http_connection"]("http://127.0.0.1:5001/gateway.do", "a=1", 5)


def test_fixed_get_http_connection_keeps_the_port_and_sends_an_origin_form_target():
    target, connection = adapter.get_http_connection("http://127.0.0.1:5001/alipay/gateway.do", "a=1", 5)
    assert (connection.host, connection.port, target) == ("127.0.0.1", 5001, "/alipay/gateway.do?a=1")
    _, secure = adapter.get_http_connection("https://openapi.alipay.com/gateway.do", "a=1", 5)
    assert (type(secure).__name__, secure.port) == ("HTTPSConnection", 443)


def test_the_sdk_reaches_a_gateway_on_an_explicit_port(provider, monkeypatch):
    assert provider.query("NOBODY").status == "not_found"  # the sandbox listens on a random port
    monkeypatch.setattr(WebUtils, "get_http_connection", SDK_ORIGINALS["get_http_connection"])
    with pytest.raises(PaymentGatewayError):
        provider.query("NOBODY")


# 2. The app private key must be PKCS#1 ------------------------------------------------------------


def _body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def test_defect_sdk_cannot_sign_with_a_pkcs8_key():
    assert "BEGIN PRIVATE KEY" in creds.ALIPAY_APP_PRIVATE_KEY  # PKCS#8, as Alipay's key tool emits
    with pytest.raises(ValueError):
        SignatureUtils.sign_with_rsa2(creds.ALIPAY_APP_PRIVATE_KEY, "a=1", "utf-8")


def test_pkcs8_and_bare_base64_keys_are_converted_to_pkcs1():
    pkcs1 = adapter.pkcs1_private_key(creds.ALIPAY_APP_PRIVATE_KEY)
    assert pkcs1.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert adapter.pkcs1_private_key(_body(creds.ALIPAY_APP_PRIVATE_KEY)) == pkcs1
    assert adapter.pkcs1_private_key(pkcs1) == pkcs1
    assert adapter.pkcs1_private_key(_body(pkcs1)) == pkcs1
    signature = SignatureUtils.sign_with_rsa2(pkcs1, "a=1&b=支付", "utf-8")
    assert rsa2_valid(load_public_key(creds.ALIPAY_APP_PUBLIC_KEY), "a=1&b=支付", signature)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        creds.ALIPAY_APP_PUBLIC_KEY,
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode(),
    ],
)
def test_unusable_private_keys_fail_with_a_clear_message(key):
    with pytest.raises(AlipayKeyError, match="ALIPAY_APP_PRIVATE_KEY"):
        adapter.pkcs1_private_key(key)


def test_an_encrypted_key_is_named_as_such():
    key = serialization.load_pem_private_key(creds.ALIPAY_APP_PRIVATE_KEY.encode(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    with pytest.raises(AlipayKeyError, match="encrypted"):
        adapter.pkcs1_private_key(encrypted)


def test_a_provider_with_an_unusable_key_fails_at_construction(sandbox):
    with pytest.raises(AlipayKeyError):
        get_provider("alipay_wap", settings_for(sandbox.base_url) | {"ALIPAY_APP_PRIVATE_KEY": "oops"})


def test_public_keys_in_pkcs1_or_bare_form_are_accepted():
    spki = adapter.spki_public_key(creds.ALIPAY_PUBLIC_KEY)
    pkcs1 = (
        load_public_key(creds.ALIPAY_PUBLIC_KEY)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode()
    )
    assert adapter.spki_public_key(pkcs1) == spki == adapter.spki_public_key(_body(creds.ALIPAY_PUBLIC_KEY))
    with pytest.raises(AlipayKeyError, match="ALIPAY_PUBLIC_KEY"):
        adapter.spki_public_key("nope")


# 3. verify_with_rsa raises instead of returning False ------------------------------------------------


def test_defect_sdk_verify_raises_on_a_bad_signature():
    bad = base64.b64encode(b"\x00" * 256).decode()
    with pytest.raises(rsa.VerificationError):
        SDK_ORIGINALS["verify_with_rsa"](creds.ALIPAY_PUBLIC_KEY, b"a=1", bad)


def test_wrapped_verify_returns_true_or_false_and_never_raises(sandbox):
    alipay_key = sandbox.settings.alipay_private_key
    good = rsa2_sign(alipay_key, "a=1&b=支付")
    assert adapter.verify_rsa2(creds.ALIPAY_PUBLIC_KEY, "a=1&b=支付", good) is True
    assert adapter.verify_rsa2(creds.ALIPAY_PUBLIC_KEY, "a=2&b=支付", good) is False
    assert adapter.verify_rsa2(creds.ALIPAY_PUBLIC_KEY, "a=1", base64.b64encode(b"\x00" * 256).decode()) is False
    assert adapter.verify_rsa2(creds.ALIPAY_PUBLIC_KEY, "a=1", "%%%not base64") is False
    assert adapter.verify_rsa2(creds.ALIPAY_PUBLIC_KEY, "a=1", "") is False
    assert adapter.verify_rsa2("not a key", "a=1", good) is False


# 4. Timestamps from the local clock -------------------------------------------------------------------


@pytest.fixture
def new_york_clock():
    """The server's local time zone is America/New_York (12-13 hours behind Beijing)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


def test_defect_sdk_timestamps_follow_the_local_clock(new_york_clock):
    local = SDK_ORIGINALS["datetime"].datetime.now()
    beijing = beijing_now().replace(tzinfo=None)
    assert beijing - local > timedelta(hours=11)


def test_request_timestamps_are_beijing_time_whatever_the_local_zone(sandbox, provider, new_york_clock):
    assert provider.query("NOBODY").status == "not_found"  # the sandbox refuses timestamps off by 15 min
    (call,) = sandbox.recorded("alipay")
    sent = datetime.strptime(call.params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    assert abs(sent - beijing_now()) < timedelta(minutes=2)


def test_without_the_fix_the_gateway_refuses_the_timestamp(provider, new_york_clock, monkeypatch):
    client_module = importlib.import_module("alipay.aop.api.DefaultAlipayClient")
    monkeypatch.setattr(client_module, "datetime", SDK_ORIGINALS["datetime"])
    with pytest.raises(PaymentGatewayError) as refused:
        provider.query("NOBODY")
    assert refused.value.details["gateway_code"] == "isv.invalid-timestamp"


# 5. A non-200 answer ------------------------------------------------------------------------------------


@pytest.fixture
def broken_gateway():
    app = Flask("broken_gateway")

    @app.post("/gateway.do")
    def gateway():
        return "upstream exploded", 502

    with serve(app) as base:
        yield base + "gateway.do"


def test_defect_sdk_do_post_raises_type_error_on_a_non_200_answer(broken_gateway):
    adapter.install()  # the port fix, so that only the status handling is under test
    with pytest.raises(TypeError):
        SDK_ORIGINALS["do_post"](broken_gateway, "a=1", {}, {"b": "2"}, "utf-8", 5)


def test_a_non_200_answer_is_a_response_exception_and_a_gateway_error(broken_gateway, sandbox):
    with pytest.raises(ResponseException):
        adapter.do_post(broken_gateway, "a=1", {}, {"b": "2"}, "utf-8", 5)
    provider = get_provider("alipay_mini", settings_for(sandbox.base_url) | {"ALIPAY_SERVER_URL": broken_gateway})
    with pytest.raises(PaymentGatewayError):
        provider.query("NOBODY")


def test_install_is_idempotent():
    adapter.install()
    adapter.install()
    assert WebUtils.get_http_connection is adapter.get_http_connection
