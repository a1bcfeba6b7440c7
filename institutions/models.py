"""Units, their people and targets, unit orders with their deliveries, and received bank transfers."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.pii import Encrypted
from core.vocabulary import LabelledEnum


class UnitKind(LabelledEnum):
    BUDGET_UNIT = "budget_unit", "预算单位"  # 预算单位: departments, schools, hospitals, state-owned enterprises
    ENTERPRISE = "enterprise", "企业"
    TRADE_UNION = "trade_union", "工会"


class MemberRole(enum.StrEnum):
    ADMIN = "admin"  # manages the unit's purchasers, target and invoice details
    PURCHASER = "purchaser"


class Purpose(LabelledEnum):
    CANTEEN = "canteen", "食堂采购"  # 食堂采购: counts toward the reserved-share target
    UNION_WELFARE = "union_welfare", "工会福利"  # 工会福利: a gift set to each recipient


class PaymentMethod(LabelledEnum):
    ONLINE = "online", "在线支付"  # WeChat Pay / Alipay through POST /orders/<id>/payments
    BANK_TRANSFER = "bank_transfer", "对公转账"  # 对公转账 against the payment reference


class BankTransferStatus(enum.StrEnum):
    """Where the money of one recorded 对公转账 went (not payments.providers.TransferStatus: an Alipay payout)."""

    APPLIED = "applied"  # all of it paid the order
    HELD = "held"  # some or all of it sits in suspense (short, excess, late)
    RETURNED = "returned"  # what was held went back to the payer


def _values(kind: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


class Unit(db.Model):
    """A buying institution: a budget unit, an enterprise or a trade union."""

    __tablename__ = "units"
    __table_args__ = (sa.CheckConstraint(one_of("kind", _values(UnitKind)), name="known_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # 统一社会信用代码, checked with its GB 32100 check character.
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    # The unit a trade union belongs to (工会 of a hospital), or a department's parent.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Where the unit is (city or county code); the office's scope filters on it.
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped["Unit | None"] = relationship(remote_side="Unit.id", lazy="joined")
    invoice_info: Mapped["UnitInvoiceInfo | None"] = relationship(lazy="selectin")


class UnitMember(db.Model):
    """A user who buys for (or administers) a unit."""

    __tablename__ = "unit_members"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "user_id"),
        sa.CheckConstraint(one_of("role", _values(MemberRole)), name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    invite_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit_invites.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined")


class UnitInvite(db.Model):
    """A single-use invite code binding a user to a unit; only the code's digest is kept."""

    __tablename__ = "unit_invites"
    __table_args__ = (sa.CheckConstraint(one_of("role", _values(MemberRole)), name="known_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    code_digest: Mapped[str] = mapped_column(sa.String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnitTarget(db.Model):
    """A budget unit's reserved share for one year: canteen food budget × ratio."""

    __tablename__ = "unit_targets"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "year"),
        sa.CheckConstraint("canteen_budget_fen > 0", name="budget_positive"),
        sa.CheckConstraint("ratio_bps BETWEEN 1 AND 10000", name="ratio_range"),
        sa.CheckConstraint("target_fen = canteen_budget_fen * ratio_bps / 10000", name="target_is_budget_times_ratio"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    year: Mapped[int]
    canteen_budget_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # The reserved share in basis points (1000 = 10 %, the national floor since 2021).
    ratio_bps: Mapped[int]
    # canteen_budget_fen × ratio_bps / 10000, rounded down.
    target_fen: Mapped[int] = mapped_column(sa.BigInteger)
    set_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitInvoiceInfo(db.Model):
    """开票信息: what the seller of record needs to issue the unit's invoice."""

    __tablename__ = "unit_invoice_info"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    tax_id: Mapped[str] = mapped_column(sa.String(20))
    address: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str] = mapped_column(sa.String(30))
    bank_name: Mapped[str] = mapped_column(sa.String(100))
    bank_account: Mapped[str] = mapped_column(sa.String(40))
    updated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitOrder(db.Model):
    """An order placed on behalf of a unit: its purpose and how it is paid."""

    __tablename__ = "unit_orders"
    __table_args__ = (
        sa.CheckConstraint(one_of("purpose", _values(Purpose)), name="known_purpose"),
        sa.CheckConstraint(one_of("payment_method", _values(PaymentMethod)), name="known_payment_method"),
    )

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    payment_method: Mapped[str] = mapped_column(sa.String(16))
    # What the payer writes in the transfer's remark (bank transfers only).
    payment_reference: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    # Last Beijing day the transfer may arrive; the order expires at its end.
    due_on: Mapped[date | None]
    placed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    order = relationship("Order", lazy="joined")


class UnitDelivery(db.Model):
    """One recipient of a union welfare order: a parcel of the same gift set."""

    __tablename__ = "unit_deliveries"
    __table_args__ = (sa.UniqueConstraint("order_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    seq: Mapped[int]
    name: Mapped[str] = mapped_column(Encrypted("unit_delivery.name"))
    phone: Mapped[str] = mapped_column(Encrypted("unit_delivery.phone"))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    detail: Mapped[str] = mapped_column(Encrypted("unit_delivery.detail"))

    lines: Mapped[list["UnitDeliveryLine"]] = relationship(lazy="selectin", order_by="UnitDeliveryLine.order_line_id")


class UnitDeliveryLine(db.Model):
    """Which order lines make up a delivery (one per SKU of the gift set)."""

    __tablename__ = "unit_delivery_lines"

    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("unit_deliveries.id"), index=True)

    line = relationship("OrderLine", lazy="joined")


class RecipientList(db.Model):
    """An uploaded recipient list (CSV/XLSX), kept encrypted until an order uses it."""

    __tablename__ = "unit_recipient_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    count: Mapped[int]
    # JSON array of {name, phone, region_code, detail}, SM4-GCM encrypted as a whole.
    recipients: Mapped[str] = mapped_column(Encrypted("unit_recipient_list.recipients"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankTransfer(db.Model):
    """A transfer the county centre saw arrive on its account, and where its money went.

    ``applied_fen + held_fen + returned_fen = amount_fen`` always; what is held
    sits in the ledger's suspense account (bucket ``bank_transfer``).
    """

    __tablename__ = "unit_bank_transfers"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", _values(BankTransferStatus)), name="known_status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(
            "applied_fen >= 0 AND held_fen >= 0 AND returned_fen >= 0 "
            "AND applied_fen + held_fen + returned_fen = amount_fen",
            name="parts_sum_to_amount",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    amount_fen: Mapped[int]
    payer_account_name: Mapped[str] = mapped_column(sa.String(100))
    # The bank's serial number (流水号): recording the same transfer twice changes nothing.
    bank_serial_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    received_on: Mapped[date]
    receipt_image_key: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16))
    applied_fen: Mapped[int] = mapped_column(default=0)
    held_fen: Mapped[int] = mapped_column(default=0)
    returned_fen: Mapped[int] = mapped_column(default=0)
    # Why money is held: short, excess, late, order_paid, order_cancelled.
    hold_reason: Mapped[str | None] = mapped_column(sa.String(20))
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The centre's own transfer that sent the held money back.
    return_serial_no: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
