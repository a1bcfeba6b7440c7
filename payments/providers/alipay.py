"""Alipay (alipay_mini, alipay_wap) through the official alipay-sdk-python, RSA2, at ALIPAY_SERVER_URL."""

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from alipay.aop.api.domain.AlipayTradeCloseModel import AlipayTradeCloseModel
from alipay.aop.api.domain.AlipayTradeCreateModel import AlipayTradeCreateModel
from alipay.aop.api.domain.AlipayTradeFastpayRefundQueryModel import AlipayTradeFastpayRefundQueryModel
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
from alipay.aop.api.domain.AlipayTradeWapPayModel import AlipayTradeWapPayModel
from alipay.aop.api.exception.Exception import RequestException, ResponseException
from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest
from alipay.aop.api.request.AlipayTradeCreateRequest import AlipayTradeCreateRequest
from alipay.aop.api.request.AlipayTradeFastpayRefundQueryRequest import AlipayTradeFastpayRefundQueryRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.request.AlipayTradeWapPayRequest import AlipayTradeWapPayRequest
from alipay.aop.api.response.AlipayResponse import AlipayResponse
from alipay.aop.api.response.AlipayTradeCloseResponse import AlipayTradeCloseResponse
from alipay.aop.api.response.AlipayTradeCreateResponse import AlipayTradeCreateResponse
from alipay.aop.api.response.AlipayTradeFastpayRefundQueryResponse import (
    AlipayTradeFastpayRefundQueryResponse,
)
from alipay.aop.api.response.AlipayTradeQueryResponse import AlipayTradeQueryResponse
from alipay.aop.api.response.AlipayTradeRefundResponse import AlipayTradeRefundResponse

from core.clock import BEIJING
from core.errors import ValidationFailed
from core.gateway_settings import require_secret
from payments.money import fen_to_yuan, yuan_to_fen
from payments.providers.alipay_adapter import build_client, spki_public_key, verify_rsa2
from payments.providers.alipay_funds import AlipayFunds
from payments.providers.base import (
    Ack,
    Channel,
    CloseOutcome,
    GatewayTrade,
    Notification,
    PaymentGatewayError,
    PaymentRejected,
    PaymentRequest,
    RefundResult,
    RefundStatus,
    TradeStatus,
    check_out_no,
)

log = logging.getLogger(__name__)

_TRADE_STATES = {
    "WAIT_BUYER_PAY": TradeStatus.PENDING,
    "TRADE_SUCCESS": TradeStatus.PAID,
    "TRADE_FINISHED": TradeStatus.PAID,
}
_PAID_STATES = {"TRADE_SUCCESS", "TRADE_FINISHED"}
# Answers that mean the request never became a business decision: retry later or fix the setup.
_NOT_BUSINESS_CODES = {"20000", "20001", "40001", "40002", "40003", "40006"}
_RETRYABLE_SUB_CODES = {"ACQ.SYSTEM_ERROR", "SYSTEM_ERROR", "ACQ.RETRY_LATER"}


def alipay_time(moment: datetime) -> str:
    """Alipay's "yyyy-MM-dd HH:mm:ss" in Beijing time."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def parse_alipay_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)


def sign_content(params: Mapping[str, str]) -> str:
    """What Alipay signs in a notification: sorted k=v of every non-empty field but sign and sign_type."""
    return "&".join(
        f"{key}={value}" for key, value in sorted(params.items()) if key not in ("sign", "sign_type") and value
    )


class AlipayProvider(AlipayFunds):
    """The ``alipay_mini`` and ``alipay_wap`` channels, plus transfers, bills and login (``AlipayFunds``)."""

    def __init__(self, config: Mapping[str, Any], channel: Channel = Channel.ALIPAY_WAP):
        self.channel = channel
        self.app_id = require_secret("ALIPAY_APP_ID", config["ALIPAY_APP_ID"])
        self.seller_id = config.get("ALIPAY_SELLER_ID") or ""
        self.public_base_url = config.get("PUBLIC_BASE_URL", "")
        self.timeout = config.get("PAYMENT_HTTP_TIMEOUT", 10)
        # Refused empty before any use: a notification is only ever checked against Alipay's real key.
        self.alipay_public_key = spki_public_key(require_secret("ALIPAY_PUBLIC_KEY", config["ALIPAY_PUBLIC_KEY"]))
        self.client = build_client(
            app_id=self.app_id,
            app_private_key=require_secret("ALIPAY_APP_PRIVATE_KEY", config["ALIPAY_APP_PRIVATE_KEY"]),
            alipay_public_key=self.alipay_public_key,
            server_url=config["ALIPAY_SERVER_URL"],
            timeout=self.timeout,
        )

    def _execute(self, request, response: AlipayResponse) -> tuple[AlipayResponse, dict]:
        """Run one SDK call; transport, signature, setup and system errors become PaymentGatewayError."""
        method = request.get_params()["method"]
        try:
            content = self.client.execute(request)
            response.parse_response_content(content)
            raw = json.loads(content)
        except (RequestException, ResponseException, OSError, ValueError) as exc:
            log.warning("alipay %s failed: %s", method, type(exc).__name__)
            raise PaymentGatewayError() from exc
        unusable = response.code in _NOT_BUSINESS_CODES or response.sub_code in _RETRYABLE_SUB_CODES
        if unusable and response.sub_code != "isv.code-invalid":  # a bad login code is the caller's business
            log.warning("alipay %s answered %s %s", method, response.code, response.sub_code)
            raise PaymentGatewayError(details={"gateway_code": response.sub_code or response.code})
        return response, raw

    @staticmethod
    def _rejected(response: AlipayResponse) -> PaymentRejected:
        return PaymentRejected(response.sub_code or response.code or "", response.sub_msg or response.msg or "")

    # -- payments ------------------------------------------------------------------------------

    def create(self, request: PaymentRequest) -> dict[str, str]:
        """alipay_mini: alipay.trade.create → {"trade_no"}; alipay_wap: alipay.trade.wap.pay → {"url"}."""
        if self.channel == Channel.ALIPAY_MINI:
            return self._create_mini(request)
        if self.channel == Channel.ALIPAY_WAP:
            return self._create_wap(request)
        raise ValueError(f"{self.channel} cannot take payments")

    def _create_mini(self, request: PaymentRequest) -> dict[str, str]:
        if not (request.payer_alipay_user_id or request.payer_alipay_open_id):
            raise ValidationFailed.field("channel", "支付宝小程序支付需要先用支付宝登录")
        model = AlipayTradeCreateModel()
        model.out_trade_no = request.out_trade_no
        model.total_amount = fen_to_yuan(request.amount_fen)
        model.subject = request.description[:256]
        model.product_code = "JSAPI_PAY"
        model.time_expire = alipay_time(request.expires_at)
        if request.payer_alipay_user_id:
            model.buyer_id = request.payer_alipay_user_id
        else:
            model.buyer_open_id = request.payer_alipay_open_id
        call = AlipayTradeCreateRequest(biz_model=model)
        call.notify_url = request.notify_url
        response, _ = self._execute(call, AlipayTradeCreateResponse())
        if response.code != "10000" or not response.trade_no:
            raise self._rejected(response)
        return {"trade_no": response.trade_no}

    def _create_wap(self, request: PaymentRequest) -> dict[str, str]:
        model = AlipayTradeWapPayModel()
        model.out_trade_no = request.out_trade_no
        model.total_amount = fen_to_yuan(request.amount_fen)
        model.subject = request.description[:256]
        model.product_code = "QUICK_WAP_WAY"
        model.time_expire = alipay_time(request.expires_at)
        model.quit_url = self.public_base_url + "/"
        call = AlipayTradeWapPayRequest(biz_model=model)
        call.notify_url = request.notify_url
        return {"url": self.client.page_execute(call, http_method="GET")}

    def query(self, out_trade_no: str) -> GatewayTrade:
        """alipay.trade.query; a wap trade does not exist until the buyer opens the cashier."""
        model = AlipayTradeQueryModel()
        model.out_trade_no = check_out_no(out_trade_no)
        response, raw = self._execute(AlipayTradeQueryRequest(biz_model=model), AlipayTradeQueryResponse())
        if response.sub_code == "ACQ.TRADE_NOT_EXIST":
            return GatewayTrade(out_trade_no, TradeStatus.NOT_FOUND, raw=raw)
        if response.code != "10000":
            raise self._rejected(response)
        paid_at = parse_alipay_time(response.send_pay_date)
        status = _TRADE_STATES.get(response.trade_status)
        if status is None:  # TRADE_CLOSED: never paid, or paid and then fully refunded
            status = TradeStatus.REFUNDED if paid_at else TradeStatus.CLOSED
        return GatewayTrade(
            out_trade_no=out_trade_no,
            status=status,
            amount_fen=yuan_to_fen(response.total_amount) if response.total_amount else None,
            transaction_id=response.trade_no,
            paid_at=paid_at,
            raw=raw,
        )

    def close(self, out_trade_no: str) -> CloseOutcome:
        """alipay.trade.close; an already closed or never opened trade is fine."""
        model = AlipayTradeCloseModel()
        model.out_trade_no = check_out_no(out_trade_no)
        response, _ = self._execute(AlipayTradeCloseRequest(biz_model=model), AlipayTradeCloseResponse())
        if response.code == "10000":
            return CloseOutcome.CLOSED
        if response.sub_code == "ACQ.TRADE_NOT_EXIST":
            return CloseOutcome.NOT_FOUND
        if response.sub_code == "ACQ.TRADE_STATUS_ERROR":
            state = self.query(out_trade_no).status
            paid = state in (TradeStatus.PAID, TradeStatus.REFUNDED)
            return CloseOutcome.ALREADY_PAID if paid else CloseOutcome.CLOSED
        raise self._rejected(response)

    def refund(
        self, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult:
        """alipay.trade.refund with out_request_no; Alipay answers synchronously."""
        if not 0 < refund_fen <= total_fen:
            raise ValueError("refund_fen must be positive and at most total_fen")
        model = AlipayTradeRefundModel()
        model.out_trade_no = check_out_no(out_trade_no)
        model.out_request_no = check_out_no(out_refund_no, "out_refund_no")
        model.refund_amount = fen_to_yuan(refund_fen)
        model.refund_reason = reason[:256] or None
        response, raw = self._execute(AlipayTradeRefundRequest(biz_model=model), AlipayTradeRefundResponse())
        if response.code != "10000":
            return RefundResult(
                out_refund_no, RefundStatus.FAILED, reason=f"{response.sub_code}: {response.sub_msg or ''}", raw=raw
            )
        return RefundResult(
            out_refund_no, RefundStatus.SUCCESS, refund_id=response.trade_no, amount_fen=refund_fen, raw=raw
        )

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        """alipay.trade.fastpay.refund.query: found with REFUND_SUCCESS (or no status) means refunded."""
        model = AlipayTradeFastpayRefundQueryModel()
        model.out_trade_no = check_out_no(out_trade_no)
        model.out_request_no = check_out_no(out_refund_no, "out_refund_no")
        response, raw = self._execute(
            AlipayTradeFastpayRefundQueryRequest(biz_model=model), AlipayTradeFastpayRefundQueryResponse()
        )
        if response.sub_code == "ACQ.TRADE_NOT_EXIST" or (response.code == "10000" and not response.refund_amount):
            return RefundResult(out_refund_no, RefundStatus.NOT_FOUND, raw=raw)
        if response.code != "10000":
            raise self._rejected(response)
        succeeded = response.refund_status in (None, "", "REFUND_SUCCESS")
        return RefundResult(
            out_refund_no,
            RefundStatus.SUCCESS if succeeded else RefundStatus.PROCESSING,
            refund_id=response.trade_no,
            amount_fen=yuan_to_fen(response.refund_amount),
            raw=raw,
        )

    # -- notifications -------------------------------------------------------------------------

    def parse_notification(
        self, body: bytes, content_type: str | None = None, form: Mapping[str, str] | None = None
    ) -> Notification:
        """Verify an asynchronous notification (form post, RSA2 over the sorted fields)."""
        try:
            params = dict(form) if form else dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError):
            return Notification(valid=False, reason="malformed notification")
        if not params.get("sign"):
            return Notification(valid=False, reason="unsigned notification", raw=params)
        if params.get("sign_type") != "RSA2":
            return Notification(valid=False, reason="unexpected sign_type", raw=params)
        if not verify_rsa2(self.alipay_public_key, sign_content(params), params["sign"]):
            return Notification(valid=False, reason="bad signature", raw=params)
        app_id, seller_id = params.get("app_id"), params.get("seller_id")
        if app_id != self.app_id:
            return Notification(valid=False, reason="app_id mismatch", app_id=app_id, raw=params)
        if self.seller_id and seller_id != self.seller_id:
            return Notification(valid=False, reason="seller_id mismatch", mch_id=seller_id, raw=params)
        try:
            amount_fen = yuan_to_fen(params.get("total_amount", ""))
        except ValueError:
            return Notification(valid=False, reason="bad total_amount", raw=params)
        if not params.get("out_trade_no"):
            return Notification(valid=False, reason="missing out_trade_no", raw=params)
        return Notification(
            valid=True,
            out_trade_no=params["out_trade_no"],
            transaction_id=params.get("trade_no"),
            amount_fen=amount_fen,
            paid=params.get("trade_status") in _PAID_STATES,
            app_id=app_id,
            mch_id=seller_id,
            raw=params,
        )

    def ack(self, ok: bool) -> Ack:
        """Alipay stops retrying only on the exact body "success"."""
        return ("success", 200, "text/plain; charset=utf-8") if ok else ("fail", 400, "text/plain; charset=utf-8")
