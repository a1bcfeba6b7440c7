"""The one payment-provider interface and the plain values it trades in."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from core.errors import AppError, UpstreamUnavailable
from core.vocabulary import LabelledEnum


class Gateway(StrEnum):
    """Who runs the money: the company behind one or more channels (also ``PaymentEvent.channel``)."""

    WECHAT = "wechat"
    ALIPAY = "alipay"


class Channel(LabelledEnum):
    """How a buyer pays (``Payment.channel``, ``Order.paid_channel``); each online one names one provider.

    Defined here rather than beside the Payment model because the provider
    interface and the gateway simulator speak it too, without the models.
    """

    WECHAT_JSAPI = "wechat_jsapi", "微信支付"  # wx.requestPayment in the WeChat mini-program
    ALIPAY_MINI = "alipay_mini", "支付宝小程序"  # my.tradePay in the Alipay mini-program
    ALIPAY_WAP = "alipay_wap", "支付宝手机网站"  # Alipay's mobile web cashier
    # 对公转账 of a unit order, recorded by the county centre (institutions.transfers): no gateway.
    BANK_TRANSFER = "bank_transfer", "对公转账"

    @property
    def gateway(self) -> Gateway | None:
        if self is Channel.BANK_TRANSFER:
            return None
        return Gateway.WECHAT if self is Channel.WECHAT_JSAPI else Gateway.ALIPAY


# The channels a buyer opens a payment with (POST /orders/<id>/payments): those a gateway runs.
CHANNELS: tuple[Channel, ...] = tuple(c for c in Channel if c.gateway is not None)
GATEWAY_CHANNELS = {gateway: tuple(c for c in Channel if c.gateway is gateway) for gateway in Gateway}


class TradeStatus(StrEnum):
    """What a gateway says about a payment."""

    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"
    REFUNDED = "refunded"  # paid, then (partly) refunded
    NOT_FOUND = "not_found"


class RefundStatus(StrEnum):
    """What a gateway says about a refund.

    NOT_FOUND: the gateway has no such refund/transfer, so it is safe to apply
    again with the same number (likewise for TransferStatus).
    """

    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"
    NOT_FOUND = "not_found"


class TransferStatus(StrEnum):
    """What Alipay says about a payout transfer."""

    SUCCESS = "success"
    FAILED = "failed"
    PROCESSING = "processing"
    NOT_FOUND = "not_found"


class CloseOutcome(StrEnum):
    CLOSED = "closed"
    ALREADY_PAID = "already_paid"
    NOT_FOUND = "not_found"


# (body, HTTP status, content type) of the reply to a gateway's notification.
Ack = tuple[str, int, str]

OUT_NO = re.compile(r"[0-9A-Za-z_]{1,32}")


class PaymentGatewayError(UpstreamUnavailable):
    """A payment gateway could not be reached or answered something unusable; safe to retry later."""

    message = "支付渠道暂时不可用，请稍后再试"


class PaymentRejected(AppError):
    """The gateway understood the request and refused it (its code is in ``details``)."""

    status, code, message = 409, "invalid_state", "支付渠道拒绝了该请求"

    def __init__(self, gateway_code: str, gateway_message: str = ""):
        super().__init__(
            f"支付渠道拒绝了该请求：{gateway_message or gateway_code}",
            details={"gateway_code": gateway_code, "gateway_message": gateway_message},
        )
        self.gateway_code = gateway_code
        self.gateway_message = gateway_message


def check_out_no(value: str, name: str = "out_trade_no") -> str:
    """Merchant numbers are 1–32 characters of [0-9A-Za-z_] on both gateways."""
    if not isinstance(value, str) or not OUT_NO.fullmatch(value):
        raise ValueError(f"{name} must be 1-32 characters of [0-9A-Za-z_]")
    return value


@dataclass(frozen=True)
class PaymentRequest:
    """One payment attempt to open at a gateway."""

    out_trade_no: str
    amount_fen: int
    description: str
    expires_at: datetime
    client_ip: str
    notify_url: str
    payer_openid: str | None = None
    payer_alipay_user_id: str | None = None
    payer_alipay_open_id: str | None = None

    def __post_init__(self) -> None:
        check_out_no(self.out_trade_no)
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int) or self.amount_fen <= 0:
            raise ValueError("amount_fen must be a positive int")
        if self.expires_at.tzinfo is None or self.expires_at.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        if not self.description.strip():
            raise ValueError("description must not be blank")


@dataclass(frozen=True)
class GatewayTrade:
    """What the gateway says about a payment."""

    out_trade_no: str
    status: TradeStatus
    amount_fen: int | None = None
    transaction_id: str | None = None
    paid_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A verified (or rejected, with ``reason``) asynchronous payment notification."""

    valid: bool
    reason: str = ""
    out_trade_no: str | None = None
    transaction_id: str | None = None
    amount_fen: int | None = None
    paid: bool = False
    app_id: str | None = None
    mch_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    """The state of one refund (``out_refund_no``) at the gateway."""

    out_refund_no: str
    status: RefundStatus
    refund_id: str | None = None
    amount_fen: int | None = None
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundNotification:
    """A verified (or rejected) asynchronous refund notification."""

    valid: bool
    reason: str = ""
    out_trade_no: str | None = None
    out_refund_no: str | None = None
    refund_id: str | None = None
    amount_fen: int | None = None
    status: RefundStatus | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferResult:
    """The state of one payout transfer (``out_biz_no``)."""

    out_biz_no: str
    status: TransferStatus
    order_id: str | None = None
    reason: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BillRow:
    """One line of a gateway's daily bill: a payment (``refund_fen`` 0) or a refund (``amount_fen`` 0)."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int
    status: TradeStatus  # PAID for a payment, REFUNDED for a refund
    refund_fen: int
    at: datetime
    out_refund_no: str | None = None


@runtime_checkable
class PaymentProvider(Protocol):
    """What every channel offers; implementations are picked by ``get_provider``."""

    channel: str

    def create(self, request: PaymentRequest) -> dict[str, str]:
        """Open the payment; returns the parameters the client needs to pay."""
        ...

    def query(self, out_trade_no: str) -> GatewayTrade:
        """Ask the gateway for the payment's state."""
        ...

    def close(self, out_trade_no: str) -> CloseOutcome:
        """Close an unpaid payment so it can no longer be paid."""
        ...

    def refund(
        self, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> RefundResult:
        """Apply for a refund; repeating the same ``out_refund_no`` never refunds twice."""
        ...

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> RefundResult:
        """Ask the gateway for a refund's state."""
        ...

    def parse_notification(self, body: bytes, content_type: str | None, form: Mapping[str, str] | None) -> Notification:
        """Verify a payment notification; never raises on bad input."""
        ...

    def ack(self, ok: bool) -> Ack:
        """The reply that tells the gateway to stop (ok) or keep retrying."""
        ...

    def download_bill(self, day: date) -> list[BillRow]:
        """The gateway's bill for one day (Beijing time)."""
        ...
