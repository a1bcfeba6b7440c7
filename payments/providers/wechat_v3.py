"""WeChat Pay API v3 (JSAPI in the mini-program) through wechatpayv3 in public-key mode.

A merchant onboarded since late 2024 has no platform certificates: WeChat Pay
signs its answers and notifications with the "WeChat Pay public key"
(微信支付公钥), named by its id ``PUB_KEY_ID_…`` in ``Wechatpay-Serial``.
wechatpayv3 supports that mode (``public_key`` + ``public_key_id``); in it the
constructor downloads nothing. Two more things are pinned here:

- every request goes to WECHAT_PAY_BASE_URL (the SDK keeps the real host in
  ``Core._gate_way``);
- no certificate download ever happens, not even for an answer signed under
  an unknown serial (the SDK would fetch ``/v3/certificates``): such an answer
  simply fails verification.
"""

import base64
import functools
import gzip
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import aes_decrypt

from core.clock import BEIJING
from core.errors import ValidationFailed
from core.gateway_settings import WECHAT_V3_API_KEY_BYTES, require_secret
from payments.providers.base import (
    Ack,
    BillRow,
    Channel,
    CloseOutcome,
    GatewayTrade,
    Notification,
    PaymentGatewayError,
    PaymentRejected,
    PaymentRequest,
    RefundNotification,
    RefundResult,
    RefundStatus,
    TradeStatus,
    check_out_no,
)
from payments.providers.wechat_bill import parse_wechat_bill
from payments.providers.wechat_v2 import nonce

log = logging.getLogger(__name__)

REAL_PAY_BASE = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# Notifications whose Wechatpay-Timestamp is further than this from our clock are refused (replays).
MAX_CLOCK_SKEW_SECONDS = 300
_TRADE_STATES = {
    "SUCCESS": TradeStatus.PAID,
    "REFUND": TradeStatus.REFUNDED,
    "NOTPAY": TradeStatus.PENDING,
    "USERPAYING": TradeStatus.PENDING,
    "CLOSED": TradeStatus.CLOSED,
    "REVOKED": TradeStatus.CLOSED,
    "PAYERROR": TradeStatus.CLOSED,
}
# ABNORMAL: the money could not reach the buyer's card; it is settled by hand on the merchant platform.
_REFUND_STATES = {
    "SUCCESS": RefundStatus.SUCCESS,
    "PROCESSING": RefundStatus.PROCESSING,
    "CLOSED": RefundStatus.FAILED,
    "ABNORMAL": RefundStatus.FAILED,
}
_REFUND_EVENTS = {"REFUND.SUCCESS": "SUCCESS", "REFUND.ABNORMAL": "ABNORMAL", "REFUND.CLOSED": "CLOSED"}
_DESCRIPTION_BYTES = 127


class WeChatPayV3Error(ValueError):
    """A v3 setting cannot be used (named in the message)."""


@functools.lru_cache(maxsize=16)
def pkcs8_private_key(text: str) -> str:
    """An RSA private key in PKCS#1 or PKCS#8 PEM (or bare base64 DER) → PKCS#8 PEM, as wechatpayv3 wants."""
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.strip().encode("ascii"), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode("".join(text.split())), password=None)
    except (ValueError, TypeError) as exc:
        raise WeChatPayV3Error("WECHAT_PAY_V3_PRIVATE_KEY is not an unencrypted RSA private key") from exc
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode("ascii")


@functools.lru_cache(maxsize=16)
def spki_public_key(text: str) -> str:
    """A public key in PEM (or bare base64 DER) → SubjectPublicKeyInfo PEM."""
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_public_key(text.strip().encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split())))
    except (ValueError, TypeError) as exc:
        raise WeChatPayV3Error("WECHAT_PAY_V3_PUBLIC_KEY is not a public key") from exc
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def _no_certificate_download() -> None:
    """Public-key mode has no platform certificates; an unknown serial fails verification instead."""


class PinnedWeChatPayV3(WeChatPay):
    """wechatpayv3's client in public-key mode, every request sent to ``base_url``."""

    def __init__(self, *, base_url: str, public_key: str, public_key_id: str, **kwargs):
        if not (public_key and public_key_id):
            # Without both the SDK falls back to certificate mode and downloads from the real host.
            raise WeChatPayV3Error("WECHAT_PAY_V3_PUBLIC_KEY and WECHAT_PAY_V3_PUBLIC_KEY_ID are required")
        super().__init__(
            wechatpay_type=WeChatPayType.MINIPROG, public_key=public_key, public_key_id=public_key_id, **kwargs
        )
        self._core._gate_way = base_url.rstrip("/")
        self._core._update_certificates = _no_certificate_download


@functools.lru_cache(maxsize=8)
def pinned_client(
    base_url: str,
    mchid: str,
    private_key: str,
    cert_serial_no: str,
    appid: str,
    apiv3_key: str,
    public_key: str,
    public_key_id: str,
    timeout: int | float | None,
) -> PinnedWeChatPayV3:
    """One client per set of settings: loading the RSA key costs ~0.2 s, the client holds no per-call state."""
    return PinnedWeChatPayV3(
        base_url=base_url,
        mchid=mchid,
        private_key=pkcs8_private_key(private_key),
        cert_serial_no=cert_serial_no,
        appid=appid,
        apiv3_key=apiv3_key,
        public_key=spki_public_key(public_key),
        public_key_id=public_key_id,
        timeout=timeout,
    )


def _json(text: str | bytes) -> dict:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"code": "UNPARSEABLE", "message": text[:200]}
    return data if isinstance(data, dict) else {}


def _time(value: str | None) -> datetime | None:
    """RFC 3339 (2026-11-30T12:00:00+08:00) → aware datetime."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def _header(headers: Mapping[str, str], name: str) -> str:
    return headers.get(name) or headers.get(name.lower()) or ""


class WeChatPayV3Provider:
    """The ``wechat_jsapi`` channel on API v3."""

    channel = Channel.WECHAT_JSAPI
    version = "v3"

    def __init__(self, config: Mapping[str, Any]):
        self.appid = require_secret("WECHAT_APPID", config["WECHAT_APPID"])
        self.mch_id = require_secret("WECHAT_PAY_MCH_ID", config["WECHAT_PAY_MCH_ID"])
        self.base_url = config["WECHAT_PAY_BASE_URL"].rstrip("/")
        # Each secret refused empty or short before any use: AES-GCM with a short key, or a missing public
        # key (wechatpayv3 then falls back to certificate mode and downloads from the real host), never runs.
        self.apiv3_key = require_secret("WECHAT_PAY_V3_KEY", config["WECHAT_PAY_V3_KEY"], WECHAT_V3_API_KEY_BYTES)
        self.public_key_id = require_secret("WECHAT_PAY_V3_PUBLIC_KEY_ID", config["WECHAT_PAY_V3_PUBLIC_KEY_ID"])
        public_key = require_secret("WECHAT_PAY_V3_PUBLIC_KEY", config["WECHAT_PAY_V3_PUBLIC_KEY"])
        self.client = pinned_client(
            self.base_url,
            self.mch_id,
            require_secret("WECHAT_PAY_V3_PRIVATE_KEY", config["WECHAT_PAY_V3_PRIVATE_KEY"]),
            require_secret("WECHAT_PAY_V3_SERIAL_NO", config["WECHAT_PAY_V3_SERIAL_NO"]),
            self.appid,
            self.apiv3_key,
            public_key,
            self.public_key_id,
            config.get("PAYMENT_HTTP_TIMEOUT", 10),
        )

    # -- calls -------------------------------------------------------------------------------

    def _call(self, operation: str, function, *args, **kwargs) -> tuple[int, dict]:
        """One SDK call → (HTTP status, JSON body); transport trouble and 5xx become PaymentGatewayError."""
        try:
            status, body = function(*args, **kwargs)
        except requests.RequestException as exc:
            log.warning("wechat pay v3 %s unreachable: %s", operation, type(exc).__name__)
            raise PaymentGatewayError() from exc
        except Exception as exc:  # wechatpayv3 raises bare Exception for an unverifiable answer
            log.warning("wechat pay v3 %s: %s", operation, exc)
            raise PaymentGatewayError(details={"gateway_code": "reply signature invalid"}) from exc
        data = _json(body)
        if status >= 500 or status == 429:
            log.warning("wechat pay v3 %s failed: %s %s", operation, status, data.get("code"))
            raise PaymentGatewayError(details={"gateway_code": data.get("code") or str(status)})
        return status, data

    def create(self, request: PaymentRequest) -> dict[str, str]:
        """JSAPI order (/v3/pay/transactions/jsapi) → exactly the parameters of ``wx.requestPayment``."""
        if not request.payer_openid:
            raise ValidationFailed.field("channel", "微信支付需要先用微信登录")
        status, data = self._call(
            "jsapi",
            self.client.pay,
            description=_truncate_utf8(request.description, _DESCRIPTION_BYTES),
            out_trade_no=request.out_trade_no,
            amount={"total": request.amount_fen, "currency": "CNY"},
            payer={"openid": request.payer_openid},
            time_expire=request.expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
            notify_url=request.notify_url,
        )
        if status != 200 or not data.get("prepay_id"):
            raise PaymentRejected(data.get("code") or str(status), data.get("message") or "")
        return self.request_payment_params(data["prepay_id"])

    def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        """wx.requestPayment's parameters, paySign = RSA-SHA256 of appId, timeStamp, nonceStr, package."""
        timestamp, nonce_str, package = str(int(time.time())), nonce(), f"prepay_id={prepay_id}"
        pay_sign = self.client.sign([self.appid, timestamp, nonce_str, package])
        return {
            "timeStamp": timestamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        }

    def query(self, out_trade_no: str) -> GatewayTrade:
        """GET /v3/pay/transactions/out-trade-no/{out_trade_no}."""
        check_out_no(out_trade_no)
        status, data = self._call("query", self.client.query, out_trade_no=out_trade_no)
        if status == 404:
            return GatewayTrade(out_trade_no, TradeStatus.NOT_FOUND, raw=data)
        if status != 200:
            raise PaymentRejected(data.get("code") or str(status), data.get("message") or "")
        amount = data.get("amount") or {}
        return GatewayTrade(
            out_trade_no=out_trade_no,
            status=_TRADE_STATES.get(data.get("trade_state"), TradeStatus.PENDING),
            amount_fen=amount.get("total") if isinstance(amount.get("total"), int) else None,
            transaction_id=data.get("transaction_id"),
            paid_at=_time(data.get("success_time")),
            raw=data,
        )

    def close(self, out_trade_no: str) -> CloseOutcome:
        """POST …/close (204); a refusal is judged by the trade's state, since v3 has no "already paid" code."""
        check_out_no(out_trade_no)
        status, data = self._call("close", self.client.close, out_trade_no)
        if status == 204 or data.get("code") == "ORDER_CLOSED":
            return CloseOutcome.CLOSED
        if status == 404:
            return CloseOutcome.NOT_FOUND
        trade = self.query(out_trade_no)
        if trade.status in (TradeStatus.PAID, TradeStatus.REFUNDED):
            return CloseOutcome.ALREADY_PAID
        if trade.status == TradeStatus.CLOSED:
            return CloseOutcome.CLOSED
        if trade.status == TradeStatus.NOT_FOUND:
            return CloseOutcome.NOT_FOUND
        raise PaymentRejected(data.get("code") or str(status), data.get("message") or "")

    def refund(
        self,
        out_trade_no: str,
        out_refund_no: str,
        total_fen: int,
        refund_fen: int,
        reason: str,
        notify_url: str | None = None,
    ) -> RefundResult:
        """POST /v3/refund/domestic/refunds; the same out_refund_no is never refunded twice."""
        check_out_no(out_trade_no)
        check_out_no(out_refund_no, "out_refund_no")
        status, data = self._call(
            "refund",
            self.client.refund,
            out_refund_no=out_refund_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            out_trade_no=out_trade_no,
            reason=reason[:80] or None,
            notify_url=notify_url,
        )
        if status != 200:
            code = data.get("code") or str(status)
            return RefundResult(
                out_refund_no, RefundStatus.FAILED, reason=f"{code}: {data.get('message') or ''}", raw=data
            )
        return self._refund_result(out_refund_no, data)

    def _refund_result(self, out_refund_no: str, data: Mapping[str, Any]) -> RefundResult:
        state = data.get("status") or data.get("refund_status") or ""
        amount = data.get("amount") or {}
        return RefundResult(
            out_refund_no,
            _REFUND_STATES.get(state, RefundStatus.PROCESSING),
            refund_id=data.get("refund_id"),
            amount_fen=amount.get("refund") if isinstance(amount.get("refund"), int) else None,
            reason="" if state in ("SUCCESS", "PROCESSING") else _refund_reason(state),
            raw=dict(data),
        )

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        """GET /v3/refund/domestic/refunds/{out_refund_no}."""
        check_out_no(out_refund_no, "out_refund_no")
        status, data = self._call("query_refund", self.client.query_refund, out_refund_no)
        if status == 404:
            return RefundResult(out_refund_no, RefundStatus.NOT_FOUND, reason=data.get("code") or "RESOURCE_NOT_EXISTS")
        if status != 200:
            raise PaymentRejected(data.get("code") or str(status), data.get("message") or "")
        return self._refund_result(out_refund_no, data)

    def download_bill(self, day: date) -> list[BillRow]:
        """/v3/bill/tradebill (ALL, GZIP) then the file at its download_url, checked against its SHA1."""
        status, data = self._call("tradebill", self.client.trade_bill, day.isoformat(), "ALL", "GZIP")
        if status == 400 and data.get("code") == "NO_STATEMENT_EXIST":
            return []
        url = data.get("download_url") or ""
        if status != 200 or not url.startswith(self.base_url + "/"):
            # wechatpayv3 would send any other URL to the base anyway; refuse rather than guess.
            raise PaymentGatewayError(details={"gateway_code": data.get("code") or "unexpected tradebill answer"})
        try:
            status, body = self.client.download_bill(url)
        except requests.RequestException as exc:
            raise PaymentGatewayError() from exc
        if status != 200 or not isinstance(body, bytes):
            raise PaymentGatewayError(details={"gateway_code": f"bill download answered {status}"})
        try:
            raw = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise PaymentGatewayError(details={"gateway_code": "bill is not gzip"}) from exc
        if data.get("hash_type", "SHA1") != "SHA1" or hashlib.sha1(raw).hexdigest() != data.get("hash_value"):  # noqa: S324 - the protocol's integrity hash
            raise PaymentGatewayError(details={"gateway_code": "bill hash mismatch"})
        return parse_wechat_bill(raw.decode("utf-8"))

    # -- notifications -------------------------------------------------------------------------

    def header_problem(self, headers: Mapping[str, str], now: float | None = None) -> str | None:
        """Why the signature headers alone refuse a notification (checked before the body is looked at)."""
        if _header(headers, "Wechatpay-Serial") != self.public_key_id:
            return "unknown Wechatpay-Serial"
        if _header(headers, "Wechatpay-Signature-Type") not in ("", SIGNATURE_TYPE):
            return "unsupported Wechatpay-Signature-Type"
        try:
            stamp = int(_header(headers, "Wechatpay-Timestamp"))
        except ValueError:
            return "missing Wechatpay-Timestamp"
        if abs((time.time() if now is None else now) - stamp) > MAX_CLOCK_SKEW_SECONDS:
            return "Wechatpay-Timestamp more than 5 minutes off"
        if not _header(headers, "Wechatpay-Signature") or not _header(headers, "Wechatpay-Nonce"):
            return "missing Wechatpay-Signature or Wechatpay-Nonce"
        return None

    def verify_callback(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> dict | str:
        """The decrypted notification (envelope with ``resource`` replaced), or why it is refused.

        The headers are checked first and the signature over the raw bytes next; only a signed body is parsed.
        """
        problem = self.header_problem(headers, now)
        if problem is not None:
            return problem
        stamp = int(_header(headers, "Wechatpay-Timestamp"))
        signed = {
            "Wechatpay-Signature": _header(headers, "Wechatpay-Signature"),
            "Wechatpay-Timestamp": str(stamp),
            "Wechatpay-Nonce": _header(headers, "Wechatpay-Nonce"),
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }
        try:
            text = body.decode("utf-8")
            if not self.client._core._verify_signature(signed, text):
                return "bad signature"
            envelope = json.loads(text)
            algorithm = (envelope.get("resource") or {}).get("algorithm")
            if algorithm != "AEAD_AES_256_GCM":  # the SDK raises a bare Exception for any other
                return f"unsupported resource algorithm {algorithm}"
            resource = self.client.decrypt_callback(signed, text)
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError, RecursionError):
            return "malformed notification"
        if not resource:
            return "cannot decrypt resource"
        try:
            decrypted = json.loads(resource)
        except ValueError:
            return "cannot decrypt resource"
        if not isinstance(decrypted, dict):
            return "malformed resource"
        return {**envelope, "resource": decrypted}

    def claimed_resource(self, body: bytes) -> dict:
        """What an unverified notification claims (for the event log only), if the APIv3 key opens it."""
        try:
            resource = json.loads(body).get("resource") or {}
            plain = aes_decrypt(
                resource["nonce"], resource["ciphertext"], resource.get("associated_data") or "", self.apiv3_key
            )
            claimed = json.loads(plain) if plain else {}
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return {}
        return claimed if isinstance(claimed, dict) else {}

    def parse_event(self, headers: Mapping[str, str], body: bytes) -> Notification | RefundNotification:
        """Verify and decrypt one notification: a payment (TRANSACTION.*) or a refund (REFUND.*)."""
        problem = self.header_problem(headers)
        if problem is not None:  # refused on its headers; the body is only opened for the event log
            return Notification(valid=False, reason=problem, raw=self.claimed_resource(body))
        verified = self.verify_callback(headers, body)
        if isinstance(verified, str):
            return Notification(valid=False, reason=verified, raw=self.claimed_resource(body))
        event_type = verified.get("event_type") or ""
        data = verified["resource"]
        if event_type in _REFUND_EVENTS:
            return self._refund_notification(event_type, data)
        if not event_type.startswith("TRANSACTION."):
            return Notification(valid=False, reason=f"unexpected event_type {event_type}", raw=data)
        if data.get("appid") != self.appid:
            return Notification(valid=False, reason="appid mismatch", app_id=data.get("appid"), raw=data)
        if data.get("mchid") != self.mch_id:
            return Notification(valid=False, reason="mchid mismatch", mch_id=data.get("mchid"), raw=data)
        total = (data.get("amount") or {}).get("total")
        if not data.get("out_trade_no") or not isinstance(total, int) or isinstance(total, bool):
            return Notification(valid=False, reason="missing out_trade_no or amount.total", raw=data)
        return Notification(
            valid=True,
            out_trade_no=data["out_trade_no"],
            transaction_id=data.get("transaction_id"),
            amount_fen=total,
            paid=data.get("trade_state") == "SUCCESS",
            app_id=data["appid"],
            mch_id=data["mchid"],
            raw=data,
        )

    def _refund_notification(self, event_type: str, data: Mapping[str, Any]) -> RefundNotification:
        if data.get("mchid") != self.mch_id:
            return RefundNotification(valid=False, reason="mchid mismatch", raw=data)
        state = data.get("refund_status") or _REFUND_EVENTS[event_type]
        refund = (data.get("amount") or {}).get("refund")
        if not data.get("out_refund_no") or state != _REFUND_EVENTS[event_type]:
            return RefundNotification(valid=False, reason="malformed refund resource", raw=data)
        return RefundNotification(
            valid=True,
            out_trade_no=data.get("out_trade_no"),
            out_refund_no=data["out_refund_no"],
            refund_id=data.get("refund_id"),
            amount_fen=refund if isinstance(refund, int) else None,
            status=_REFUND_STATES[state],
            reason="" if state == "SUCCESS" else _refund_reason(state),
            raw=dict(data),
        )

    def parse_notification(
        self,
        body: bytes,
        content_type: str | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Notification:
        """Verify a payment notification (refund notifications are not payments: refused here)."""
        note = self.parse_event(headers or {}, body)
        if isinstance(note, RefundNotification):
            return Notification(valid=False, reason="a refund notification, not a payment", raw=note.raw)
        return note

    def ack(self, ok: bool, message: str = "", status: int = 400) -> Ack:
        """204 without a body stops WeChat; 4xx/5xx with {"code": "FAIL", "message"} makes it retry."""
        if ok:
            return "", 204, "text/plain; charset=utf-8"
        body = json.dumps({"code": "FAIL", "message": message or "失败"}, ensure_ascii=False)
        return body, status, "application/json; charset=utf-8"


def _refund_reason(state: str) -> str:
    return {
        "ABNORMAL": "ABNORMAL：退款到用户银行卡失败，请在商户平台发起异常退款",
        "CLOSED": "CLOSED：退款已关闭",
    }.get(state, state)
