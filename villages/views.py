"""Region API."""

from flask_smorest import Blueprint

from core.pagination import page_schema
from villages import regions
from villages.schemas import RegionQueryArgs, RegionSchema

regions_blp = Blueprint("regions", __name__, description="行政区划")


@regions_blp.get("/regions")
@regions_blp.arguments(RegionQueryArgs, location="query")
@regions_blp.response(200, page_schema(RegionSchema, "RegionPage"))
def list_regions(args):
    """Child regions of ``parent`` (the city when omitted); public, paginated."""
    return regions.list_children(args.get("parent"), args["page"], args["per_page"])
