"""The region a staff member works on, and the regions they may switch to."""

import sqlalchemy as sa

from core.auth import Scope, ensure_in_scope
from core.errors import NotFound
from core.extensions import db
from villages.models import Region, RegionLevel


def city_code() -> str:
    code = db.session.scalar(sa.select(Region.code).where(Region.level == RegionLevel.CITY).order_by(Region.code))
    if code is None:
        raise NotFound("尚未导入行政区划")
    return code


def region_in_scope(scope: Scope, code: str | None) -> Region:
    """``code`` (default: the first region of the scope, the city for unrestricted roles), checked."""
    if not code:
        code = scope.prefixes[0] if scope.prefixes else city_code()
    ensure_in_scope(scope, code)
    region = db.session.get(Region, code)
    if region is None:
        raise NotFound("地区不存在")
    return region


def lineage(region: Region) -> list[Region]:
    """The region's ancestors from the city down, and the region itself."""
    codes = [region.code[:length] for length in (4, 6, 9, 12) if length < len(region.code)]
    by_code = {r.code: r for r in db.session.scalars(sa.select(Region).where(Region.code.in_(codes)))}
    return [by_code[code] for code in codes if code in by_code] + [region]


def children(region_code: str) -> list[Region]:
    return list(db.session.scalars(sa.select(Region).where(Region.parent_code == region_code).order_by(Region.code)))
