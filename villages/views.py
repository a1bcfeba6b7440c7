"""Regions, villages, county centres, policy metrics and village workers."""

import functools

from flask import current_app, request
from flask_smorest import Blueprint

from core.auth import authenticated, scope_for
from core.etags import etag_of, respond_with_etag
from core.models import Role
from core.openapi import may_answer
from core.pagination import page_schema
from villages import metrics, regions, services, workers
from villages.schemas import (
    CentreArgs,
    CentrePatchArgs,
    CentreQueryArgs,
    CentreSchema,
    LeaveArgs,
    MetricsArgs,
    RegionQueryArgs,
    RegionSchema,
    VillageDetailSchema,
    VillageMetricsSchema,
    VillagePatchArgs,
    VillageQueryArgs,
    VillageSchema,
    WorkerArgs,
    WorkerQueryArgs,
    WorkerSchema,
)

regions_blp = Blueprint("regions", __name__, description="行政区划")
villages_blp = Blueprint("villages", __name__, description="村、县域电商中心与政策指标")


RegionPageSchema = page_schema(RegionSchema, "RegionPage")


def kept_region_answers(view):
    """Answer a region list query seen before from its kept bytes (or 304): no parsing, no database."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        held = regions.kept_answer(request.query_string)
        if held is not None:
            return respond_with_etag(held[1], held[0])
        return view(*args, **kwargs)

    return wrapper


@regions_blp.get("/regions")
@kept_region_answers
@regions_blp.arguments(RegionQueryArgs, location="query")
@regions_blp.response(200, RegionPageSchema)
@may_answer(regions_blp, 404)
def list_regions(args):
    """Child regions of ``parent`` (the city when omitted); public, paginated, with an ETag."""
    body = current_app.json.dumps(
        RegionPageSchema().dump(regions.list_children(args.get("parent"), args["page"], args["per_page"]))
    ).encode()
    etag = etag_of(body)
    regions.keep_answer(request.query_string, etag, body)
    return respond_with_etag(body, etag)


@villages_blp.get("/villages")
@authenticated
@villages_blp.arguments(VillageQueryArgs, location="query")
@villages_blp.response(200, page_schema(VillageSchema, "VillagePage"))
def list_villages(args, actor):
    """Villages in the caller's region, filtered by region prefix and poverty flag."""
    return services.list_villages(actor, args.get("region"), args.get("poverty"), args["page"], args["per_page"])


@villages_blp.get("/villages/<code>")
@authenticated
@villages_blp.response(200, VillageDetailSchema)
def get_village(code, actor):
    """One village with its stations and active worker counts."""
    return services.village_detail(actor, code)


@villages_blp.patch("/villages/<code>")
@authenticated
@villages_blp.arguments(VillagePatchArgs)
@villages_blp.response(200, VillageDetailSchema)
def patch_village(changes, code, actor):
    """Update poverty flag, households and coverage (county admin of that county)."""
    services.update_village(actor, code, changes)
    return services.village_detail(actor, code)


@villages_blp.post("/centres")
@authenticated
@villages_blp.arguments(CentreArgs)
@villages_blp.response(201, CentreSchema)
def create_centre(args, actor):
    """Set up a county e-commerce centre (platform admins)."""
    scope_for(actor, Role.PLATFORM_ADMIN)
    return services.create_centre(args["county_code"], args["name"], args["commission_bps"])


@villages_blp.patch("/centres/<int:centre_id>")
@authenticated
@villages_blp.arguments(CentrePatchArgs)
@villages_blp.response(200, CentreSchema)
def patch_centre(changes, centre_id, actor):
    """Rename a centre or set its Alipay payout account (county admin of that county)."""
    return services.update_centre(actor, centre_id, changes)


@villages_blp.get("/centres")
@authenticated
@villages_blp.arguments(CentreQueryArgs, location="query")
@villages_blp.response(200, page_schema(CentreSchema, "CentrePage"))
def list_centres(args, actor):
    """County e-commerce centres the caller can see."""
    return services.list_centres(actor, args.get("county_code"), args["page"], args["per_page"])


@villages_blp.get("/metrics/villages")
@authenticated
@villages_blp.arguments(MetricsArgs, location="query")
@villages_blp.response(200, VillageMetricsSchema)
def village_metrics(args, actor):
    """Policy targets for a region: counts, per-child counts and villages falling short."""
    return metrics.village_metrics(actor, args["region"])


@villages_blp.post("/villages/<code>/workers")
@authenticated
@villages_blp.arguments(WorkerArgs)
@villages_blp.response(201, WorkerSchema)
def add_worker(args, code, actor):
    """Record an information officer or e-commerce talent (county admin)."""
    return workers.add_worker(actor, code, args)


@villages_blp.get("/villages/<code>/workers")
@authenticated
@villages_blp.arguments(WorkerQueryArgs, location="query")
@villages_blp.response(200, page_schema(WorkerSchema, "WorkerPage"))
def list_workers(args, code, actor):
    """A village's workers (those who left only with include_left=true)."""
    return workers.list_workers(actor, code, args["include_left"], args["page"], args["per_page"])


@villages_blp.post("/workers/<int:worker_id>/leave")
@authenticated
@villages_blp.arguments(LeaveArgs)
@villages_blp.response(200, WorkerSchema)
def worker_leaves(args, worker_id, actor):
    """A worker left: kept as history, no longer counted."""
    return workers.worker_leaves(actor, worker_id, args.get("left_on"))
