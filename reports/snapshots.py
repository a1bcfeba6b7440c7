"""Freezing a month's figures, the review workflow, and verification against the live figures."""

import json

import sqlalchemy as sa
from flask import current_app

from core.auth import Scope, ensure_in_scope, scope_for
from core.clock import beijing_today
from core.db import utcnow
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.pii import sm3_hex
from reports import archive
from reports.analytics import ADDED_FIGURES, SalesGrouping, month_bounds, sales_figures
from reports.models import ReportAction, ReportEvent, ReportStatus, SalesReport
from reports.units import units_in, units_report
from shop.models import ReviewDecision
from villages.metrics import compute_village_metrics
from villages.models import Region, RegionLevel

READERS = (Role.COUNTY_ADMIN, Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN)
REVIEWERS = (Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN)
# Trail entries of whoever prepared a report (they may not review it).
PREPARED = (ReportAction.GENERATED, ReportAction.REGENERATED, ReportAction.SUBMITTED)


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def build_snapshot(region_code: str, period: str) -> dict:
    """Everything a report freezes: totals, per village, per category, and the policy metrics."""
    first, last = month_bounds(period)
    region = db.session.get(Region, region_code)
    by_village = sales_figures(region_code, first, last, SalesGrouping.VILLAGE)
    by_category = sales_figures(region_code, first, last, SalesGrouping.CATEGORY)
    metrics = compute_village_metrics(region_code)
    return {
        "region": {"code": region.code, "name": region.name, "level": region.level},
        "period": period,
        "totals": by_village["totals"],
        "villages": by_village["rows"],
        "categories": by_category["rows"],
        "policy": {key: value for key, value in metrics.items() if key not in ("children",)},
        "units": units_snapshot(region_code, period),
    }


def units_snapshot(region_code: str, period: str) -> list[dict]:
    """The month's unit table (units located in the region), each row keyed by unit id."""
    rows = units_report(units_in(Scope(prefixes=None), region_code), None, period)["rows"]
    return [{"key": str(row["unit_id"]), **row} for row in rows]


def _event(report: SalesReport, action: str, actor: User | None, comment: str | None = None) -> None:
    report.events.append(
        ReportEvent(action=action, actor_id=actor.id if actor else None, digest=report.digest, comment=comment)
    )


def _freeze(report: SalesReport) -> None:
    report.snapshot = canonical_json(build_snapshot(report.region_code, report.period))
    report.digest = sm3_hex(report.snapshot.encode())


def _check_period(period: str) -> None:
    try:
        first, _ = month_bounds(period)
    except ValueError as exc:
        raise ValidationFailed.field("period", "期间格式应为 YYYY-MM") from exc
    if first > beijing_today():  # periods are Beijing months: on the 1st before 08:00 UTC it is still last month
        raise ValidationFailed.field("period", "不能为尚未开始的月份生成报表")


def preparer_roles(region: Region) -> tuple[str, ...]:
    """Who prepares (generates, submits) a region's report: a county's admin, or the office for the city."""
    return (Role.COUNTY_ADMIN,) if region.level == RegionLevel.COUNTY else REVIEWERS


def prepared_by(actor: User, report: SalesReport) -> bool:
    """The actor generated or submitted some version of the report."""
    return any(event.actor_id == actor.id for event in report.events if event.action in PREPARED)


def _ensure_preparer(actor: User, region: Region) -> None:
    """A county's report is prepared (generated, submitted) by that county; the city's by the office."""
    ensure_in_scope(scope_for(actor, *preparer_roles(region)), region.code)


def _ensure_second_pair_of_eyes(actor: User, report: SalesReport) -> None:
    """Four eyes: nobody reviews a report they generated or submitted (in any of its versions)."""
    if prepared_by(actor, report):
        raise Forbidden("不能审核自己生成或提交的报表，请由另一位工作人员审核")


def generate_report(actor: User, region_code: str, period: str) -> SalesReport:
    """Freeze a month for a county (its admin) or the city (the poverty office)."""
    ensure_in_scope(scope_for(actor, *READERS), region_code)
    region = db.session.get(Region, region_code)
    if region is None or region.level not in (RegionLevel.CITY, RegionLevel.COUNTY):
        raise ValidationFailed.field("region", "报表地区应为市或县级代码")
    _ensure_preparer(actor, region)
    _check_period(period)
    existing = db.session.scalar(
        sa.select(SalesReport).where(SalesReport.region_code == region_code, SalesReport.period == period)
    )
    if existing is not None and existing.status != ReportStatus.REJECTED:
        raise Conflict("该地区本月报表已存在", details={"report_id": existing.id})
    if existing is not None:  # a rejected report is regenerated in place, its history kept
        existing.status, existing.version = ReportStatus.DRAFT, existing.version + 1
        existing.created_by_id, existing.created_at = actor.id, utcnow()
        existing.reviewed_by_id = existing.reviewed_at = existing.review_comment = existing.submitted_at = None
        _freeze(existing)
        _event(existing, ReportAction.REGENERATED, actor)
        db.session.flush()
        return existing
    report = SalesReport(region_code=region_code, period=period, created_by_id=actor.id)
    _freeze(report)
    db.session.add(report)
    _event(report, ReportAction.GENERATED, actor)
    db.session.flush()
    return report


def report_for(actor: User, report_id: int) -> SalesReport:
    report = db.session.get(SalesReport, report_id)
    if report is None:
        raise NotFound("报表不存在")
    ensure_in_scope(scope_for(actor, *READERS), report.region_code, hide=True)
    return report


def submit_report(actor: User, report_id: int) -> SalesReport:
    """The county sends its draft to the city."""
    report = report_for(actor, report_id)
    _ensure_preparer(actor, db.session.get(Region, report.region_code))
    if report.status != ReportStatus.DRAFT:
        raise Conflict("只有草稿状态的报表可以提交")
    report.status, report.submitted_at = ReportStatus.SUBMITTED, utcnow()
    _event(report, ReportAction.SUBMITTED, actor)
    db.session.flush()
    return report


def review_report(actor: User, report_id: int, decision: str, comment: str | None) -> SalesReport:
    """The poverty office approves, or sends back with a comment."""
    report = report_for(actor, report_id)
    scope_for(actor, *REVIEWERS)
    if report.status != ReportStatus.SUBMITTED:
        raise Conflict(f"只有已提交的报表可以由{current_app.config['OFFICE_NAME']}审核")
    _ensure_second_pair_of_eyes(actor, report)
    if decision == ReviewDecision.REJECT and not comment:
        raise ValidationFailed.field("comment", "退回报表须填写意见")
    approved = decision == ReviewDecision.APPROVE
    report.status = ReportStatus.APPROVED if approved else ReportStatus.REJECTED
    report.reviewed_by_id, report.reviewed_at, report.review_comment = actor.id, utcnow(), comment
    _event(report, ReportAction.APPROVED if approved else ReportAction.REJECTED, actor, comment)
    db.session.flush()
    if approved:
        archive.archive(report)
    return report


def _diff(frozen, live, path="") -> list[dict]:
    if isinstance(frozen, dict) and isinstance(live, dict):
        out = []
        for key in sorted(set(frozen) | set(live)):
            out += _diff(frozen.get(key), live.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(frozen, list) and isinstance(live, list):
        keyed = all(isinstance(item, dict) and "key" in item for item in frozen + live)
        if keyed:
            return _diff({i["key"]: i for i in frozen}, {i["key"]: i for i in live}, path)
    return [] if frozen == live else [{"field": path, "frozen": frozen, "live": live}]


def _figures_frozen_then(frozen: dict, live: dict) -> dict:
    """The live snapshot without figures added after ``frozen`` was made (a 2025 report has no 脱贫户 split).

    Such a report still verifies: its digest covers what it froze, and its
    ``poor_household_income_fen`` equals today's sum of the two categories.
    """
    missing = [name for name in ADDED_FIGURES if name not in frozen.get("totals", {})]
    if not missing:
        return live

    def trim(figures: dict) -> dict:
        return {key: value for key, value in figures.items() if key not in missing}

    return {
        **live,
        "totals": trim(live["totals"]),
        "villages": [trim(row) for row in live["villages"]],
        "categories": [trim(row) for row in live["categories"]],
    }


def verify_report(report: SalesReport) -> dict:
    """Check the digest of the stored snapshot and list drift against today's figures (nothing rewritten)."""
    digest_ok = sm3_hex(report.snapshot.encode()) == report.digest
    frozen = json.loads(report.snapshot)
    live = _figures_frozen_then(frozen, build_snapshot(report.region_code, report.period))
    for section in set(live) - set(frozen):  # made before the section existed: not drift
        del live[section]
    return {"report_id": report.id, "digest_ok": digest_ok, "drift": _diff(frozen, live)}
