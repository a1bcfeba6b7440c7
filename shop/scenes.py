"""Scenes of the mini-program codes this backend generates, resolved back to what they open.

WeChat passes a code's ``scene`` (≤ 32 characters) to the page it opens. A
station poster carries the bare station id (villages/poster.py); the other
kinds carry a one-letter prefix: ``p<product id>``, ``g<group id>``,
``t<trace code>``.
"""

import re

import sqlalchemy as sa

from core.errors import NotFound
from core.extensions import db
from shop.batches.models import Batch
from shop.groups.models import GroupBuy
from shop.models import Product
from villages.models import Station

MAX_SCENE_LENGTH = 32
_SCENE = re.compile(
    r"^(?:(?P<station>\d{1,12})|p(?P<product>\d{1,12})|g(?P<group>\d{1,12})|t(?P<trace>[A-Za-z0-9]{1,16}))$"
)


def product_scene(product_id: int) -> str:
    return f"p{product_id}"


def group_scene(group_id: int) -> str:
    return f"g{group_id}"


def trace_scene(trace_code: str) -> str:
    return f"t{trace_code}"


def resolve_scene(scene: str) -> dict:
    """``{"kind", "id"|"code"}`` for a scene naming a record that exists and may be shown; else 404."""
    match = _SCENE.match(scene) if len(scene) <= MAX_SCENE_LENGTH else None
    if match is None:
        raise NotFound("二维码无法识别")
    if match["station"]:
        station = db.session.get(Station, int(match["station"]))
        if station is not None:  # its name and village head the station's page
            village = {"code": station.village_code, "name": station.village.name}
            return {"kind": "station", "id": station.id, "name": station.name, "village": village}
    elif match["product"]:
        product = db.session.get(Product, int(match["product"]))
        if product is not None and product.is_public:
            return {"kind": "product", "id": product.id}
    elif match["group"]:
        group = db.session.get(GroupBuy, int(match["group"]))
        if group is not None:
            return {"kind": "group", "id": group.id}
    else:
        batch = db.session.scalar(sa.select(Batch).where(Batch.trace_code == match["trace"]))
        if batch is not None:
            return {"kind": "trace", "code": batch.trace_code}
    raise NotFound("二维码对应的内容不存在或已下架")
