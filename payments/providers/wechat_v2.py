"""WeChat Pay API v2 (JSAPI in the mini-program) through wechatpy, pinned to WECHAT_PAY_BASE_URL."""

import logging
import secrets
import string
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from xml.parsers.expat import ExpatError

import requests
import xmltodict
from wechatpy.exceptions import (
    InvalidAppIdException,
    InvalidMchIdException,
    InvalidSignatureException,
    WeChatPayException,
)
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import _check_signature

from core.clock import BEIJING
from core.errors import ValidationFailed
from core.gateway_settings import WECHAT_V2_API_KEY_LENGTH, require_secret
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

log = logging.getLogger(__name__)

REAL_PAY_BASE = "https://api.mch.weixin.qq.com/"
_NONCE_ALPHABET = string.ascii_letters + string.digits
_TRADE_STATES = {
    "SUCCESS": TradeStatus.PAID,
    "REFUND": TradeStatus.REFUNDED,
    "NOTPAY": TradeStatus.PENDING,
    "USERPAYING": TradeStatus.PENDING,
    "CLOSED": TradeStatus.CLOSED,
    "REVOKED": TradeStatus.CLOSED,
    "PAYERROR": TradeStatus.CLOSED,
}
_REFUND_STATES = {
    "SUCCESS": RefundStatus.SUCCESS,
    "PROCESSING": RefundStatus.PROCESSING,
    "REFUNDCLOSE": RefundStatus.FAILED,
    "CHANGE": RefundStatus.FAILED,
}
# Business answers that mean "try again later with the same numbers", not "refused".
_RETRYABLE = {"SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED", "INVALID_REQ_TOO_MUCH"}
_BODY_BYTES = 128


def nonce(length: int = 32) -> str:
    """A random string for nonce_str / nonceStr, from ``secrets``."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def _beijing(stamp: str | None) -> datetime | None:
    """yyyyMMddHHmmss (Beijing) → aware datetime."""
    if not stamp:
        return None
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)


class PinnedWeChatPay(WeChatPay):
    """wechatpy's WeChatPay with every request sent to ``base_url``, ``secrets`` nonces and signed replies.

    wechatpy keeps its base in the class attribute ``API_BASE_URL`` and reads it
    through ``self`` for every endpoint, so an instance attribute redirects them
    all. It does not verify the signature of the gateway's replies; this does.
    """

    def __init__(self, appid, api_key, mch_id, base_url, mch_cert=None, mch_key=None, timeout=10):
        super().__init__(appid, api_key, mch_id, mch_cert=mch_cert, mch_key=mch_key, timeout=timeout, sandbox=False)
        self.API_BASE_URL = base_url.rstrip("/") + "/"

    def _request(self, method, url_or_endpoint, **kwargs):
        data = kwargs.get("data")
        if isinstance(data, dict):
            data.setdefault("nonce_str", nonce())
        return super()._request(method, url_or_endpoint, **kwargs)

    def _handle_result(self, res):
        res.encoding = "utf-8"
        try:
            data = xmltodict.parse(res.text).get("xml")
        except (xmltodict.ParsingInterrupted, ExpatError):
            return res.text  # downloadbill answers plain text on success
        signed = isinstance(data, dict) and data.get("return_code") == "SUCCESS"
        if signed and not _check_signature(data, self.api_key):
            raise WeChatPayException("FAIL", return_msg="reply signature invalid", client=self)
        return super()._handle_result(res)


class WeChatPayV2Provider:
    """The ``wechat_jsapi`` channel."""

    channel = Channel.WECHAT_JSAPI

    def __init__(self, config: Mapping[str, Any]):
        self.appid = require_secret("WECHAT_APPID", config["WECHAT_APPID"])
        self.mch_id = require_secret("WECHAT_PAY_MCH_ID", config["WECHAT_PAY_MCH_ID"])
        # wechatpy signs and verifies with whatever key it is given; an empty one makes a signature
        # anybody can compute (MD5 of the fields alone), so it is refused before any use.
        api_key = require_secret("WECHAT_PAY_API_KEY", config["WECHAT_PAY_API_KEY"], WECHAT_V2_API_KEY_LENGTH)
        self.client = PinnedWeChatPay(
            appid=self.appid,
            api_key=api_key,
            mch_id=self.mch_id,
            base_url=config["WECHAT_PAY_BASE_URL"],
            mch_cert=config.get("WECHAT_PAY_CERT_PATH"),
            mch_key=config.get("WECHAT_PAY_KEY_PATH"),
            timeout=config.get("PAYMENT_HTTP_TIMEOUT", 10),
        )

    # -- calls -------------------------------------------------------------------------------

    def _call(self, operation: str, function, *args, **kwargs) -> Any:
        """Run one wechatpy call; transport trouble becomes PaymentGatewayError."""
        try:
            return function(*args, **kwargs)
        except WeChatPayException as exc:
            if exc.return_code == "SUCCESS" and exc.errcode and exc.errcode not in _RETRYABLE:
                raise  # a business answer: the caller decides
            log.warning("wechat pay %s failed: %s %s", operation, exc.return_code, exc.errcode)
            raise PaymentGatewayError(details={"gateway_code": exc.errcode or exc.return_code}) from exc
        except requests.RequestException as exc:
            log.warning("wechat pay %s unreachable: %s", operation, type(exc).__name__)
            raise PaymentGatewayError() from exc

    def create(self, request: PaymentRequest) -> dict[str, str]:
        """Unified order (JSAPI) → exactly the parameters of ``wx.requestPayment``."""
        if not request.payer_openid:
            raise ValidationFailed.field("channel", "微信支付需要先用微信登录")
        try:
            answer = self._call(
                "unifiedorder",
                self.client.order.create,
                trade_type="JSAPI",
                body=_truncate_utf8(request.description, _BODY_BYTES),
                total_fee=request.amount_fen,
                notify_url=request.notify_url,
                client_ip=request.client_ip,
                user_id=request.payer_openid,
                out_trade_no=request.out_trade_no,
                time_expire=request.expires_at.astimezone(BEIJING),
            )
        except WeChatPayException as exc:
            raise PaymentRejected(exc.errcode, exc.errmsg or "") from exc
        params = self.client.jsapi.get_jsapi_params(
            answer["prepay_id"], timestamp=str(int(time.time())), nonce_str=nonce()
        )
        params.pop("appId")  # signed over, but wx.requestPayment takes the app id from the mini-program
        return params

    def query(self, out_trade_no: str) -> GatewayTrade:
        """pay/orderquery."""
        check_out_no(out_trade_no)
        try:
            data = self._call("orderquery", self.client.order.query, out_trade_no=out_trade_no)
        except WeChatPayException as exc:
            if exc.errcode == "ORDERNOTEXIST":
                return GatewayTrade(out_trade_no, TradeStatus.NOT_FOUND, raw={"err_code": exc.errcode})
            raise PaymentRejected(exc.errcode, exc.errmsg or "") from exc
        state = _TRADE_STATES.get(data.get("trade_state"), TradeStatus.PENDING)
        return GatewayTrade(
            out_trade_no=out_trade_no,
            status=state,
            amount_fen=int(data["total_fee"]) if data.get("total_fee") else None,
            transaction_id=data.get("transaction_id"),
            paid_at=_beijing(data.get("time_end")),
            raw=dict(data),
        )

    def close(self, out_trade_no: str) -> CloseOutcome:
        """pay/closeorder; closing twice is fine."""
        check_out_no(out_trade_no)
        try:
            self._call("closeorder", self.client.order.close, out_trade_no)
        except WeChatPayException as exc:
            outcome = {
                "ORDERPAID": CloseOutcome.ALREADY_PAID,
                "ORDERCLOSED": CloseOutcome.CLOSED,
                "ORDERNOTEXIST": CloseOutcome.NOT_FOUND,
            }
            if exc.errcode in outcome:
                return outcome[exc.errcode]
            raise PaymentRejected(exc.errcode, exc.errmsg or "") from exc
        return CloseOutcome.CLOSED

    def refund(
        self,
        out_trade_no: str,
        out_refund_no: str,
        total_fen: int,
        refund_fen: int,
        reason: str,
        notify_url: str | None = None,
    ) -> RefundResult:
        """secapi/pay/refund: an accepted refund is ``processing`` until a query or notification says more."""
        check_out_no(out_trade_no)
        check_out_no(out_refund_no, "out_refund_no")
        try:
            data = self._call(
                "refund",
                self.client.refund.apply,
                total_fee=total_fen,
                refund_fee=refund_fen,
                out_refund_no=out_refund_no,
                out_trade_no=out_trade_no,
                refund_desc=reason[:80] or None,
                notify_url=notify_url,
            )
        except WeChatPayException as exc:
            return RefundResult(
                out_refund_no,
                RefundStatus.FAILED,
                reason=f"{exc.errcode}: {exc.errmsg or ''}",
                raw={"err_code": exc.errcode, "err_code_des": exc.errmsg},
            )
        return RefundResult(
            out_refund_no,
            RefundStatus.PROCESSING,
            refund_id=data.get("refund_id"),
            amount_fen=int(data["refund_fee"]),
            raw=dict(data),
        )

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        """pay/refundquery by out_refund_no."""
        check_out_no(out_refund_no, "out_refund_no")
        try:
            data = self._call("refundquery", self.client.refund.query, out_refund_no=out_refund_no)
        except WeChatPayException as exc:
            if exc.errcode == "REFUNDNOTEXIST":
                return RefundResult(out_refund_no, RefundStatus.NOT_FOUND, reason=exc.errcode)
            raise PaymentRejected(exc.errcode, exc.errmsg or "") from exc
        count = int(data.get("refund_count") or 0)
        index = next((i for i in range(count) if data.get(f"out_refund_no_{i}") == out_refund_no), None)
        if index is None:
            return RefundResult(out_refund_no, RefundStatus.NOT_FOUND, raw=dict(data))
        status = data.get(f"refund_status_{index}", "")
        return RefundResult(
            out_refund_no,
            _REFUND_STATES.get(status, RefundStatus.PROCESSING),
            refund_id=data.get(f"refund_id_{index}"),
            amount_fen=int(data[f"refund_fee_{index}"]),
            reason="" if status in ("SUCCESS", "PROCESSING") else status,
            raw=dict(data),
        )

    def download_bill(self, day: date) -> list[BillRow]:
        """pay/downloadbill (ALL) for one Beijing day; a day without a bill is empty."""
        try:
            text = self.client.tools.download_bill(day, bill_type="ALL")
        except WeChatPayException as exc:
            if exc.return_msg == "No Bill Exist":
                return []
            log.warning("wechat pay downloadbill failed: %s", exc.return_msg)
            raise PaymentGatewayError(details={"gateway_code": exc.return_msg}) from exc
        except requests.RequestException as exc:
            raise PaymentGatewayError() from exc
        if not isinstance(text, str):
            raise PaymentGatewayError(details={"gateway_code": "unexpected bill reply"})
        return parse_wechat_bill(text)

    # -- notifications -------------------------------------------------------------------------

    def parse_notification(
        self, body: bytes, content_type: str | None = None, form: Mapping[str, str] | None = None
    ) -> Notification:
        """Verify a payment notification (XML, MD5-signed with the merchant key)."""
        try:
            data = self.client.parse_payment_result(body)
        except InvalidSignatureException:
            return Notification(valid=False, reason="bad signature or malformed XML")
        except (ValueError, TypeError, AttributeError):
            return Notification(valid=False, reason="malformed notification")
        if not isinstance(data, dict):
            return Notification(valid=False, reason="malformed notification")
        raw = dict(data)
        if data.get("sign_type", "MD5") != "MD5":
            return Notification(valid=False, reason="unexpected sign_type", raw=raw)
        if data.get("return_code") != "SUCCESS":
            return Notification(valid=False, reason="return_code is not SUCCESS", raw=raw)
        if data.get("appid") != self.appid:
            return Notification(valid=False, reason="appid mismatch", app_id=data.get("appid"), raw=raw)
        if data.get("mch_id") != self.mch_id:
            return Notification(valid=False, reason="mch_id mismatch", mch_id=data.get("mch_id"), raw=raw)
        out_trade_no = data.get("out_trade_no")
        total_fee = data.get("total_fee")
        if not out_trade_no or not isinstance(total_fee, int):
            return Notification(valid=False, reason="missing out_trade_no or total_fee", raw=raw)
        return Notification(
            valid=True,
            out_trade_no=out_trade_no,
            transaction_id=data.get("transaction_id"),
            amount_fen=total_fee,
            paid=data.get("result_code") == "SUCCESS",
            app_id=data["appid"],
            mch_id=data["mch_id"],
            raw=raw,
        )

    def parse_refund_notification(self, body: bytes) -> RefundNotification:
        """Decrypt and check a refund notification (req_info, AES-256-ECB with md5(key))."""
        try:
            data = self.client.parse_refund_notify_result(body)
        except InvalidAppIdException:
            return RefundNotification(valid=False, reason="appid mismatch")
        except InvalidMchIdException:
            return RefundNotification(valid=False, reason="mch_id mismatch")
        except (ExpatError, xmltodict.ParsingInterrupted, KeyError, TypeError, ValueError, IndexError):
            return RefundNotification(valid=False, reason="cannot decrypt req_info")
        if not isinstance(data, dict) or not data.get("out_refund_no"):
            return RefundNotification(valid=False, reason="malformed req_info")
        status = data.get("refund_status")
        return RefundNotification(
            valid=True,
            out_trade_no=data.get("out_trade_no"),
            out_refund_no=data["out_refund_no"],
            refund_id=data.get("refund_id"),
            amount_fen=data.get("refund_fee"),
            status=RefundStatus.SUCCESS if status == "SUCCESS" else RefundStatus.FAILED,
            reason="" if status == "SUCCESS" else str(status),
            raw=dict(data),
        )

    def ack(self, ok: bool, message: str = "") -> Ack:
        """WeChat's XML reply; anything but SUCCESS makes it retry."""
        code, msg = ("SUCCESS", "OK") if ok else ("FAIL", message or "rejected")
        body = f"<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{msg}]]></return_msg></xml>"
        return body, 200 if ok else 400, "text/xml; charset=utf-8"
