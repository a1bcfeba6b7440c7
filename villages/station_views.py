"""Service stations, sellers and village workers."""

from flask import Response, request
from flask_smorest import Blueprint

from core.auth import authenticated
from core.openapi import may_answer
from core.pagination import page_schema
from villages import poster, sellers, stations, workers
from villages.schemas import (
    BindArgs,
    LeaveArgs,
    MySellerPageSchema,
    NameConsentArgs,
    RevealArgs,
    SellerArgs,
    SellerPatchArgs,
    SellerPersonalDataSchema,
    SellerQueryArgs,
    SellerSchema,
    SellerSearchArgs,
    SellerWithCodeSchema,
    StationArgs,
    StationPatchArgs,
    StationQueryArgs,
    StationSchema,
    SuspendArgs,
    WorkerArgs,
    WorkerQueryArgs,
    WorkerSchema,
)

_SELLER_PAGE = page_schema(SellerSchema, "SellerPage")

stations_blp = Blueprint("stations", __name__, description="村级服务站、卖家与村级人员")


def _with_code(pair):
    seller, code = pair
    seller.bind_code = code
    return seller


@stations_blp.post("/stations")
@authenticated
@stations_blp.arguments(StationArgs)
@stations_blp.response(201, StationSchema)
def create_station(args, actor):
    """Open a station in a village (county admin of that county)."""
    return stations.create_station(actor, args)


@stations_blp.get("/stations")
@authenticated
@stations_blp.arguments(StationQueryArgs, location="query")
@stations_blp.response(200, page_schema(StationSchema, "StationPage"))
def list_stations(args, actor):
    """Stations in the caller's region (a station manager sees their own)."""
    return stations.list_stations(actor, args.get("region"), args.get("status"), args["page"], args["per_page"])


@stations_blp.get("/stations/<int:station_id>")
@authenticated
@stations_blp.response(200, StationSchema)
def get_station(station_id, actor):
    """One station."""
    return stations.station_for_reader(actor, station_id)


@stations_blp.patch("/stations/<int:station_id>")
@authenticated
@stations_blp.arguments(StationPatchArgs)
@stations_blp.response(200, StationSchema)
def patch_station(changes, station_id, actor):
    """Change a station's name, address or service fee (county admin)."""
    return stations.update_station(actor, station_id, changes)


@stations_blp.post("/stations/<int:station_id>/suspend")
@authenticated
@stations_blp.arguments(SuspendArgs)
@stations_blp.response(200, StationSchema)
def suspend_station(args, station_id, actor):
    """Suspend a misbehaving station, with a reason (county admin)."""
    return stations.suspend_station(actor, station_id, args["reason"])


@stations_blp.post("/stations/<int:station_id>/reactivate")
@authenticated
@stations_blp.response(200, StationSchema)
def reactivate_station(station_id, actor):
    """Lift a suspension (county admin)."""
    return stations.reactivate_station(actor, station_id)


@stations_blp.get("/stations/<int:station_id>/poster-code")
@authenticated
@stations_blp.response(200, content_type="image/png")
def poster_code(station_id, actor):
    """PNG mini-program code that opens the station's page (scene = station id)."""
    station = stations.station_for_reader(actor, station_id)
    return Response(poster.poster_code_png(station), mimetype="image/png")


@stations_blp.post("/stations/<int:station_id>/sellers")
@authenticated
@stations_blp.arguments(SellerArgs)
@stations_blp.response(201, SellerWithCodeSchema)
def register_seller(args, station_id, actor):
    """Register a villager at the station; the answer carries their 6-digit bind code."""
    return _with_code(sellers.register_seller(actor, station_id, args))


@stations_blp.get("/sellers")
@authenticated
@stations_blp.arguments(SellerQueryArgs, location="query")
@stations_blp.response(200, _SELLER_PAGE)
def list_sellers(args, actor):
    """Sellers in scope, optionally of one station (personal data masked)."""
    return sellers.list_sellers(actor, args.get("station_id"), None, args["page"], args["per_page"])


@stations_blp.post("/sellers/search")
@authenticated
@stations_blp.arguments(SellerSearchArgs)
@stations_blp.response(200, _SELLER_PAGE)
def search_sellers(args, actor):
    """Find sellers in scope by exact phone number; a POST, so the number stays out of access logs."""
    return sellers.list_sellers(actor, args.get("station_id"), args["phone"], args["page"], args["per_page"])


@stations_blp.get("/sellers/<int:seller_id>")
@authenticated
@stations_blp.response(200, SellerSchema)
def get_seller(seller_id, actor):
    """One seller, personal data masked."""
    return sellers.seller_for_reader(actor, seller_id)


@stations_blp.patch("/sellers/<int:seller_id>")
@authenticated
@stations_blp.arguments(SellerPatchArgs)
@stations_blp.response(200, SellerSchema)
def patch_seller(changes, seller_id, actor):
    """Correct a seller's details (their station or county)."""
    return sellers.update_seller(actor, seller_id, changes)


@stations_blp.post("/sellers/<int:seller_id>/personal-data")
@authenticated
@stations_blp.arguments(RevealArgs)
@stations_blp.response(200, SellerPersonalDataSchema)
def reveal_personal_data(args, seller_id, actor):
    """Full personal data for the seller's own station or county; each call is audited."""
    return sellers.reveal_personal_data(actor, seller_id, args.get("reason"))


@stations_blp.post("/sellers/<int:seller_id>/bind-code")
@authenticated
@stations_blp.response(200, SellerWithCodeSchema)
def reissue_bind_code(seller_id, actor):
    """A new bind code for a seller who has not bound WeChat yet (the old one stops working)."""
    return _with_code(sellers.reissue_bind_code(actor, seller_id))


@stations_blp.post("/sellers/bind")
@authenticated
@stations_blp.arguments(BindArgs)
@stations_blp.response(200, SellerSchema)
@may_answer(stations_blp, 429)  # wrong codes slow down (core.throttle)
def bind_seller(args, actor):
    """Bind the signed-in WeChat user to a seller with the station's bind code."""
    return sellers.bind_seller(actor, args["bind_code"], request.remote_addr)


@stations_blp.get("/sellers/me")
@authenticated
@stations_blp.response(200, MySellerPageSchema)
def my_seller_page(actor):
    """The villager's own page: profile, products, sales this month, balances."""
    return sellers.my_seller_page(actor)


@stations_blp.put("/sellers/me/name-consent")
@authenticated
@stations_blp.arguments(NameConsentArgs)
@stations_blp.response(200, SellerSchema)
def set_name_consent(args, actor):
    """The villager agrees (or no longer agrees) to be shown as 李** on trace pages."""
    return sellers.set_own_name_consent(actor, args["show_name_on_trace"])


@stations_blp.post("/villages/<code>/workers")
@authenticated
@stations_blp.arguments(WorkerArgs)
@stations_blp.response(201, WorkerSchema)
def add_worker(args, code, actor):
    """Record an information officer or e-commerce talent (county admin)."""
    return workers.add_worker(actor, code, args)


@stations_blp.get("/villages/<code>/workers")
@authenticated
@stations_blp.arguments(WorkerQueryArgs, location="query")
@stations_blp.response(200, page_schema(WorkerSchema, "WorkerPage"))
def list_workers(args, code, actor):
    """A village's workers (those who left only with include_left=true)."""
    return workers.list_workers(actor, code, args["include_left"], args["page"], args["per_page"])


@stations_blp.post("/workers/<int:worker_id>/leave")
@authenticated
@stations_blp.arguments(LeaveArgs)
@stations_blp.response(200, WorkerSchema)
def worker_leaves(args, worker_id, actor):
    """A worker left: kept as history, no longer counted."""
    return workers.worker_leaves(actor, worker_id, args.get("left_on"))
