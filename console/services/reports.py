"""Monthly reports as the console shows them: the scoped list, the previous month beside a report."""

import json

import sqlalchemy as sa

from core.auth import scope_for
from core.extensions import db
from core.models import Role, User
from core.pagination import paginate
from reports.analytics import month_bounds, sales_figures
from reports.charts import last_months
from reports.models import SalesReport
from reports.snapshots import READERS
from villages.models import Region, RegionLevel


def list_reports(user: User, status: str | None, period: str | None, page: int, per_page: int) -> dict:
    """Reports under the caller's region, newest first (as GET /reports lists them)."""
    scope = scope_for(user, *READERS)
    statement = sa.select(SalesReport).where(scope.filter(SalesReport.region_code)).order_by(SalesReport.id.desc())
    if status:
        statement = statement.where(SalesReport.status == status)
    if period:
        statement = statement.where(SalesReport.period == period)
    result = paginate(statement, page, per_page)
    codes = {report.region_code for report in result["items"]}
    names = dict(db.session.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all())
    result["region_names"] = names
    return result


def report_regions(user: User) -> list[Region]:
    """The regions the user prepares reports for: a county admin their county, the office the city."""
    statements = []
    if user.has_role(Role.COUNTY_ADMIN):
        scope = scope_for(user, Role.COUNTY_ADMIN)
        statements.append(sa.select(Region).where(Region.level == RegionLevel.COUNTY, scope.filter(Region.code)))
    if user.has_role(Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN):
        scope = scope_for(user, Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN)
        statements.append(sa.select(Region).where(Region.level == RegionLevel.CITY, scope.filter(Region.code)))
    regions = [region for statement in statements for region in db.session.scalars(statement.order_by(Region.code))]
    return sorted(regions, key=lambda region: region.code)


def previous_month(report: SalesReport) -> dict:
    """The month before the report's: its approved-or-not report's figures if one exists, else live figures."""
    period = last_months(report.period, 2)[0]
    earlier = db.session.scalar(
        sa.select(SalesReport).where(SalesReport.region_code == report.region_code, SalesReport.period == period)
    )
    if earlier is not None:
        return {
            "period": period,
            "source": "report",
            "report": earlier,
            "totals": json.loads(earlier.snapshot)["totals"],
        }
    totals = sales_figures(report.region_code, *month_bounds(period), None)["totals"]
    return {"period": period, "source": "live", "report": None, "totals": totals}


def actor_names(report: SalesReport) -> dict[int, str]:
    """Who acted on the report's trail, by user id."""
    ids = {event.actor_id for event in report.events if event.actor_id}
    rows = db.session.execute(sa.select(User.id, User.display_name, User.username).where(User.id.in_(ids))).all()
    return {row.id: row.display_name or row.username for row in rows}
