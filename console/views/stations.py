"""村与服务站 (county): the region tree, village facts and workers, stations and their managers, sellers."""

from flask import Blueprint, Response, redirect, render_template, request, url_for
from marshmallow import Schema, fields

from console.auth import signed_in_staff, staff_required
from console.feedback import notify
from console.forms import form_page, load_form
from console.menus import COUNTY_ROLES
from console.services import villages as village_queries
from villages import poster, sellers, services, stations, workers
from villages.models import HouseholdCategory, StationStatus
from villages.schemas import (
    LeaveArgs,
    ManagerArgs,
    RevealArgs,
    SellerArgs,
    SellerPatchArgs,
    StationArgs,
    StationPatchArgs,
    SuspendArgs,
    VillagePatchArgs,
    WorkerArgs,
)

bp = Blueprint("stations", __name__, url_prefix="/stations")
# The manager fields as the station form names them (manager.username …), so the service's errors match.
ManagerForm = Schema.from_dict({"manager": fields.Nested(ManagerArgs, required=True)}, name="ManagerForm")
VILLAGE_FLAGS = ("is_poverty_village", "fibre_covered", "mobile_4g_covered")
STATION_INTS = ("service_fee_bps", "centre_id")
# The household categories in the order the forms offer them (their names are in the templates).
HOUSEHOLDS = (HouseholdCategory.ORDINARY, HouseholdCategory.TUOPIN, HouseholdCategory.MONITORED)


@bp.get("/")
@staff_required(*COUNTY_ROLES)
def index():
    """The county's townships and villages with their policy counts, and its stations."""
    status = request.args.get("status") or None
    if status not in (None, *StationStatus):
        status = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    data = village_queries.region_tree(signed_in_staff(), request.args.get("region"), status, page)
    return render_template("stations/index.html", **data, status=status)


# Villages ---------------------------------------------------------------------


@bp.get("/villages/<code>")
@staff_required(*COUNTY_ROLES)
def village(code: str):
    """A village: coverage and poverty facts, its workers (with those who left), its stations."""
    staff = signed_in_staff()
    record = services.village_detail(staff, code)
    return render_template(
        "stations/village.html",
        village=record,
        lineage=village_queries.lineage(record.region),
        workers=workers.list_workers(staff, code, True, 1, 100)["items"],
    )


@bp.post("/villages/<code>")
@staff_required(*COUNTY_ROLES)
@form_page(village)
def update_village(code: str):
    """Save coverage, households and the poverty flag."""
    changes = load_form(VillagePatchArgs(), ints=("households", "registered_poor_households"), booleans=VILLAGE_FLAGS)
    record = services.update_village(signed_in_staff(), code, changes)
    notify("village_updated", name=record.region.name)
    return redirect(url_for(".village", code=code))


@bp.post("/villages/<code>/workers")
@staff_required(*COUNTY_ROLES)
@form_page(village)
def add_worker(code: str):
    """Record an information officer or an e-commerce talent."""
    worker = workers.add_worker(signed_in_staff(), code, load_form(WorkerArgs()))
    notify("worker_added", name=worker.name)
    return redirect(url_for(".village", code=code))


@bp.post("/villages/<code>/workers/<int:worker_id>/leave")
@staff_required(*COUNTY_ROLES)
@form_page(village)
def worker_leaves(code: str, worker_id: int):
    """A worker left: kept as history, no longer counted."""
    data = load_form(LeaveArgs())
    worker = workers.worker_leaves(signed_in_staff(), worker_id, data.get("left_on"))
    notify("worker_left", "info", name=worker.name)
    return redirect(url_for(".village", code=worker.village_code))


@bp.post("/villages/<code>/stations")
@staff_required(*COUNTY_ROLES)
@form_page(village)
def open_station(code: str):
    """Open a station in the village, with its manager's account."""
    data = load_form(StationArgs(), ints=STATION_INTS)
    station = stations.create_station(signed_in_staff(), data)
    notify("station_opened", name=station.name)
    return redirect(url_for(".station", station_id=station.id))


# Stations -----------------------------------------------------------------------


@bp.get("/<int:station_id>")
@staff_required(*COUNTY_ROLES)
def station(station_id: int, bind_code: str | None = None, bound_seller=None, revealed=None):
    """A station: its details, status, manager accounts and sellers (personal data masked)."""
    staff = signed_in_staff()
    record = stations.station_for_county_admin(staff, station_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return render_template(
        "stations/station.html",
        station=record,
        lineage=village_queries.lineage(record.village),
        managers=stations.station_managers(staff, station_id),
        sellers=sellers.list_sellers(staff, station_id, None, page, 50),
        bind_code=bind_code,
        bound_seller=bound_seller,
        households=HOUSEHOLDS,
    )


@bp.post("/<int:station_id>")
@staff_required(*COUNTY_ROLES)
@form_page(station)
def update_station(station_id: int):
    """Save name, address, service fee and payout account."""
    # A blank payout account is left out, so the account on file (shown masked) stays.
    changes = load_form(StationPatchArgs(), ints=STATION_INTS)
    record = stations.update_station(signed_in_staff(), station_id, changes)
    notify("station_updated", name=record.name)
    return redirect(url_for(".station", station_id=station_id))


@bp.post("/<int:station_id>/suspend")
@staff_required(*COUNTY_ROLES)
@form_page(station)
def suspend(station_id: int):
    """Suspend the station, with a reason."""
    record = stations.suspend_station(signed_in_staff(), station_id, load_form(SuspendArgs())["reason"])
    notify("station_suspended", "info", name=record.name)
    return redirect(url_for(".station", station_id=station_id))


@bp.post("/<int:station_id>/reactivate")
@staff_required(*COUNTY_ROLES)
@form_page(station)
def reactivate(station_id: int):
    """Lift the suspension."""
    record = stations.reactivate_station(signed_in_staff(), station_id)
    notify("station_reactivated", name=record.name)
    return redirect(url_for(".station", station_id=station_id))


@bp.post("/<int:station_id>/managers")
@staff_required(*COUNTY_ROLES)
@form_page(station)
def add_manager(station_id: int):
    """Create another manager account for the station."""
    data = load_form(ManagerForm())["manager"]
    record = stations.station_for_county_admin(signed_in_staff(), station_id)
    user = stations.add_manager(record, data["username"], data["password"], data.get("display_name"))
    notify("manager_added", username=user.username)
    return redirect(url_for(".station", station_id=station_id))


@bp.post("/<int:station_id>/managers/<int:user_id>/<any(suspend, reactivate):action>")
@staff_required(*COUNTY_ROLES)
@form_page(station)
def manager_account(station_id: int, user_id: int, action: str):
    """Suspend (every sign-in ends at once) or restore a manager's account."""
    user = stations.set_manager_active(signed_in_staff(), station_id, user_id, action == "reactivate")
    notify("account_reactivated" if user.is_active else "account_suspended", "info", username=user.username)
    return redirect(url_for(".station", station_id=station_id))


@bp.get("/<int:station_id>/poster")
@staff_required(*COUNTY_ROLES)
def poster_page(station_id: int):
    """The station's poster with its mini-program code, to print and put up."""
    record = stations.station_for_county_admin(signed_in_staff(), station_id)
    return render_template("stations/poster.html", station=record)


@bp.get("/<int:station_id>/poster.png")
@staff_required(*COUNTY_ROLES)
def poster_code(station_id: int):
    """The code image (generated once through WeChat, a plain QR code in the sandbox, then kept)."""
    record = stations.station_for_county_admin(signed_in_staff(), station_id)
    return Response(poster.poster_code_png(record), mimetype="image/png")


# Sellers --------------------------------------------------------------------------


@bp.post("/<int:station_id>/sellers")
@staff_required(*COUNTY_ROLES)
@form_page(station)
def register_seller(station_id: int):
    """Register a villager; the bind code is shown once, on this response only (it is kept only as a digest)."""
    data = load_form(SellerArgs(), booleans=("show_name_on_trace",))
    seller, code = sellers.register_seller(signed_in_staff(), station_id, data)
    return station(station_id=station_id, bind_code=code, bound_seller=seller), 201


@bp.get("/sellers/<int:seller_id>")
@staff_required(*COUNTY_ROLES)
def seller(seller_id: int, revealed: bool = False, bind_code: str | None = None):
    """A seller with personal data masked; the full data only through the audited action."""
    record = sellers.seller_for_manager(signed_in_staff(), seller_id)
    return render_template(
        "stations/seller.html",
        seller=record,
        revealed=revealed,
        bind_code=bind_code,
        households=HOUSEHOLDS,
    )


@bp.post("/sellers/<int:seller_id>/reveal")
@staff_required(*COUNTY_ROLES)
@form_page(seller)
def reveal(seller_id: int):
    """Show the full personal data on this response only; the access is recorded with its reason."""
    data = load_form(RevealArgs())
    sellers.reveal_personal_data(signed_in_staff(), seller_id, data.get("reason"))
    return seller(seller_id=seller_id, revealed=True)


@bp.post("/sellers/<int:seller_id>/bind-code")
@staff_required(*COUNTY_ROLES)
@form_page(seller)
def reissue_bind_code(seller_id: int):
    """A new bind code (the old one stops working), shown on this response only."""
    _record, code = sellers.reissue_bind_code(signed_in_staff(), seller_id)
    return seller(seller_id=seller_id, bind_code=code)


@bp.post("/sellers/<int:seller_id>")
@staff_required(*COUNTY_ROLES)
@form_page(seller)
def update_seller(seller_id: int):
    """Correct a seller's details; blank personal-data fields keep what is on file."""
    data = load_form(SellerPatchArgs(), booleans=("show_name_on_trace",))
    current = sellers.seller_for_manager(signed_in_staff(), seller_id)
    if data.get("household_category") == current.household_category:
        data.pop("household_category")  # unchanged: not a (county-only, audited) change of the household
    record = sellers.update_seller(signed_in_staff(), seller_id, data)
    notify("seller_updated", name=record.name)
    return redirect(url_for(".seller", seller_id=seller_id))
