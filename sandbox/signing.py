"""The simulator's own signing, written from the gateways' specifications (not from the SDKs).

Keeping it independent of wechatpy and alipay-sdk-python means a bug on one
side shows up as a failed verification instead of agreeing with itself.
"""

import base64
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from xml.parsers.expat import ExpatError

import xmltodict
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def wechat_sign(params: Mapping[str, object], key: str, sign_type: str = "MD5") -> str:
    """WeChat Pay v2: sorted k=v of the non-empty fields but ``sign``, then &key=…; MD5 or HMAC-SHA256."""
    signed = [name for name in sorted(params) if name != "sign" and params[name] not in (None, "")]
    pairs = [f"{name}={params[name]}" for name in signed]
    text = "&".join([*pairs, f"key={key}"]).encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode("utf-8"), text, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text).hexdigest().upper()  # noqa: S324 - the protocol's MD5 signature


def wechat_signature_valid(params: Mapping[str, object], key: str) -> bool:
    """Check ``sign`` with the request's own sign_type (MD5 unless it says HMAC-SHA256)."""
    sign_type = str(params.get("sign_type") or "MD5")
    if sign_type not in ("MD5", "HMAC-SHA256"):
        return False
    expected = wechat_sign(params, key, sign_type)
    return hmac.compare_digest(expected, str(params.get("sign") or ""))


def to_xml(params: Mapping[str, object]) -> str:
    """<xml> with one element per field; text in CDATA, integers bare, the way WeChat writes it."""
    parts = ["<xml>"]
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            text = str(value).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{name}><![CDATA[{text}]]></{name}>")
    parts.append("</xml>")
    return "".join(parts)


def parse_xml(body: bytes) -> dict[str, str] | None:
    """A flat WeChat <xml> document as a dict of strings, or None if it is not one."""
    try:
        document = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError, xmltodict.ParsingInterrupted):
        return None
    data = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        return None
    if any(value is not None and not isinstance(value, str) for value in data.values()):
        return None
    return {name: value or "" for name, value in data.items()}


def alipay_sign_content(params: Mapping[str, str], exclude: tuple[str, ...] = ("sign",)) -> str:
    """Alipay: sorted k=v of the non-empty parameters but the excluded ones."""
    signed = [name for name in sorted(params) if name not in exclude and params[name]]
    return "&".join(f"{name}={params[name]}" for name in signed)


@functools.lru_cache(maxsize=16)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@functools.lru_cache(maxsize=16)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def rsa2_sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    """RSA2 = SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes, base64."""
    signature = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_valid(public_key: rsa.RSAPublicKey, content: str, sign: str) -> bool:
    try:
        signature = base64.b64decode(sign, validate=True)
        public_key.verify(signature, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


# -- WeChat Pay API v3 (from the APIv3 rules: 签名生成, 签名验证, 回调报文解密) -------------------------

V3_SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
_V3_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


def v3_message(*parts: str) -> bytes:
    """The signed text: each part followed by a newline."""
    return "".join(f"{part}\n" for part in parts).encode("utf-8")


def v3_sign(private_key: rsa.RSAPrivateKey, *parts: str) -> str:
    """SHA256withRSA (PKCS#1 v1.5) over the parts, base64."""
    signature = private_key.sign(v3_message(*parts), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def v3_signature_valid(public_key: rsa.RSAPublicKey, signature: str, *parts: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True), v3_message(*parts), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def v3_authorization(header: str) -> dict[str, str] | None:
    """The fields of ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…``."""
    scheme, _, rest = (header or "").partition(" ")
    if scheme != V3_SIGNATURE_TYPE:
        return None
    fields = dict(_V3_AUTH_FIELD.findall(rest))
    needed = {"mchid", "nonce_str", "signature", "timestamp", "serial_no"}
    return fields if needed <= fields.keys() else None


def v3_encrypt(apiv3_key: str, plaintext: str, associated_data: str) -> dict[str, str]:
    """An AEAD_AES_256_GCM ``resource``: 12-character nonce, ciphertext with its tag, base64."""
    nonce = secrets.token_hex(6)
    sealed = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("ascii"), plaintext.encode("utf-8"), associated_data.encode("utf-8")
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
        "associated_data": associated_data,
        "nonce": nonce,
    }
