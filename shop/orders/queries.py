"""Who sees which orders: buyers their own, stations their lines, counties their county."""

from datetime import date, datetime, time, timedelta
from enum import StrEnum

import sqlalchemy as sa

from core.auth import Scope, scope_for
from core.clock import BEIJING
from core.db import utcnow
from core.errors import NotFound
from core.extensions import db
from core.models import STAFF_ROLES, Role, User
from core.pagination import paginate
from shop.orders.models import CancelReason, Order, OrderEvent, OrderLine, OrderStatus
from shop.signals import order_groups_requested
from villages.models import PiiAccess, PiiSubject, Station

# Who may handle a station's orders (ship, read the full address).
ORDER_HANDLERS = (Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)


class OrderListView(StrEnum):
    """``GET /orders?view=``: the caller's own orders, or the orders with lines in their scope."""

    OWN = "own"
    STAFF = "staff"


class Viewer(StrEnum):
    BUYER = "buyer"  # sees every line
    STAFF = "staff"  # sees the lines in their scope


class OrderView:
    """An order as one viewer may see it: all lines, or only their station's."""

    def __init__(self, order: Order, lines: list[OrderLine], now: datetime, viewer: Viewer):
        self.order = order
        self.lines = lines
        self.viewer = viewer
        self.expired = order.is_past_deadline(now) or order.cancel_reason == CancelReason.EXPIRED
        # An unpaid order past its deadline reads as cancelled before the job runs.
        self.status = OrderStatus.CANCELLED if order.is_past_deadline(now) else order.status
        self.group: dict | None = None  # {"id", "status"} of the group buy the order belongs to

    def __getattr__(self, name):
        return getattr(self.order, name)

    @property
    def lines_total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def with_groups(views: list[OrderView]) -> list[OrderView]:
    """Mark the orders of group buys with their group (answered by ``shop.groups``)."""
    ids = [view.order.id for view in views]
    if ids:
        for _receiver, groups in order_groups_requested.send(None, order_ids=ids):
            for view in views:
                view.group = groups.get(view.order.id, view.group)
    return views


def _staff_scope(user: User) -> Scope:
    return scope_for(user, *STAFF_ROLES)


def _in_scope_lines(scope: Scope, order: Order) -> list[OrderLine]:
    stations = {
        station.id: station.village_code
        for station in db.session.scalars(
            sa.select(Station).where(Station.id.in_({line.station_id for line in order.lines}))
        )
    }
    return [
        line
        for line in order.lines
        if scope.covers(stations[line.station_id]) and scope.covers_station(line.station_id)
    ]


def buyer_view(order: Order) -> OrderView:
    """The buyer's view of an order the caller already holds (just placed, cancelled, received)."""
    return with_groups([OrderView(order, list(order.lines), utcnow(), Viewer.BUYER)])[0]


def default_list_view(user: User) -> OrderListView:
    """Staff see the orders they handle unless they ask for their own."""
    return OrderListView.STAFF if user.has_role(*STAFF_ROLES) else OrderListView.OWN


def order_for(user: User, order_id: int) -> OrderView:
    """The order for its buyer (all lines) or for staff (the lines in their scope)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("订单不存在")
    now = utcnow()
    if order.buyer_id == user.id:
        return with_groups([OrderView(order, list(order.lines), now, Viewer.BUYER)])[0]
    if not user.has_role(*STAFF_ROLES):
        raise NotFound("订单不存在")
    lines = _in_scope_lines(_staff_scope(user), order)
    if not lines:
        raise NotFound("订单不存在")
    return with_groups([OrderView(order, lines, now, Viewer.STAFF)])[0]


def list_orders(
    user: User,
    view: str,
    status: str | None,
    station_id: int | None,
    page: int,
    per_page: int,
    *,
    placed_from: date | None = None,
    placed_to: date | None = None,
) -> dict:
    """``view=own`` (the buyer's orders) or ``view=staff`` (orders with lines in scope); optionally by
    the Beijing dates they were placed on."""
    statement = sa.select(Order).order_by(Order.id.desc())
    if placed_from:
        statement = statement.where(Order.created_at >= datetime.combine(placed_from, time.min, BEIJING))
    if placed_to:
        statement = statement.where(
            Order.created_at < datetime.combine(placed_to + timedelta(days=1), time.min, BEIJING)
        )
    scope = None
    if view == OrderListView.OWN:
        statement = statement.where(Order.buyer_id == user.id)
    else:
        scope = _staff_scope(user)
        lines = (
            sa.select(OrderLine.order_id)
            .join(Station, Station.id == OrderLine.station_id)
            .where(scope.filter(Station.village_code), scope.station_filter(Station.id))
        )
        if station_id is not None:
            lines = lines.where(OrderLine.station_id == station_id)
        statement = statement.where(Order.id.in_(lines))
    if status:
        statement = statement.where(Order.status == status)
    result = paginate(statement, page, per_page)
    now = utcnow()
    if scope is None:
        result["items"] = [OrderView(o, list(o.lines), now, Viewer.BUYER) for o in result["items"]]
    else:
        result["items"] = [OrderView(o, _in_scope_lines(scope, o), now, Viewer.STAFF) for o in result["items"]]
    with_groups(result["items"])
    return result


def order_events(view: OrderView) -> list[OrderEvent]:
    """The order's trail: all of it for the buyer, the order's own steps and their lines' for staff."""
    statement = sa.select(OrderEvent).where(OrderEvent.order_id == view.id).order_by(OrderEvent.id)
    if view.viewer == Viewer.STAFF:
        visible = [line.id for line in view.lines]
        statement = statement.where(sa.or_(OrderEvent.line_id.is_(None), OrderEvent.line_id.in_(visible)))
    return list(db.session.scalars(statement))


def shipping_label(user: User, order_id: int) -> OrderView:
    """The full address for the station that ships (each look is audited)."""
    view = order_for(user, order_id)
    if view.viewer != Viewer.STAFF or not user.has_role(*ORDER_HANDLERS):
        raise NotFound("订单不存在")
    db.session.add(
        PiiAccess(user_id=user.id, subject_type=PiiSubject.ORDER, subject_id=order_id, fields="address", reason="发货")
    )
    db.session.flush()
    return view
