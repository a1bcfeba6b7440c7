"""Regions, villages and the people and places the city's policy targets count."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.pii import Encrypted
from core.vocabulary import LabelledEnum


class RegionLevel(LabelledEnum):
    CITY = "city", "市"
    COUNTY = "county", "县（市、区）"
    TOWNSHIP = "township", "乡镇（街道）"
    VILLAGE = "village", "村"


class StationStatus(LabelledEnum):
    ACTIVE = "active", "运营中"
    SUSPENDED = "suspended", "已暂停"


class WorkerKind(LabelledEnum):
    INFO_OFFICER = "info_officer", "网络信息员"  # 网络信息员
    ECOMMERCE_TALENT = "ecommerce_talent", "电商人才"  # 电商人才


class PiiSubject(StrEnum):
    """Whose personal data an audited read showed."""

    SELLER = "seller"
    ORDER = "order"  # the buyer's address on an order


# Length of the statistical division code at each level (GB/T 2260 + NBS).
CODE_LENGTHS = {RegionLevel.CITY: 4, RegionLevel.COUNTY: 6, RegionLevel.TOWNSHIP: 9, RegionLevel.VILLAGE: 12}


class HouseholdCategory(LabelledEnum):
    """A seller's household in the 2026 vocabulary (the transition period ended in 2025)."""

    TUOPIN = "tuopin", "脱贫户"  # 脱贫户: lifted out of poverty, the former 建档立卡贫困户
    MONITORED = "monitored", "监测对象"  # 防止返贫致贫监测对象: monitored to prevent a return to poverty
    ORDINARY = "ordinary", "一般农户"  # 一般农户


# The categories policy supports (income counted, products certifiable); `poor_household` in the API.
SUPPORTED_HOUSEHOLDS = (HouseholdCategory.TUOPIN, HouseholdCategory.MONITORED)


class Region(db.Model):
    __tablename__ = "regions"
    __table_args__ = (sa.CheckConstraint(one_of("level", RegionLevel), name="known_level"),)

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(16))
    # Parent code; the city's parent is the province code, not stored as a row.
    parent_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)


class Village(db.Model):
    """Policy facts of a village-level region (one row per village region)."""

    __tablename__ = "villages"
    __table_args__ = (
        sa.CheckConstraint("households >= 0", name="households_non_negative"),
        sa.CheckConstraint(
            "registered_poor_households >= 0 AND registered_poor_households <= households",
            name="poor_households_within_households",
        ),
    )

    code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)
    is_poverty_village: Mapped[bool] = mapped_column(default=False, index=True)
    households: Mapped[int] = mapped_column(default=0)
    # 脱贫户 (formerly 建档立卡贫困户) registered in the village; the contract keeps the old field name.
    registered_poor_households: Mapped[int] = mapped_column(default=0)
    fibre_covered: Mapped[bool] = mapped_column(default=False)
    fibre_covered_on: Mapped[date | None] = mapped_column(sa.Date)
    mobile_4g_covered: Mapped[bool] = mapped_column(default=False)
    mobile_4g_covered_on: Mapped[date | None] = mapped_column(sa.Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    region: Mapped[Region] = relationship(lazy="joined", innerjoin=True)


class Centre(db.Model):
    """A county e-commerce centre (县域电商中心)."""

    __tablename__ = "centres"
    __table_args__ = (sa.CheckConstraint("commission_bps >= 0 AND commission_bps <= 10000", name="commission_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    # Share of each order line kept by the centre, in basis points (1/10000).
    commission_bps: Mapped[int]
    # The centre's Alipay logon id (phone or e-mail) its settlements are paid to.
    payout_alipay_account: Mapped[str | None] = mapped_column(Encrypted("centre.payout_alipay_account"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Station(db.Model):
    """A village service station (村级服务站)."""

    __tablename__ = "stations"
    __table_args__ = (
        sa.CheckConstraint("service_fee_bps >= 0 AND service_fee_bps <= 10000", name="service_fee_range"),
        sa.CheckConstraint(one_of("status", StationStatus), name="known_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(200))
    # Share of each order line kept by the station, in basis points.
    service_fee_bps: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=StationStatus.ACTIVE)
    suspended_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Buyers from anywhere may collect orders here (到站自提); without it only orders of its own township.
    offers_pickup: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The station's Alipay logon id (phone or e-mail) its service fees are paid to.
    payout_alipay_account: Mapped[str | None] = mapped_column(Encrypted("station.payout_alipay_account"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    village: Mapped[Region] = relationship(lazy="joined", innerjoin=True)
    centre: Mapped[Centre] = relationship(lazy="joined", innerjoin=True)


class StationPosterCode(db.Model):
    """The station's mini-program code image, fetched once and kept."""

    __tablename__ = "station_poster_codes"

    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), primary_key=True)
    png: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Seller(db.Model):
    """A villager who sells through a station; personal data encrypted at rest."""

    __tablename__ = "sellers"
    __table_args__ = (
        sa.CheckConstraint(
            one_of("household_category", tuple(c.value for c in HouseholdCategory)), name="known_household_category"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    # The villager's own WeChat account once bound with the bind code.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(32))
    phone: Mapped[str] = mapped_column(Encrypted("seller.phone"))
    # HMAC-SM3 of the phone number, for exact-match lookup without plaintext.
    phone_digest: Mapped[str] = mapped_column(sa.String(64), index=True)
    id_card_no: Mapped[str | None] = mapped_column(Encrypted("seller.id_card_no"))
    id_card_digest: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # 脱贫户 / 监测对象 / 一般农户 (replaces the single 建档立卡 flag; see ``poor_household``).
    household_category: Mapped[str] = mapped_column(sa.String(16), default=HouseholdCategory.ORDINARY, index=True)
    # The villager agreed that trace pages show their masked name (李**); when it was recorded.
    show_name_on_trace: Mapped[bool] = mapped_column(default=False)
    name_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    household_no: Mapped[str | None] = mapped_column(Encrypted("seller.household_no"))
    payout_alipay_account: Mapped[str | None] = mapped_column(Encrypted("seller.payout_alipay_account"))
    # HMAC-SM3 of the current 6-digit bind code; cleared once used.
    bind_code_digest: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    bind_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship(lazy="joined", innerjoin=True)

    @hybrid_property
    def poor_household(self) -> bool:
        """The contract's flag: true for 脱贫户 and 监测对象."""
        return self.household_category in SUPPORTED_HOUSEHOLDS

    @poor_household.inplace.setter
    def _poor_household_setter(self, value: bool) -> None:
        # `true` means 脱贫户 (API.md), but does not demote a 监测对象; `false` means 一般农户.
        if not value:
            self.household_category = HouseholdCategory.ORDINARY
        elif self.household_category not in SUPPORTED_HOUSEHOLDS:
            self.household_category = HouseholdCategory.TUOPIN

    @poor_household.inplace.expression
    @classmethod
    def _poor_household_expression(cls):
        return cls.household_category.in_(tuple(SUPPORTED_HOUSEHOLDS))


class VillageWorker(db.Model):
    """A network information officer (网络信息员) or e-commerce talent (电商人才)."""

    __tablename__ = "village_workers"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", WorkerKind), name="known_kind"),
        sa.Index("ix_village_workers_active", "village_code", "kind", "left_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(32))
    phone: Mapped[str] = mapped_column(Encrypted("worker.phone"))
    phone_digest: Mapped[str] = mapped_column(sa.String(64), index=True)
    trained_on: Mapped[date | None] = mapped_column(sa.Date)
    certificate_no: Mapped[str | None] = mapped_column(sa.String(64))
    # A worker who left keeps their row (history) but no longer counts.
    left_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PiiAccess(db.Model):
    """Audit trail: who saw whose full personal data, and when (append-only)."""

    __tablename__ = "pii_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int]
    fields: Mapped[str] = mapped_column(sa.String(200))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _active_workers(kind: str):
    return (
        sa.select(sa.func.count(VillageWorker.id))
        .where(
            VillageWorker.village_code == Village.code,
            VillageWorker.kind == kind,
            VillageWorker.left_on.is_(None),
        )
        .correlate_except(VillageWorker)
        .scalar_subquery()
    )


# Counts shown on a village's detail page; deferred so lists don't pay for them.
Village.info_officers = column_property(_active_workers(WorkerKind.INFO_OFFICER), deferred=True)
Village.ecommerce_talents = column_property(_active_workers(WorkerKind.ECOMMERCE_TALENT), deferred=True)
Village.stations = relationship(
    Station,
    primaryjoin=sa.orm.foreign(Station.village_code) == Village.code,
    viewonly=True,
    lazy="select",
    order_by=Station.id,
)
