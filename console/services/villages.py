"""村与服务站 as the console shows them: the region tree with its counts, a village's people and stations."""

from console.services.regions import lineage, region_in_scope
from core.models import User
from villages.access import county_scope
from villages.metrics import village_metrics
from villages.stations import list_stations


def region_tree(user: User, region_code: str | None, status: str | None, page: int) -> dict:
    """A county (or township) of the user's: its children with policy counts, and its stations."""
    region = region_in_scope(county_scope(user), region_code)
    metrics = village_metrics(user, region.code)
    return {
        "region": region,
        "lineage": lineage(region),
        "metrics": metrics,
        "stations": list_stations(user, region.code, status, page, 50),
    }
