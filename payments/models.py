"""Payment attempts, the raw gateway event log, gateway refunds and shipping uploads."""

from datetime import datetime
from enum import IntEnum, StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from payments.providers.base import Channel


class PaymentStatus(StrEnum):
    PENDING = "pending"  # opened at the gateway, not paid yet
    PAID = "paid"
    CLOSED = "closed"  # closed unpaid (order cancelled or expired)
    FAILED = "failed"


class GatewayRefundStatus(StrEnum):
    PENDING = "pending"  # recorded, not yet accepted by the gateway (sent after the commit, retried)
    PROCESSING = "processing"  # accepted, outcome not known yet
    SUCCESS = "success"
    FAILED = "failed"


class EventSource(StrEnum):
    """What kind of gateway message a PaymentEvent keeps."""

    NOTIFICATION = "notification"
    QUERY = "query"  # the answer to our query
    REFUND_NOTIFICATION = "refund_notification"


class ApplyOutcome(StrEnum):
    """What applying a gateway's "paid" did (also the ``PaymentEvent.outcome`` it is logged with)."""

    APPLIED = "applied"  # the payment and its order are paid, the money split into the parties' buckets
    DUPLICATE = "duplicate"  # already paid: nothing changed
    REFUNDED_AUTOMATICALLY = "refunded_automatically"  # the order could not take it: the money goes back


class ShippingUploadStatus(StrEnum):
    PENDING = "pending"
    UPLOADED = "uploaded"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS


class Payment(db.Model):
    """One attempt to pay an order through one channel (one ``out_trade_no``)."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", PaymentStatus), name="known_status"),
        sa.CheckConstraint(one_of("channel", Channel), name="known_channel"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.Index("ix_payments_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(sa.String(20))  # payments.providers.Channel
    out_trade_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    amount_fen: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=PaymentStatus.PENDING)
    # The gateway's own number once paid (WeChat transaction_id / Alipay trade_no).
    transaction_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # What the client needs to pay (wx.requestPayment params, trade_no or URL).
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentEvent(db.Model):
    """Every notification and query answer as received, with how it was judged (append-only)."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(20))  # the Gateway (wechat, alipay)
    source: Mapped[str] = mapped_column(sa.String(24))  # EventSource
    out_trade_no: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    raw: Mapped[str] = mapped_column(sa.Text)
    verified: Mapped[bool]
    # What happened: applied, duplicate, rejected: <why>, refunded_late …
    outcome: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GatewayRefund(db.Model):
    """Money sent back through the channel a payment came in by (one ``out_refund_no``)."""

    __tablename__ = "gateway_refunds"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", GatewayRefundStatus), name="known_status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    # The after-sales request it settles; NULL for automatic refunds (paid after expiry …).
    refund_request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("refund_requests.id"), unique=True)
    out_refund_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(16), default=GatewayRefundStatus.PENDING)
    gateway_refund_id: Mapped[str | None] = mapped_column(sa.String(64))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payment: Mapped[Payment] = relationship(lazy="joined")


class LogisticsType(IntEnum):
    """WeChat's logistics_type of upload_shipping_info."""

    EXPRESS = 1  # 实体物流配送: a parcel with a carrier and tracking number
    LOCAL_DELIVERY = 2  # 同城配送
    VIRTUAL = 3  # 虚拟商品
    PICKUP = 4  # 用户自提: the buyer collects it at a station


class ShippingUpload(db.Model):
    """Shipping information for a WeChat-paid parcel, uploaded to WeChat (发货信息管理)."""

    __tablename__ = "shipping_uploads"
    __table_args__ = (
        sa.CheckConstraint(
            one_of("logistics_type", tuple(t.value for t in LogisticsType)), name="known_logistics_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"), unique=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"))
    status: Mapped[str] = mapped_column(sa.String(16), default=ShippingUploadStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    logistics_type: Mapped[int] = mapped_column(sa.SmallInteger, default=LogisticsType.EXPRESS, server_default="1")
