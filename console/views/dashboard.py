"""概览: the region's figures, trend, comparison and policy targets; the shortfall lists."""

from flask import Blueprint, redirect, render_template, request, url_for

from console.auth import signed_in_staff, staff_required
from console.menus import COUNTY_ROLES, DASHBOARD_ROLES, home_endpoint
from console.services import dashboard
from console.services.regions import lineage
from core.clock import beijing_today

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def home():
    """The console's front door: the sign-in page, or the member's first area."""
    staff = signed_in_staff()
    if staff is None:
        return redirect(url_for("console.auth.login_page"))
    return redirect(url_for(home_endpoint(staff)))


@bp.get("/dashboard")
@staff_required(*DASHBOARD_ROLES)
def index():
    """This month against last, the 12-month trend, the children's comparison, the policy targets."""
    data = dashboard.region_dashboard(signed_in_staff(), request.args.get("region"), beijing_today())
    return render_template("dashboard/index.html", **data, lineage=lineage(data["region"]))


@bp.get("/dashboard/shortfalls")
@staff_required(*DASHBOARD_ROLES)
def shortfalls():
    """Villages of the region short of a policy target (or of any)."""
    target = request.args.get("target")
    if target not in {key for key, _, _ in dashboard.TARGETS}:
        target = None
    staff = signed_in_staff()
    data = dashboard.shortfalls(staff, request.args.get("region"), target)
    return render_template(
        "dashboard/shortfalls.html",
        **data,
        lineage=lineage(data["region"]),
        can_edit_villages=staff.has_role(*COUNTY_ROLES),
    )
