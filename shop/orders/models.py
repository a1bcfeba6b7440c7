"""Orders, their lines (snapshots of what was bought), shipments, events, after-sales."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.models import User
from core.pii import Encrypted
from core.vocabulary import LabelledEnum
from shop.batches.models import Batch
from villages.models import Station


class OrderStatus(LabelledEnum):
    """An order's status, derived from its lines (``shop.orders.states``)."""

    PENDING_PAYMENT = "pending_payment", "待支付"
    PAID = "paid", "待发货"
    SHIPPED = "shipped", "已发货"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已取消"
    REFUNDING = "refunding", "退款中"
    REFUNDED = "refunded", "已退款"


class LineStatus(LabelledEnum):
    """One order line's status; the order's follows from its lines'."""

    PENDING_PAYMENT = "pending_payment", "待支付"
    PAID = "paid", "待发货"
    SHIPPED = "shipped", "已发货"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已取消"
    REFUNDING = "refunding", "退款中"
    REFUNDED = "refunded", "已退款"


class CancelReason(StrEnum):
    BUYER = "buyer"  # the buyer cancelled it
    EXPIRED = "expired"  # not paid before its deadline


class RefundRequestStatus(LabelledEnum):
    """An after-sales request: decided by staff, then refunded (or failed) at the gateway."""

    REQUESTED = "requested", "待处理"
    APPROVED = "approved", "已同意"
    REJECTED = "rejected", "已拒绝"
    REFUNDED = "refunded", "已退款"
    FAILED = "failed", "退款失败"


class PickupStatus(StrEnum):
    """Where an order the buyer collects at a station stands (到站自提)."""

    AWAITING_GOODS = "awaiting_goods"  # paid or not, the goods are not at the pickup station yet
    READY = "ready"  # arrived; the buyer was told to come with the code
    COLLECTED = "collected"  # handed over against the code
    RETURNED = "returned"  # never collected: back to stock, money refunded


class BuyerNotificationKind(StrEnum):
    """Subscribe messages the order flow sends to buyers and station managers."""

    PICKUP_READY = "pickup_ready"  # to the buyer: the goods wait at the station
    PRESALE_DUE = "presale_due"  # to a station manager: a pre-sale's delivery window ends soon
    PRESALE_OVERDUE = "presale_overdue"  # to the buyer: not shipped in the window, may cancel for a refund


class NotificationStatus(StrEnum):
    """What became of a subscribe message to a seller."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", OrderStatus), name="known_status"),
        sa.CheckConstraint("total_fen > 0", name="total_positive"),
        # The expiry job's scan: unpaid orders by deadline.
        sa.Index("ix_orders_status_expires_at", "status", "expires_at"),
        # Checkout's unpaid-holdings check: one buyer's live unpaid orders (a few rows, not every unpaid order).
        sa.Index("ix_orders_buyer_status_expires_at", "buyer_id", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=OrderStatus.PENDING_PAYMENT)
    total_fen: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Why it was cancelled: buyer, expired, paid_after_expiry …
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(40))
    address_name: Mapped[str] = mapped_column(Encrypted("order.address_name"))
    address_phone: Mapped[str] = mapped_column(Encrypted("order.address_phone"))
    address_region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    address_detail: Mapped[str] = mapped_column(Encrypted("order.address_detail"))
    # Channel of the payment that succeeded (wechat_jsapi, alipay_mini, alipay_wap).
    paid_channel: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    buyer: Mapped[User] = relationship(lazy="select")
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", lazy="selectin", cascade="all, delete-orphan"
    )

    def is_past_deadline(self, now: datetime) -> bool:
        return self.status == OrderStatus.PENDING_PAYMENT and self.expires_at <= now


class OrderLine(db.Model):
    """One SKU in an order, with everything that mattered copied at the time of order."""

    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", LineStatus), name="known_status"),
        sa.CheckConstraint("quantity BETWEEN 1 AND 99", name="quantity_range"),
        sa.CheckConstraint("unit_price_fen > 0", name="unit_price_positive"),
        sa.CheckConstraint("amount_fen = unit_price_fen * quantity", name="amount_is_price_times_quantity"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"),
        sa.CheckConstraint(
            "commission_bps >= 0 AND service_fee_bps >= 0 AND commission_bps + service_fee_bps <= 10000",
            name="rates_within_line",
        ),
        sa.Index("ix_order_lines_station_id_status", "station_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("sellers.id"), index=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    # The product's origin village (reports group by it).
    village_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    category_slug: Mapped[str] = mapped_column(sa.String(32))
    product_title: Mapped[str] = mapped_column(sa.String(60))
    sku_name: Mapped[str] = mapped_column(sa.String(40))
    unit_price_fen: Mapped[int]
    quantity: Mapped[int]
    amount_fen: Mapped[int]
    # Rates in force when the order was placed; the settlement uses these.
    commission_bps: Mapped[int]
    service_fee_bps: Mapped[int]
    # Facts at the time of order that reports count by.
    poverty_certified: Mapped[bool] = mapped_column(default=False)
    seller_poor_household: Mapped[bool] = mapped_column(default=False)
    # The seller's household category then (tuopin / monitored / ordinary); reports split income by it.
    seller_household_category: Mapped[str] = mapped_column(sa.String(16), default="ordinary")
    poverty_village: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(20), default=LineStatus.PENDING_PAYMENT)
    # The status to return to when an after-sales request is rejected.
    status_before_refund: Mapped[str | None] = mapped_column(sa.String(20))
    refunded_fen: Mapped[int] = mapped_column(default=0)
    shipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipments.id"))
    # The production batch the shipped units came from (chosen at shipping).
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batches.id"), index=True)
    # A pre-sale line: the pre-sale whose quota it took and the delivery window promised then.
    presale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("presales.id"), index=True)
    ships_from: Mapped[date | None] = mapped_column(sa.Date)
    ships_until: Mapped[date | None] = mapped_column(sa.Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="lines")
    shipment: Mapped["Shipment | None"] = relationship(lazy="joined")
    batch: Mapped[Batch | None] = relationship(lazy="selectin")


class Shipment(db.Model):
    """A station's parcel for its lines of one order."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    carrier: Mapped[str] = mapped_column(sa.String(40))
    tracking_no: Mapped[str] = mapped_column(sa.String(64))
    shipped_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Presale(db.Model):
    """A product (or one SKU) sold before harvest: a quota, an order window and a delivery window (预售)."""

    __tablename__ = "presales"
    __table_args__ = (
        sa.CheckConstraint("quota > 0", name="quota_positive"),
        sa.CheckConstraint("sold >= 0 AND sold <= quota", name="sold_within_quota"),
        sa.CheckConstraint("order_until > order_from", name="order_window_ordered"),
        sa.CheckConstraint("ships_until >= ships_from", name="delivery_window_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    # NULL: every SKU of the product shares the quota.
    sku_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skus.id", ondelete="CASCADE"), index=True)
    quota: Mapped[int]
    # Units held by unpaid and paid orders (taken at checkout like stock, given back on cancel/expiry).
    sold: Mapped[int] = mapped_column(default=0)
    order_from: Mapped[datetime] = mapped_column(UTCDateTime)
    order_until: Mapped[datetime] = mapped_column(UTCDateTime)
    # The promised delivery window, Beijing dates ("ships 07-20 – 08-05").
    ships_from: Mapped[date] = mapped_column(sa.Date)
    ships_until: Mapped[date] = mapped_column(sa.Date)
    # When the station was warned that the window is about to end with lines unshipped.
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderPickup(db.Model):
    """An order the buyer collects at a station instead of a delivery (到站自提)."""

    __tablename__ = "order_pickups"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", PickupStatus), name="known_status"),
        sa.Index("ix_order_pickups_station_id_status", "station_id", "status"),
    )

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default=PickupStatus.AWAITING_GOODS)
    # The 6-digit code the buyer shows (encrypted: the buyer may look at it again).
    code: Mapped[str] = mapped_column(Encrypted("pickup.code"))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(backref=sa.orm.backref("pickup", uselist=False, lazy="selectin"))
    station: Mapped[Station] = relationship(lazy="joined", innerjoin=True)


class BuyerNotification(db.Model):
    """A subscribe message of the order flow to a buyer or station manager, with its outcome."""

    __tablename__ = "buyer_notifications"
    __table_args__ = (sa.CheckConstraint(one_of("kind", BuyerNotificationKind), name="known_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    presale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("presales.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # NotificationStatus
    detail: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderEvent(db.Model):
    """Append-only trail of every state change: who, when, from → to, why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # Set when the change concerns one line only.
    line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    # NULL for the system (expiry, auto-confirm, gateway).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefundRequest(db.Model):
    """A buyer's after-sales request for some lines of an order."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", RefundRequestStatus), name="known_status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default=RefundRequestStatus.REQUESTED)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(200))
    decision_reason: Mapped[str | None] = mapped_column(sa.String(200))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Filled by the payments package once the gateway has returned the money.
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(lazy="joined")
    lines: Mapped[list["RefundRequestLine"]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class RefundRequestLine(db.Model):
    __tablename__ = "refund_request_lines"
    __table_args__ = (sa.UniqueConstraint("refund_id", "line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(sa.ForeignKey("refund_requests.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    amount_fen: Mapped[int]

    line: Mapped[OrderLine] = relationship(lazy="joined")


class SellerNotification(db.Model):
    """Each WeChat subscribe message to a seller, with its outcome (sandbox: recorded)."""

    __tablename__ = "seller_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("sellers.id"))
    status: Mapped[str] = mapped_column(sa.String(16))  # NotificationStatus
    detail: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
