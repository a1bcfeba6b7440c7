"""月报: counties generate and submit; the poverty office reviews beside the previous month; downloads."""

import json

from flask import Blueprint, redirect, render_template, request, url_for

from console.auth import signed_in_staff, staff_required
from console.feedback import notify
from console.forms import form_page, load_form
from console.menus import REPORT_ROLES
from console.services import reports as report_queries
from core.clock import beijing_today
from core.extensions import db
from core.models import Role
from reports import archive, charts, snapshots
from reports.analytics import FIGURES
from reports.models import ReportStatus
from reports.schemas import ExportArgs, ReportArgs, ReportReviewArgs
from shop.models import ReviewDecision
from villages.models import Region

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _last_month() -> str:
    return charts.last_months(f"{beijing_today():%Y-%m}", 2)[0]


@bp.get("/")
@staff_required(*REPORT_ROLES)
def index():
    """Reports of the caller's region; the office starts with those waiting for review."""
    staff = signed_in_staff()
    default = ReportStatus.SUBMITTED if staff.has_role(Role.POVERTY_OFFICE) else ""
    status = request.args.get("status", default)
    if status not in tuple(ReportStatus):
        status = ""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return render_template(
        "reports/index.html",
        result=report_queries.list_reports(staff, status or None, None, page, 20),
        status=status,
        statuses=tuple(ReportStatus),
        region_options=[(region.code, region.name) for region in report_queries.report_regions(staff)],
        default_period=_last_month(),
        reviewer=staff.has_role(Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN),
    )


@bp.post("/")
@staff_required(*REPORT_ROLES)
@form_page(index)
def generate():
    """Freeze a month (a rejected report is generated again in place, its version going up)."""
    data = load_form(ReportArgs())
    report = snapshots.generate_report(signed_in_staff(), data["region"], data["period"])
    notify("report_generated", period=report.period)
    return redirect(url_for(".report", report_id=report.id))


@bp.get("/<int:report_id>")
@staff_required(*REPORT_ROLES)
def report(report_id: int):
    """The frozen figures beside the previous month, the SM3 digest and any drift, the trail, the actions."""
    staff = signed_in_staff()
    item = snapshots.report_for(staff, report_id)
    region = db.session.get(Region, item.region_code)
    preparer = snapshots.preparer_roles(region)
    return render_template(
        "reports/review.html",
        report=item,
        snapshot=json.loads(item.snapshot),
        previous=report_queries.previous_month(item),
        verification=snapshots.verify_report(item),
        figures=FIGURES,
        region=region,
        actors=report_queries.actor_names(item),
        can_submit=staff.has_role(*preparer) and item.status == ReportStatus.DRAFT,
        can_review=staff.has_role(*snapshots.REVIEWERS)
        and item.status == ReportStatus.SUBMITTED
        and not snapshots.prepared_by(staff, item),
        can_regenerate=staff.has_role(*preparer) and item.status == ReportStatus.REJECTED,
    )


@bp.post("/<int:report_id>/submit")
@staff_required(*REPORT_ROLES)
@form_page(report)
def submit(report_id: int):
    """Send the draft to the city."""
    item = snapshots.submit_report(signed_in_staff(), report_id)
    notify("report_submitted", period=item.period)
    return redirect(url_for(".report", report_id=report_id))


@bp.post("/<int:report_id>/review")
@staff_required(*REPORT_ROLES)
@form_page(report)
def review(report_id: int):
    """Approve, or send back with a comment (poverty office)."""
    data = load_form(ReportReviewArgs())
    snapshots.review_report(signed_in_staff(), report_id, data["decision"], data.get("comment"))
    notify("report_approved" if data["decision"] == ReviewDecision.APPROVE else "report_rejected")
    return redirect(url_for(".report", report_id=report_id))


@bp.get("/<int:report_id>/export")
@staff_required(*REPORT_ROLES)
def export(report_id: int):
    """The API's export: the archived file of an approved report, a fresh one otherwise."""
    args = load_form(ExportArgs(), request.args)
    return archive.download(snapshots.report_for(signed_in_staff(), report_id), args["format"])
