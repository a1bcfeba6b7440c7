"""Frozen monthly sales reports and their audit trail."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.vocabulary import LabelledEnum


class ReportStatus(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审核"
    APPROVED = "approved", "已审核通过"  # frozen for good
    REJECTED = "rejected", "已退回"  # may be regenerated


class ReportAction(LabelledEnum):
    """What an entry of a report's trail records."""

    GENERATED = "generated", "生成"
    REGENERATED = "regenerated", "重新生成"
    SUBMITTED = "submitted", "提交"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "退回"


class SalesReport(db.Model):
    """A region's figures for one month, frozen as canonical JSON with its SM3 digest."""

    __tablename__ = "sales_reports"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", ReportStatus), name="known_status"),
        sa.UniqueConstraint("region_code", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    period: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM, Asia/Shanghai
    status: Mapped[str] = mapped_column(sa.String(16), default=ReportStatus.DRAFT)
    # Bumped each time a rejected report is regenerated.
    version: Mapped[int] = mapped_column(default=1)
    # The frozen figures as canonical JSON (sorted keys, no spaces); never edited in place once approved.
    snapshot: Mapped[str] = mapped_column(sa.Text)
    digest: Mapped[str] = mapped_column(sa.String(64))  # SM3 of ``snapshot``
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(sa.String(500))

    events: Mapped[list["ReportEvent"]] = relationship(lazy="selectin", order_by="ReportEvent.id")


class ReportEvent(db.Model):
    """Who generated, submitted, approved or rejected a report, when, with which digest (append-only)."""

    __tablename__ = "report_events"
    __table_args__ = (sa.CheckConstraint(one_of("action", ReportAction), name="known_action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_reports.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    digest: Mapped[str] = mapped_column(sa.String(64))
    comment: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
