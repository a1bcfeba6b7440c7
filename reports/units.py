"""Units' purchases from poverty-affected areas, progress toward their reserved share, and the league table.

What counts: lines of unit orders paid within the period (Beijing dates), not
cancelled, net of refunds. A line is *from a poverty-affected area* (帮扶产品)
when its product was certified as a poverty-alleviation product or its origin
village is a poverty village, both as snapshotted on the line at order time.
The reserved-share target is yearly: progress counts canteen purchases of
such products from 1 January to the end of the period against that year's
target. Union welfare purchases are shown on their own and never count toward
a target. A fixed number of aggregate queries whatever the volume.
"""

from datetime import date

import sqlalchemy as sa

from core.auth import Scope, ensure_overlaps, scope_for
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from institutions.models import Purpose, Unit, UnitOrder, UnitTarget
from institutions.units import unit_for_reader
from reports.analytics import beijing_bounds, month_bounds
from shop.models import Category
from shop.orders.models import LineStatus, Order, OrderLine
from villages.models import Region

BPS = 10_000
READERS = (Role.COUNTY_ADMIN, Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN)


def period_bounds(year: int | None, period: str | None) -> tuple[date, date, int]:
    """First and last day of the year or month asked for, and its year."""
    if period:
        first, last = month_bounds(period)
        return first, last, first.year
    return date(year, 1, 1), date(year, 12, 31), year


def _net():
    return OrderLine.amount_fen - OrderLine.refunded_fen


def _qualifying():
    return sa.or_(OrderLine.poverty_certified, OrderLine.poverty_village)


def _lines(unit_ids: list[int], first: date, last: date):
    start, end = beijing_bounds(first, last)
    return (
        sa.select()
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(UnitOrder, UnitOrder.order_id == Order.id)
        .where(
            UnitOrder.unit_id.in_(unit_ids),
            Order.paid_at >= start,
            Order.paid_at < end,
            OrderLine.status != LineStatus.CANCELLED,
        )
    )


def _sum(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, _net()), else_=0)), sa.literal(0))


def unit_figures(units: list[Unit], first: date, last: date, year: int) -> list[dict]:
    """One row per unit with every figure of the unit report, ranked for the 通报 table."""
    ids = [unit.id for unit in units]
    rows = {unit.id: _empty_row(unit) for unit in units}
    if not ids:
        return []
    qualifying, canteen = _qualifying(), UnitOrder.purpose == Purpose.CANTEEN
    welfare = UnitOrder.purpose == Purpose.UNION_WELFARE
    live = OrderLine.refunded_fen < OrderLine.amount_fen
    totals = db.session.execute(
        _lines(ids, first, last)
        .add_columns(
            UnitOrder.unit_id,
            sa.func.count(sa.distinct(sa.case((live, Order.id)))).label("orders"),
            _sum(sa.true()).label("purchases_fen"),
            _sum(qualifying).label("poverty_purchases_fen"),
            _sum(sa.and_(qualifying, canteen)).label("canteen_poverty_fen"),
            _sum(welfare).label("union_welfare_fen"),
            _sum(sa.and_(qualifying, welfare)).label("union_welfare_poverty_fen"),
        )
        .group_by(UnitOrder.unit_id)
    ).all()
    for total in totals:
        row = rows[total.unit_id]
        for name in ("orders", *FIGURES):
            row[name] = int(getattr(total, name))
    county = sa.func.substr(OrderLine.village_code, 1, 6).label("county")
    by_county = db.session.execute(
        _lines(ids, first, last)
        .where(qualifying)
        .add_columns(UnitOrder.unit_id, county, sa.func.sum(_net()).label("fen"))
        .group_by(UnitOrder.unit_id, county)
        .order_by(UnitOrder.unit_id, county)
    ).all()
    by_category = db.session.execute(
        _lines(ids, first, last)
        .where(qualifying)
        .add_columns(UnitOrder.unit_id, OrderLine.category_slug, sa.func.sum(_net()).label("fen"))
        .group_by(UnitOrder.unit_id, OrderLine.category_slug)
        .order_by(UnitOrder.unit_id, OrderLine.category_slug)
    ).all()
    counties = _names(Region.code, Region.name, {row.county for row in by_county})
    categories = _names(Category.slug, Category.name, {row.category_slug for row in by_category})
    for row in by_county:
        if int(row.fen):
            rows[row.unit_id]["by_county"].append(
                {
                    "code": row.county,
                    "name": counties.get(row.county, row.county),
                    "poverty_purchases_fen": int(row.fen),
                }
            )
    for row in by_category:
        if int(row.fen):
            rows[row.unit_id]["by_category"].append(
                {
                    "slug": row.category_slug,
                    "name": categories.get(row.category_slug, row.category_slug),
                    "poverty_purchases_fen": int(row.fen),
                }
            )
    _add_targets(rows, ids, last, year)
    return rank(list(rows.values()))


FIGURES = (
    "purchases_fen",
    "poverty_purchases_fen",
    "canteen_poverty_fen",
    "union_welfare_fen",
    "union_welfare_poverty_fen",
)


def _empty_row(unit: Unit) -> dict:
    return {
        "unit_id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "credit_code": unit.credit_code,
        "region_code": unit.region_code,
        "parent_id": unit.parent_id,
        "orders": 0,
        **dict.fromkeys(FIGURES, 0),
        "by_county": [],
        "by_category": [],
        "target": None,
        "rank": None,
    }


def _names(key_column, name_column, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    return dict(db.session.execute(sa.select(key_column, name_column).where(key_column.in_(keys))).all())


def _add_targets(rows: dict[int, dict], ids: list[int], last: date, year: int) -> None:
    """Each budget unit's target of the year and what its canteen bought toward it up to ``last``."""
    targets = {
        target.unit_id: target
        for target in db.session.scalars(
            sa.select(UnitTarget).where(UnitTarget.unit_id.in_(ids), UnitTarget.year == year)
        )
    }
    if not targets:
        return
    counted = dict(
        db.session.execute(
            _lines(list(targets), date(year, 1, 1), last)
            .where(_qualifying(), UnitOrder.purpose == Purpose.CANTEEN)
            .add_columns(UnitOrder.unit_id, sa.func.sum(_net()))
            .group_by(UnitOrder.unit_id)
        ).all()
    )
    for unit_id, target in targets.items():
        so_far = int(counted.get(unit_id) or 0)
        rows[unit_id]["target"] = {
            "year": year,
            "canteen_budget_fen": target.canteen_budget_fen,
            "ratio_bps": target.ratio_bps,
            "target_fen": target.target_fen,
            "counted_fen": so_far,
            "share_bps": so_far * BPS // target.target_fen if target.target_fen else None,
            "remaining_fen": max(target.target_fen - so_far, 0),
        }


def rank(rows: list[dict]) -> list[dict]:
    """The 通报 order: share of target reached (units with a target first), then purchases, then name."""

    def key(row: dict):
        share = row["target"]["share_bps"] if row["target"] and row["target"]["share_bps"] is not None else None
        return (share is None, -(share or 0), -row["poverty_purchases_fen"], row["name"], row["unit_id"])

    ordered = sorted(rows, key=key)
    for number, row in enumerate(ordered, start=1):
        row["rank"] = number
    return ordered


def units_in(scope: Scope, region_code: str | None = None) -> list[Unit]:
    statement = sa.select(Unit).where(scope.filter(Unit.region_code), Unit.is_active.is_(True)).order_by(Unit.id)
    if region_code:
        statement = statement.where(Unit.region_code.startswith(region_code, autoescape=True))
    return list(db.session.scalars(statement))


def units_report(units: list[Unit], year: int | None, period: str | None, unit_id: int | None = None) -> dict:
    """The league table of ``units`` for the period, or one unit's own page with its rank among them."""
    first, last, of_year = period_bounds(year, period)
    rows = unit_figures(units, first, last, of_year)
    totals = {name: sum(row[name] for row in rows) for name in ("orders", *FIGURES)}
    if unit_id is not None:
        rows = [row for row in rows if row["unit_id"] == unit_id]
    return {
        "year": of_year,
        "period": period,
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "units_ranked": len(units),
        "totals": totals,
        "rows": rows,
    }


def report_for(actor: User, args: dict) -> dict:
    """The table for readers over a region, or one unit's own page for its members."""
    unit_id = args.get("unit_id")
    if actor.has_role(*READERS):
        scope = scope_for(actor, *READERS)
        if args.get("region"):
            ensure_overlaps(scope, args["region"])
        peers = units_in(scope, args.get("region"))
        if unit_id is not None and unit_id not in {unit.id for unit in peers}:
            raise NotFound("单位不存在")
        return units_report(peers, args.get("year"), args.get("period"), unit_id)
    if unit_id is None:
        raise ValidationFailed.field("unit_id", "请指定单位")
    unit = unit_for_reader(actor, unit_id)
    peers = units_in(Scope(prefixes=(unit.region_code[:4],)))
    return units_report(peers, args.get("year"), args.get("period"), unit.id)
