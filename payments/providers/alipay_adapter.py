"""The one place that fixes alipay-sdk-python 3.7.1411's known defects (each has a test).

1. ``util/WebUtils.get_http_connection`` connects to port 80/443 whatever the
   server_url says and then crashes concatenating the int port to a str, so a
   gateway such as ``http://127.0.0.1:5001/gateway.do`` is unreachable.
2. The SDK signs with ``rsa.PrivateKey.load_pkcs1``: the app private key must
   be PKCS#1, while Alipay's key tool usually hands out PKCS#8 (or bare base64).
3. ``verify_with_rsa`` raises on a bad signature instead of returning False.
4. Request timestamps come from ``datetime.now()``, the server's local clock,
   while the gateway expects Beijing time.
5. (found while reading) ``do_post`` raises TypeError instead of ResponseException
   on a non-200 reply (it concatenates the bytes body to a str).

Fixes 1, 4 and 5 replace module attributes of the SDK once (``install()``);
2 and 3 are functions the provider calls.
"""

import base64
import binascii
import datetime as _datetime
import functools
import re
import sys
import threading
import types
from http import client as http_client
from urllib.parse import urlsplit

import rsa
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.exception.Exception import RequestException, ResponseException
from alipay.aop.api.util import SignatureUtils, WebUtils
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as crypto_rsa
from pyasn1.error import PyAsn1Error

from core.clock import BEIJING

_client_module = sys.modules[DefaultAlipayClient.__module__]
# The SDK as shipped, kept so tests can show each defect is real in this version.
SDK_ORIGINALS = {
    "get_http_connection": WebUtils.get_http_connection,
    "do_post": _client_module.do_post,
    "datetime": _client_module.datetime,
    "verify_with_rsa": SignatureUtils.verify_with_rsa,
}
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")
_install_lock = threading.Lock()
_installed = False


class AlipayKeyError(ValueError):
    """A configured Alipay key cannot be used."""


def get_http_connection(url: str, query_string: str, timeout):
    """Fix 1: honour the URL's port; send an origin-form request target."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection = http_client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout)
    elif parts.scheme == "http":
        connection = http_client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    else:
        raise RequestException(f"unsupported gateway URL scheme: {parts.scheme!r}")
    target = (parts.path or "/") + ("?" + query_string if query_string else "")
    return target, connection


def do_post(url, query_string=None, headers=None, params=None, charset="utf-8", timeout=15):
    """Fix 5: the SDK's do_post, with a non-200 reply reported as ResponseException."""
    try:
        return SDK_ORIGINALS["do_post"](url, query_string, headers, params, charset, timeout)
    except TypeError as exc:
        raise ResponseException("gateway answered with a non-200 HTTP status") from exc


class _BeijingDateTime(_datetime.datetime):
    """``datetime`` whose naive ``now()`` is Beijing wall time, whatever the server's TZ."""

    @classmethod
    def now(cls, tz=None):
        if tz is None:
            return _datetime.datetime.now(BEIJING).replace(tzinfo=None)
        return _datetime.datetime.now(tz)


def install() -> None:
    """Apply fixes 1, 4 and 5 to the SDK modules (idempotent, thread-safe)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        WebUtils.get_http_connection = get_http_connection
        _client_module.do_post = do_post
        _client_module.datetime = types.SimpleNamespace(datetime=_BeijingDateTime)
        _installed = True


def _der(text: str, what: str) -> bytes:
    body = "".join(_PEM_ARMOUR.sub("", text or "").split())
    if not body:
        raise AlipayKeyError(f"{what} is empty")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as exc:
        raise AlipayKeyError(f"{what} is neither PEM nor base64 DER") from exc


@functools.lru_cache(maxsize=16)
def pkcs1_private_key(text: str) -> str:
    """Fix 2: an RSA private key in PKCS#1 or PKCS#8, PEM or bare base64 → PKCS#1 PEM for the SDK."""
    what = "ALIPAY_APP_PRIVATE_KEY"
    try:
        key = serialization.load_der_private_key(_der(text, what), password=None)
    except TypeError as exc:
        raise AlipayKeyError(f"{what} is encrypted; configure the unencrypted key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise AlipayKeyError(f"{what} is not an RSA private key in PKCS#1 or PKCS#8 form") from exc
    if not isinstance(key, crypto_rsa.RSAPrivateKey):
        raise AlipayKeyError(f"{what} is not an RSA key")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


@functools.lru_cache(maxsize=16)
def spki_public_key(text: str) -> str:
    """An RSA public key (SubjectPublicKeyInfo or PKCS#1, PEM or bare base64) → the PEM the SDK reads."""
    what = "ALIPAY_PUBLIC_KEY"
    der = _der(text, what)
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_public_key(
                b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
            )
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise AlipayKeyError(f"{what} is not an RSA public key") from exc
    if not isinstance(key, crypto_rsa.RSAPublicKey):
        raise AlipayKeyError(f"{what} is not an RSA key")
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def verify_rsa2(public_key: str, message: str | bytes, sign: str) -> bool:
    """Fix 3: the SDK's verify_with_rsa, returning False (never raising) on a bad signature or input."""
    if isinstance(message, str):
        message = message.encode("utf-8")
    try:
        return bool(SignatureUtils.verify_with_rsa(public_key, message, sign or ""))
    except (rsa.VerificationError, ValueError, TypeError, IndexError, PyAsn1Error):
        return False


def build_client(
    app_id: str, app_private_key: str, alipay_public_key: str, server_url: str, timeout: int = 10
) -> DefaultAlipayClient:
    """A DefaultAlipayClient (RSA2) with the fixes applied and normalised keys; it logs nothing."""
    install()
    config = AlipayClientConfig()
    config.server_url = server_url
    config.app_id = app_id
    config.app_private_key = pkcs1_private_key(app_private_key)
    config.alipay_public_key = spki_public_key(alipay_public_key)
    config.sign_type = "RSA2"
    config.timeout = timeout
    return DefaultAlipayClient(config, logger=None)
