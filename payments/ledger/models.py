"""The settlement ledger: accounts, balanced postings of entries (append-only), per-line state, payouts.

Sign convention: an entry's ``amount_fen`` is positive when it raises what the
platform owes the account's owner (seller, station, centre, platform, suspense,
payout clearing) and negative on the other side (gateway clearing accounts,
which hold the money). Every posting's entries sum to zero; party balances
never go below zero (``flask ledger verify`` checks both; PostgreSQL also
checks the sum at commit with a deferred constraint trigger).
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.pii import Encrypted, mask_account, mask_bank_account
from core.vocabulary import LabelledEnum


class PartyType(LabelledEnum):
    """Who is credited for an order line and paid out."""

    SELLER = "seller", "卖家"
    STATION = "station", "服务站"
    CENTRE = "centre", "县域电商中心"


class OwnerType(StrEnum):
    """Whose an account is: a party, or one of the platform's own accounts."""

    SELLER = "seller"
    STATION = "station"
    CENTRE = "centre"
    PLATFORM = "platform"
    SUSPENSE = "suspense"  # money that arrived for an order that could not take it, until refunded
    GATEWAY = "gateway"  # clearing: what a gateway holds for us (bucket = channel, or alipay_transfer)
    PAYOUT_CLEARING = "payout_clearing"  # paid out, transfer not yet confirmed


class Bucket(StrEnum):
    """The bucket of an account; gateway clearing accounts use the payment channel instead."""

    PENDING = "pending"  # a party's money during the settlement hold
    AVAILABLE = "available"  # a party's money that can be paid out
    MAIN = "main"  # the only bucket of platform, suspense and payout clearing
    ALIPAY_TRANSFER = "alipay_transfer"  # the gateway account payouts leave by
    BANK_TRANSFER = "bank_transfer"  # the centre's bank account 银行代发 payouts leave by


class PostingKind(StrEnum):
    PAYMENT = "payment"
    UNAPPLIED_PAYMENT = "unapplied_payment"
    REFUND = "refund"
    UNAPPLIED_REFUND = "unapplied_refund"
    RELEASE = "release"
    PAYOUT = "payout"
    PAYOUT_PAID = "payout_paid"
    PAYOUT_FAILED = "payout_failed"


class PayoutStatus(LabelledEnum):
    PENDING = "pending", "待打款"  # recorded, transfer not sent yet
    PROCESSING = "processing", "打款中"  # sent (or about to be); ask Alipay before sending again
    SUCCESS = "success", "已到账"
    FAILED = "failed", "失败"  # the money went back to the party's available bucket


class PayoutMethod(LabelledEnum):
    """How a payout reaches its party."""

    ALIPAY = "alipay", "支付宝转账"  # an Alipay transfer the app sends (and asks about) itself
    BANK = "bank", "银行代发"  # a line of the county's bank batch file, settled by the bank's result file


OPEN_PAYOUT_STATUSES = (PayoutStatus.PENDING, PayoutStatus.PROCESSING)
OPEN_PAYOUT = one_of("status", OPEN_PAYOUT_STATUSES)


class LedgerAccount(db.Model):
    """One account: a party's pending or available bucket, a gateway's clearing, the platform, …"""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        sa.UniqueConstraint("owner_type", "owner_id", "bucket"),
        sa.CheckConstraint(one_of("owner_type", OwnerType), name="known_owner_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(16))
    # The seller/station/centre id; 0 for the platform's own accounts.
    owner_id: Mapped[int] = mapped_column(default=0)
    # A Bucket, or the payment channel for gateway clearing accounts.
    bucket: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def label(self) -> str:
        owner = self.owner_type if not self.owner_id else f"{self.owner_type}:{self.owner_id}"
        return f"{owner}/{self.bucket}"


class LedgerPosting(db.Model):
    """One business event's balanced set of entries; ``event_key`` makes posting it twice impossible."""

    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A PostingKind.
    kind: Mapped[str] = mapped_column(sa.String(24))
    # e.g. "payment:12", "refund:7", "release:33", "payout:5"; unique, so a replay is a no-op.
    event_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payments.id"), index=True)
    gateway_refund_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gateway_refunds.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payouts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    entries: Mapped[list["LedgerEntry"]] = relationship(lazy="selectin", order_by="LedgerEntry.id")


class LedgerEntry(db.Model):
    """One signed amount on one account (never zero, never changed)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        # A posting's entries in order: the commit-time balance check finds its last entry in one probe.
        sa.Index("ix_ledger_entries_posting_id_id", "posting_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_postings.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_accounts.id"), index=True)
    amount_fen: Mapped[int]
    # The order line the amount belongs to (payment splits, refund reversals, releases).
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)

    account: Mapped[LedgerAccount] = relationship(lazy="joined")


class LineSettlement(db.Model):
    """What each party was credited for one paid order line, what refunds took back, and the hold's end."""

    __tablename__ = "line_settlements"
    __table_args__ = (
        sa.CheckConstraint(
            "reversed_seller_fen BETWEEN 0 AND seller_fen AND reversed_station_fen BETWEEN 0 AND station_fen "
            "AND reversed_centre_fen BETWEEN 0 AND centre_fen",
            name="reversals_within_credits",
        ),
    )

    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), primary_key=True)
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("payments.id"))
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("sellers.id"), index=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"))
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"))
    seller_fen: Mapped[int]
    station_fen: Mapped[int]
    centre_fen: Mapped[int]
    reversed_seller_fen: Mapped[int] = mapped_column(default=0)
    reversed_station_fen: Mapped[int] = mapped_column(default=0)
    reversed_centre_fen: Mapped[int] = mapped_column(default=0)
    # When the hold ended and the remainder moved from pending to available.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class PayoutBatch(db.Model):
    """One run of ``POST /settlements/run`` for a county."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    payouts: Mapped[list["Payout"]] = relationship(lazy="selectin", order_by="Payout.id", back_populates="batch")

    @property
    def bank_payouts(self) -> list["Payout"]:
        """The lines paid by the county's bank batch file (银行代发)."""
        return [payout for payout in self.payouts if payout.method == PayoutMethod.BANK]


class Payout(db.Model):
    """One Alipay transfer of a party's available balance (one ``out_biz_no``, never reused for another)."""

    __tablename__ = "payouts"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", PayoutStatus), name="known_status"),
        sa.CheckConstraint(one_of("party_type", PartyType), name="known_party_type"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(one_of("method", PayoutMethod), name="known_method"),
        # At most one unfinished payout per party: a second batch cannot pay the same money.
        sa.Index(
            "uq_payouts_open_party",
            "party_type",
            "party_id",
            unique=True,
            sqlite_where=sa.text(OPEN_PAYOUT),
            postgresql_where=sa.text(OPEN_PAYOUT),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("payout_batches.id"), index=True)
    party_type: Mapped[str] = mapped_column(sa.String(16))
    party_id: Mapped[int]
    # Where the party is (village for sellers and stations, county for centres); scoping filters on it.
    region_code: Mapped[str] = mapped_column(sa.String(12), index=True)
    # The station of a seller or station payout (station managers see these); NULL for centres.
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    payee_name: Mapped[str] = mapped_column(sa.String(64))
    # Snapshot of the payout account at batch time, so a retry sends exactly the same request.
    payee_account: Mapped[str] = mapped_column(Encrypted("payout.payee_account"))
    amount_fen: Mapped[int]
    out_biz_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=PayoutStatus.PENDING)
    # Alipay's order id once paid; the gateway's reason when it failed.
    gateway_order_id: Mapped[str | None] = mapped_column(sa.String(64))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A PayoutMethod; for bank payouts the bank's name (snapshot) and when it first went into a bank file.
    method: Mapped[str] = mapped_column(sa.String(8), default=PayoutMethod.ALIPAY, server_default=PayoutMethod.ALIPAY)
    bank_name: Mapped[str | None] = mapped_column(sa.String(64))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch: Mapped[PayoutBatch] = relationship(back_populates="payouts")

    @property
    def owner(self) -> str:
        return f"{self.party_type}:{self.party_id}"

    @property
    def masked_account(self) -> str | None:
        """The account as responses and pages show it: a bank card or an Alipay account, masked."""
        if self.method == PayoutMethod.BANK:
            return mask_bank_account(self.payee_account)
        return mask_account(self.payee_account)


class PayeeBankAccount(db.Model):
    """The bank account a party is paid into by 银行代发, recorded with the party's consent."""

    __tablename__ = "payee_bank_accounts"
    __table_args__ = (
        sa.UniqueConstraint("party_type", "party_id"),
        sa.CheckConstraint(one_of("party_type", PartyType), name="known_party_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_type: Mapped[str] = mapped_column(sa.String(16))
    party_id: Mapped[int]
    # 户名: the account holder's name as the bank has it (must match, or the bank returns the line).
    account_name: Mapped[str] = mapped_column(sa.String(64))
    account_no: Mapped[str] = mapped_column(Encrypted("payee_bank.account_no"))
    # 开户行, e.g. 炎陵县农村商业银行霞阳支行.
    bank_name: Mapped[str] = mapped_column(sa.String(64))
    # When the party's consent to be paid into this account was recorded, and by whom.
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
