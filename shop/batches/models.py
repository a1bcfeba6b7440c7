"""Batches of a product, the certificates issued for them, test reports, cooperative members.

A batch's quantity is counted in the product's sales unit (箱, 袋 …): every
shipped unit of any of the product's SKUs takes one from ``remaining_quantity``.
Certificates are never changed once issued (database triggers refuse UPDATE,
and DELETE within two years of issue); a correction is a new certificate that
names the one it supersedes, so a batch's current certificate is its newest.
"""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.pii import Encrypted
from shop.models import Product
from villages.models import Region, Seller, Station


class BatchStatus(StrEnum):
    OPEN = "open"  # shipping may take from it
    CLOSED = "closed"  # sold out or withdrawn by the station
    REVOKED = "revoked"  # revoked by the county; its trace page says so


class ProducerKind(StrEnum):
    SELLER = "seller"  # the product's own seller (one household)
    COOPERATIVE = "cooperative"  # a cooperative (合作社) with member households


class CommitmentBasis(StrEnum):
    """承诺依据 of the 2025 管理办法."""

    QUALITY_CONTROL = "quality_control"  # 质量控制
    OWN_TESTING = "own_testing"  # 自行检测
    COMMISSIONED_TESTING = "commissioned_testing"  # 委托检测


class Commitment(StrEnum):
    """The items a producer commits to on the 合格证."""

    NO_BANNED_SUBSTANCES = "no_banned_substances"
    WITHDRAWAL_PERIODS_OBSERVED = "withdrawal_periods_observed"
    RESIDUES_WITHIN_LIMITS = "residues_within_limits"
    NO_ILLEGAL_ADDITIVES = "no_illegal_additives"


COMMITMENT_TEXT = {
    Commitment.NO_BANNED_SUBSTANCES: "不使用禁用农药兽药、停用兽药",
    Commitment.WITHDRAWAL_PERIODS_OBSERVED: "遵守农药安全间隔期、兽药休药期规定",
    Commitment.RESIDUES_WITHIN_LIMITS: "常规农药兽药残留不超标",
    Commitment.NO_ILLEGAL_ADDITIVES: "不使用非法添加物，保鲜剂、防腐剂、添加剂等符合国家强制性标准",
}
REQUIRED_COMMITMENTS = (
    Commitment.NO_BANNED_SUBSTANCES,
    Commitment.RESIDUES_WITHIN_LIMITS,
    Commitment.NO_ILLEGAL_ADDITIVES,
)
BASIS_TEXT = {
    CommitmentBasis.QUALITY_CONTROL: "质量控制",
    CommitmentBasis.OWN_TESTING: "自行检测",
    CommitmentBasis.COMMISSIONED_TESTING: "委托检测",
}
TESTING_BASES = (CommitmentBasis.OWN_TESTING, CommitmentBasis.COMMISSIONED_TESTING)
# Issued certificates are kept at least this long (《农产品质量安全承诺达标合格证管理办法》).
RETENTION_YEARS = 2


def _values(enum) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


class TestReport(db.Model):
    """A test report (检测报告) file in storage, the basis of a certificate issued on testing."""

    __tablename__ = "batch_test_reports"
    __test__ = False  # not a pytest test class
    __table_args__ = (sa.CheckConstraint("byte_size > 0", name="positive_byte_size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    # Storage key (random, never reused).
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(120))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    byte_size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Batch(db.Model):
    """A harvest or production batch of one product, with its trace code."""

    __tablename__ = "batches"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", _values(BatchStatus)), name="known_status"),
        sa.CheckConstraint(one_of("producer_kind", _values(ProducerKind)), name="known_producer_kind"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("remaining_quantity >= 0 AND remaining_quantity <= quantity", name="remaining_in_range"),
        sa.CheckConstraint("scan_count >= 0", name="scan_count_non_negative"),
        sa.CheckConstraint("producer_kind = 'seller' OR cooperative_name IS NOT NULL", name="cooperative_named"),
        # Shipping's default: the oldest open batch of a product.
        sa.Index("ix_batches_product_id_status_harvested_on", "product_id", "status", "harvested_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    # The household the product's money goes to (the product's seller).
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("sellers.id"), index=True)
    origin_village_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    harvested_on: Mapped[date] = mapped_column(sa.Date)
    # Counted in ``unit``, the product's sales unit; each shipped unit takes one.
    quantity: Mapped[int]
    remaining_quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(16))
    producer_kind: Mapped[str] = mapped_column(sa.String(16), default=ProducerKind.SELLER)
    cooperative_name: Mapped[str | None] = mapped_column(sa.String(64))
    # Short unguessable code the QR label carries (/t/<code>).
    trace_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=BatchStatus.OPEN)
    # How often the trace page or JSON was opened; nothing about the scanner is kept.
    scan_count: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(200))

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)
    station: Mapped[Station] = relationship(lazy="joined", innerjoin=True)
    seller: Mapped[Seller] = relationship(lazy="joined", innerjoin=True)
    origin_village: Mapped[Region] = relationship(lazy="joined", innerjoin=True)
    certificates: Mapped[list["Certificate"]] = relationship(
        back_populates="batch", order_by="Certificate.id", lazy="selectin"
    )
    members: Mapped[list["BatchMember"]] = relationship(
        order_by="BatchMember.seller_id", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def trace_url(self) -> str:
        """What the QR code on the label opens."""
        from flask import current_app

        return f"{current_app.config['PUBLIC_BASE_URL']}/t/{self.trace_code}"

    @property
    def certificate(self) -> "Certificate | None":
        """The certificate in force: the newest (each correction supersedes the one before)."""
        return self.certificates[-1] if self.certificates else None


class BatchMember(db.Model):
    """A member household of the cooperative that produced a batch."""

    __tablename__ = "batch_members"

    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("sellers.id"), primary_key=True)

    seller: Mapped[Seller] = relationship(lazy="joined", innerjoin=True)


class Certificate(db.Model):
    """An issued 承诺达标合格证: immutable; a correction is a new row that supersedes it."""

    __tablename__ = "batch_certificates"
    __table_args__ = (
        sa.CheckConstraint(one_of("basis", _values(CommitmentBasis)), name="known_basis"),
        sa.CheckConstraint("basis = 'quality_control' OR test_report_id IS NOT NULL", name="testing_has_report"),
        sa.CheckConstraint("(supersedes_id IS NULL) = (correction_reason IS NULL)", name="correction_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"), index=True)
    # 合格证编号: county code, issue date and a random part.
    no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    product_name: Mapped[str] = mapped_column(sa.String(60))
    # 数量（重量） as printed, e.g. "200 箱（约 1000 斤）".
    quantity_text: Mapped[str] = mapped_column(sa.String(40))
    producer_name: Mapped[str] = mapped_column(sa.String(64))
    # 联系方式 printed on the label (the regulation requires it); personal data, encrypted at rest.
    producer_contact: Mapped[str] = mapped_column(Encrypted("certificate.producer_contact"))
    # 产地 as printed: province, city, county, township, village.
    origin: Mapped[str] = mapped_column(sa.String(120))
    issued_on: Mapped[date] = mapped_column(sa.Date)
    # Commitment item keys (see ``Commitment``), in display order.
    commitments: Mapped[list] = mapped_column(sa.JSON)
    basis: Mapped[str] = mapped_column(sa.String(24))
    test_report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch_test_reports.id"))
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batch_certificates.id"), unique=True)
    correction_reason: Mapped[str | None] = mapped_column(sa.String(200))
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[Batch] = relationship(back_populates="certificates")
    test_report: Mapped[TestReport | None] = relationship(lazy="joined")
