"""Live sales figures by SQL aggregates: a fixed number of queries whatever the volume.

What counts: order lines of orders paid within the date range (Beijing dates),
whose origin village lies in the region; every amount is net of refunds
(a refunded line contributes its amount minus what was refunded). Household
income is what the ledger credited to sellers for those lines, net of
reversals, split by the household category the seller had when the order was
placed: 脱贫户 (``tuopin_household_income_fen``) and 防止返贫致贫监测对象
(``monitored_household_income_fen``). ``poor_household_income_fen``, the
figure of the 2018 contract, is their sum, so it reads as before.
"""

from datetime import date, datetime, time, timedelta
from enum import StrEnum

import sqlalchemy as sa

from core.clock import BEIJING
from core.extensions import db
from shop.orders.models import LineStatus, Order, OrderLine
from villages.models import CODE_LENGTHS, HouseholdCategory, Region, RegionLevel


class SalesGrouping(StrEnum):
    """``group_by`` of the sales figures."""

    REGION = "region"  # the next level down
    VILLAGE = "village"
    CATEGORY = "category"
    MONTH = "month"  # Beijing calendar month of payment


FIGURES = (
    "gmv_fen",
    "orders",
    "buyers",
    "units",
    "poverty_village_gmv_fen",
    "poor_household_income_fen",
    "tuopin_household_income_fen",
    "monitored_household_income_fen",
    "certified_product_gmv_fen",
    "refunded_fen",
)
# Figures added after reports were first frozen: a snapshot without them is not drift.
ADDED_FIGURES = ("tuopin_household_income_fen", "monitored_household_income_fen")
_CHILD_LENGTH = {4: 6, 6: 9, 9: 12}


def beijing_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in aware datetimes for Beijing calendar days first..last."""
    start = datetime.combine(first, time.min, BEIJING)
    end = datetime.combine(last + timedelta(days=1), time.min, BEIJING)
    return start, end


def month_bounds(period: str) -> tuple[date, date]:
    """First and last day of a YYYY-MM month."""
    year, month = (int(part) for part in period.split("-"))
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _month_expression(column):
    if db.engine.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+8 hours")


def _group_column(group_by: str, region_code: str):
    if group_by == SalesGrouping.REGION:
        child_length = _CHILD_LENGTH.get(len(region_code), CODE_LENGTHS[RegionLevel.VILLAGE])
        return sa.func.substr(OrderLine.village_code, 1, child_length)
    if group_by == SalesGrouping.VILLAGE:
        return OrderLine.village_code
    if group_by == SalesGrouping.CATEGORY:
        return OrderLine.category_slug
    return _month_expression(Order.paid_at)


def counted_lines(region_code: str, first: date, last: date):
    """The WHERE clause of the lines a report counts."""
    start, end = beijing_bounds(first, last)
    return sa.and_(
        Order.paid_at >= start,
        Order.paid_at < end,
        OrderLine.village_code.startswith(region_code, autoescape=True),
        OrderLine.status != LineStatus.CANCELLED,
    )


SUPPORTED = (HouseholdCategory.TUOPIN, HouseholdCategory.MONITORED)


def _income_of(income, *categories):
    """The seller income of lines whose seller was in ``categories`` when the order was placed."""
    values = [category.value for category in categories]
    return sa.case((OrderLine.seller_household_category.in_(values), income.c.income_fen), else_=0)


def _aggregates(income):
    net = OrderLine.amount_fen - OrderLine.refunded_fen
    live = OrderLine.refunded_fen < OrderLine.amount_fen
    zero = sa.literal(0)
    return (
        sa.func.coalesce(sa.func.sum(net), zero).label("gmv_fen"),
        sa.func.count(sa.distinct(sa.case((live, Order.id)))).label("orders"),
        sa.func.count(sa.distinct(sa.case((live, Order.buyer_id)))).label("buyers"),
        sa.func.coalesce(sa.func.sum(sa.case((live, OrderLine.quantity), else_=0)), zero).label("units"),
        sa.func.coalesce(sa.func.sum(sa.case((OrderLine.poverty_village, net), else_=0)), zero).label(
            "poverty_village_gmv_fen"
        ),
        sa.func.coalesce(sa.func.sum(_income_of(income, *SUPPORTED)), zero).label("poor_household_income_fen"),
        sa.func.coalesce(sa.func.sum(_income_of(income, HouseholdCategory.TUOPIN)), zero).label(
            "tuopin_household_income_fen"
        ),
        sa.func.coalesce(sa.func.sum(_income_of(income, HouseholdCategory.MONITORED)), zero).label(
            "monitored_household_income_fen"
        ),
        sa.func.coalesce(sa.func.sum(sa.case((OrderLine.poverty_certified, net), else_=0)), zero).label(
            "certified_product_gmv_fen"
        ),
        sa.func.coalesce(sa.func.sum(OrderLine.refunded_fen), zero).label("refunded_fen"),
    )


def sales_figures(region_code: str, first: date, last: date, group_by: str | None) -> dict:
    """Totals and rows grouped by ``group_by``: one pass over the counted lines (GROUPING SETS) on
    PostgreSQL, two on SQLite (which has none), plus one query for the rows' names.

    The seller income is summed only over the counted lines whose seller was a supported household
    (the only ones it is reported for), not over the whole ledger.
    """
    from reports.income import poor_household_income_by_line

    where = counted_lines(region_code, first, last)
    supported = sa.select(OrderLine.id).join(Order, Order.id == OrderLine.order_id)
    supported = supported.where(where, OrderLine.seller_household_category.in_([c.value for c in SUPPORTED]))
    income = poor_household_income_by_line(supported)
    base = (
        sa.select()
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(income, income.c.order_line_id == OrderLine.id)
        .where(where)
    )
    grouped = []
    if not group_by:
        totals_row = db.session.execute(base.add_columns(*_aggregates(income))).one()
    elif db.session.get_bind().dialect.name == "postgresql":
        key = _group_column(group_by, region_code)
        is_total = sa.func.grouping(key).label("is_total")
        result = db.session.execute(
            base.add_columns(key.label("key"), is_total, *_aggregates(income))
            .group_by(sa.func.grouping_sets(sa.tuple_(key), sa.tuple_()))
            .order_by(is_total.desc(), key)
        ).all()
        totals_row, grouped = result[0], result[1:]
    else:
        totals_row = db.session.execute(base.add_columns(*_aggregates(income))).one()
        key = _group_column(group_by, region_code).label("key")
        grouped = db.session.execute(base.add_columns(key, *_aggregates(income)).group_by(key).order_by(key)).all()
    totals = {name: int(getattr(totals_row, name)) for name in FIGURES}
    rows = []
    if group_by:
        names = _names(group_by, [row.key for row in grouped])
        rows = [
            {"key": row.key, "name": names.get(row.key, row.key), **{f: int(getattr(row, f)) for f in FIGURES}}
            for row in grouped
        ]
    return {"totals": totals, "rows": rows}


def _names(group_by: str, keys: list[str]) -> dict[str, str]:
    if group_by in (SalesGrouping.REGION, SalesGrouping.VILLAGE) and keys:
        return dict(db.session.execute(sa.select(Region.code, Region.name).where(Region.code.in_(keys))).all())
    if group_by == SalesGrouping.CATEGORY and keys:
        from shop.models import Category

        return dict(db.session.execute(sa.select(Category.slug, Category.name).where(Category.slug.in_(keys))).all())
    return {}
