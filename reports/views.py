"""Sales analytics, report snapshots and their review, exports and charts."""

import sqlalchemy as sa
from flask import Response
from flask_smorest import Blueprint

from core.auth import authenticated, ensure_in_scope, ensure_overlaps, scope_for
from core.errors import NotFound
from core.extensions import db
from core.pagination import page_schema, paginate
from reports import archive, charts, snapshots
from reports import units as unit_reports
from reports.analytics import sales_figures
from reports.models import SalesReport
from reports.schemas import (
    ChartArgs,
    ExportArgs,
    ReportArgs,
    ReportListArgs,
    ReportReviewArgs,
    ReportSchema,
    ReportSummarySchema,
    SalesQueryArgs,
    SalesSchema,
    UnitReportArgs,
    UnitReportSchema,
    VerifySchema,
)
from villages.models import Region

reports_blp = Blueprint("reports", __name__, description="销售分析与消费帮扶月报")


@reports_blp.get("/reports/sales")
@authenticated
@reports_blp.arguments(SalesQueryArgs, location="query")
@reports_blp.response(200, SalesSchema)
def sales(args, actor):
    """Live figures for a region and date range, optionally grouped (paid orders, net of refunds)."""
    ensure_in_scope(scope_for(actor, *snapshots.READERS), args["region"])
    return sales_figures(args["region"], args["date_from"], args["date_to"], args.get("group_by"))


@reports_blp.get("/reports/units")
@authenticated
@reports_blp.arguments(UnitReportArgs, location="query")
@reports_blp.response(200, UnitReportSchema)
def units_report(args, actor):
    """消费帮扶 by units for a year or month: per unit purchases from poverty-affected areas (total, by
    county of origin, by category), share of the reserved target, union welfare; ranked (通报 table).

    The office (and county admins, platform admins) get the table of units in their region;
    a unit's own members ask with ``unit_id`` and get their row with its rank in the city.
    """
    return unit_reports.report_for(actor, args)


@reports_blp.post("/reports")
@authenticated
@reports_blp.arguments(ReportArgs)
@reports_blp.response(201, ReportSchema)
def generate(args, actor):
    """Freeze a month's figures for a county (county admin) or the city (poverty office)."""
    return snapshots.generate_report(actor, args["region"], args["period"])


@reports_blp.get("/reports")
@authenticated
@reports_blp.arguments(ReportListArgs, location="query")
@reports_blp.response(200, page_schema(ReportSummarySchema, "ReportPage"))
def list_reports(args, actor):
    """Reports in the caller's region, newest first."""
    scope = scope_for(actor, *snapshots.READERS)
    statement = sa.select(SalesReport).where(scope.filter(SalesReport.region_code)).order_by(SalesReport.id.desc())
    if args.get("status"):
        statement = statement.where(SalesReport.status == args["status"])
    if args.get("period"):
        statement = statement.where(SalesReport.period == args["period"])
    return paginate(statement, args["page"], args["per_page"])


@reports_blp.get("/reports/<int:report_id>")
@authenticated
@reports_blp.response(200, ReportSchema)
def get_report(report_id, actor):
    """One report with its frozen snapshot and audit trail."""
    return snapshots.report_for(actor, report_id)


@reports_blp.post("/reports/<int:report_id>/submit")
@authenticated
@reports_blp.response(200, ReportSchema)
def submit(report_id, actor):
    """Send a draft to the city."""
    return snapshots.submit_report(actor, report_id)


@reports_blp.post("/reports/<int:report_id>/review")
@authenticated
@reports_blp.arguments(ReportReviewArgs)
@reports_blp.response(200, ReportSchema)
def review(args, report_id, actor):
    """Approve, or send back with a comment (poverty office)."""
    return snapshots.review_report(actor, report_id, args["decision"], args.get("comment"))


@reports_blp.get("/reports/<int:report_id>/verify")
@authenticated
@reports_blp.response(200, VerifySchema)
def verify(report_id, actor):
    """Digest check and drift of the live figures since the report was frozen."""
    return snapshots.verify_report(snapshots.report_for(actor, report_id))


@reports_blp.get("/reports/<int:report_id>/export")
@authenticated
@reports_blp.arguments(ExportArgs, location="query")
@reports_blp.response(200, content_type="application/octet-stream")
def export(args, report_id, actor):
    """XLSX (summary, per village, per category, monthly trend chart) or CSV (UTF-8 with BOM)."""
    return archive.download(snapshots.report_for(actor, report_id), args["format"])


@reports_blp.get("/reports/charts/monthly.svg")
@authenticated
@reports_blp.arguments(ChartArgs, location="query")
@reports_blp.response(200, content_type="image/svg+xml")
def monthly_chart(args, actor):
    """Monthly GMV and 脱贫户 / 监测对象 income of a region, as SVG for the console."""
    ensure_overlaps(scope_for(actor, *snapshots.READERS), args["region"])
    ensure_in_scope(scope_for(actor, *snapshots.READERS), args["region"])
    region = db.session.get(Region, args["region"])
    if region is None:
        raise NotFound("地区不存在")
    series = charts.monthly_series(region, args.get("until") or charts.this_month(), args["months"])
    return Response(charts.render_svg(series), mimetype="image/svg+xml")
