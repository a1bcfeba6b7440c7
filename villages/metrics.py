"""Policy-target metrics per region, computed with a fixed number of SQL aggregates."""

import sqlalchemy as sa

from core.auth import ensure_in_scope, scope_for
from core.errors import NotFound
from core.extensions import db
from core.models import User
from villages.access import STAFF_READERS
from villages.models import (
    CODE_LENGTHS,
    Region,
    RegionLevel,
    Station,
    StationStatus,
    Village,
    VillageWorker,
    WorkerKind,
)

_CHILD_LENGTH = {4: 6, 6: 9, 9: 12}
# Every count of a region (the API lists them in villages.schemas.RegionCountsSchema).
COUNTERS = (
    "villages",
    "poverty_villages",
    "with_info_officer",
    "with_ecommerce_talent",
    "with_station",
    "fibre_covered",
    "mobile_4g_covered",
    "poverty_villages_fibre_covered",
    "poverty_villages_4g_covered",
)


def _has_worker(kind: str):
    return (
        sa.select(VillageWorker.id)
        .where(
            VillageWorker.village_code == Village.code,
            VillageWorker.kind == kind,
            VillageWorker.left_on.is_(None),
        )
        .exists()
    )


def _village_flags():
    """Per-village booleans, as columns of a subquery over the villages table."""
    has_station = (
        sa.select(Station.id)
        .where(Station.village_code == Village.code, Station.status == StationStatus.ACTIVE)
        .exists()
    )
    return sa.select(
        Village.code.label("code"),
        Village.is_poverty_village.label("poverty"),
        Village.fibre_covered.label("fibre"),
        Village.mobile_4g_covered.label("mobile_4g"),
        *(_has_worker(kind).label(kind) for kind in WorkerKind),
        has_station.label("station"),
    )


def _count(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _missing_condition(flags):
    return sa.or_(
        ~flags.c.info_officer,
        ~flags.c.ecommerce_talent,
        sa.and_(flags.c.poverty, sa.or_(~flags.c.station, ~flags.c.fibre, ~flags.c.mobile_4g)),
    )


def village_metrics(user: User, region_code: str) -> dict:
    """Counts for ``region_code`` with one row per child region and the shortfall list."""
    ensure_in_scope(scope_for(user, *STAFF_READERS), region_code)
    return compute_village_metrics(region_code)


def compute_village_metrics(region_code: str) -> dict:
    """The metrics of a region, with no access check (reports freeze them)."""
    region = db.session.get(Region, region_code)
    if region is None:
        raise NotFound("地区不存在")
    flags = _village_flags().where(Village.code.startswith(region_code, autoescape=True)).subquery()
    child_length = _CHILD_LENGTH.get(len(region_code), CODE_LENGTHS[RegionLevel.VILLAGE])
    child = sa.func.substr(flags.c.code, 1, child_length).label("child")
    poverty = flags.c.poverty
    aggregates = db.session.execute(
        sa.select(
            child,
            sa.func.count().label("villages"),
            _count(poverty).label("poverty_villages"),
            _count(flags.c.info_officer).label("with_info_officer"),
            _count(flags.c.ecommerce_talent).label("with_ecommerce_talent"),
            _count(flags.c.station).label("with_station"),
            _count(flags.c.fibre).label("fibre_covered"),
            _count(flags.c.mobile_4g).label("mobile_4g_covered"),
            _count(sa.and_(poverty, flags.c.fibre)).label("poverty_villages_fibre_covered"),
            _count(sa.and_(poverty, flags.c.mobile_4g)).label("poverty_villages_4g_covered"),
        ).group_by(child)
    ).all()
    by_child = {row.child: {name: int(getattr(row, name)) for name in COUNTERS} for row in aggregates}
    totals = {name: sum(counts[name] for counts in by_child.values()) for name in COUNTERS}

    children = []
    if region.level != RegionLevel.VILLAGE:
        child_regions = db.session.execute(
            sa.select(Region.code, Region.name, Region.level)
            .where(Region.parent_code == region_code)
            .order_by(Region.code)
        ).all()
        empty = dict.fromkeys(COUNTERS, 0)
        children = [
            {"region": c.code, "region_name": c.name, "level": c.level, **by_child.get(c.code, empty)}
            for c in child_regions
        ]

    shortfall_rows = db.session.execute(
        sa.select(flags, Region.name)
        .join(Region, Region.code == flags.c.code)
        .where(_missing_condition(flags))
        .order_by(flags.c.code)
    ).all()
    return {
        "region": region.code,
        "region_name": region.name,
        "level": region.level,
        **totals,
        "children": children,
        "shortfalls": [_shortfall(row) for row in shortfall_rows],
    }


def _shortfall(row) -> dict:
    missing = [kind.value for kind in WorkerKind if not getattr(row, kind)]
    if row.poverty:
        targets = (("station", row.station), ("fibre", row.fibre), ("mobile_4g", row.mobile_4g))
        missing += [name for name, ok in targets if not ok]
    return {
        "village_code": row.code,
        "name": row.name,
        "is_poverty_village": bool(row.poverty),
        "missing": missing,
    }
