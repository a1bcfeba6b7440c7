"""Group offers on SKUs, the groups buyers open, and their members (each one order at the group price)."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.models import User
from shop.models import Sku
from shop.orders.models import Order

MIN_GROUP_SIZE, MAX_GROUP_SIZE = 2, 50
MAX_GROUP_HOURS = 72


class GroupStatus(StrEnum):
    """A group's life (transitions in ``shop.groups.states``)."""

    OPENING = "opening"  # the first buyer's order awaits payment; nobody can join yet
    FORMING = "forming"  # opened by a payment: others join until N have paid or T runs out
    SUCCEEDED = "succeeded"  # N members paid in time: the orders go to the stations
    EXPIRED = "expired"  # T ran out first: every paid member is refunded
    CANCELLED = "cancelled"  # the first buyer never paid


class MemberStatus(StrEnum):
    """One buyer in a group, following their order."""

    JOINED = "joined"  # order placed, awaiting payment (holds a place in the group)
    PAID = "paid"
    CANCELLED = "cancelled"  # the order was cancelled or expired unpaid: the place is free again
    REFUNDED = "refunded"  # the group failed: a refund of the order was issued (its progress is the order's)


class GroupOffer(db.Model):
    """A SKU's group price: N buyers who all pay within ``hours`` of the group's opening get it."""

    __tablename__ = "group_offers"
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint(f"group_size BETWEEN {MIN_GROUP_SIZE} AND {MAX_GROUP_SIZE}", name="group_size_range"),
        sa.CheckConstraint(f"hours BETWEEN 1 AND {MAX_GROUP_HOURS}", name="hours_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"), index=True)
    price_fen: Mapped[int]
    group_size: Mapped[int]
    hours: Mapped[int]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sku: Mapped[Sku] = relationship(lazy="joined")


class GroupBuy(db.Model):
    """One group: its terms are copied from the offer when it is opened."""

    __tablename__ = "group_buys"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", GroupStatus), name="known_status"),
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint(f"group_size BETWEEN {MIN_GROUP_SIZE} AND {MAX_GROUP_SIZE}", name="group_size_range"),
        # The expiry job's scan: forming groups by deadline.
        sa.Index("ix_group_buys_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("group_offers.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    sku_id: Mapped[int] = mapped_column(sa.ForeignKey("skus.id"))
    leader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    price_fen: Mapped[int]
    group_size: Mapped[int]
    hours: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=GroupStatus.OPENING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the first buyer's payment opens the group: its deadline is then + hours.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sku: Mapped[Sku] = relationship(lazy="joined")
    members: Mapped[list["GroupMember"]] = relationship(order_by="GroupMember.id", lazy="selectin")


class GroupMember(db.Model):
    """A buyer in a group, with the order they placed at the group price."""

    __tablename__ = "group_members"
    __table_args__ = (sa.CheckConstraint(one_of("status", MemberStatus), name="known_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("group_buys.id"), index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    buyer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    is_leader: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(16), default=MemberStatus.JOINED)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    buyer: Mapped[User] = relationship(lazy="joined")
    order: Mapped[Order] = relationship(lazy="select")
