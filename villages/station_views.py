"""Service stations: open, read, change, suspend; their poster code; registering a seller at one.

A station's products, pickups and pre-sale plan are shop data, served by shop's
blueprints (``shop.views``, ``shop.orders.views``): villages may not import shop.
"""

from flask import Response
from flask_smorest import Blueprint

from core.auth import authenticated
from core.pagination import page_schema
from villages import poster, sellers, stations
from villages.schemas import (
    SellerArgs,
    SellerWithCodeSchema,
    StationArgs,
    StationPatchArgs,
    StationQueryArgs,
    StationSchema,
    SuspendArgs,
)
from villages.seller_views import with_bind_code

stations_blp = Blueprint("stations", __name__, description="村级服务站")


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
    return with_bind_code(sellers.register_seller(actor, station_id, args))
