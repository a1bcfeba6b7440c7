"""What a station has to send out: its paid lines by courier, oldest payment first."""

import sqlalchemy as sa

from core.extensions import db
from core.models import User
from shop.groups.lifecycle import orders_awaiting_group
from shop.orders.models import LineStatus, OrderLine, OrderPickup
from shop.orders.queries import OrderView, order_for

MAX_LISTED = 100


def orders_to_ship(user: User, station_id: int) -> list[OrderView]:
    """Orders with paid lines of the station, oldest payment first, each with only the station's paid lines.

    A group buy's orders wait until their group has succeeded; an order collected
    at this station is handed over at the counter (``shop.orders.pickup``), never
    sent by courier.
    """
    order_ids = db.session.scalars(
        sa.select(OrderLine.order_id)
        .where(
            OrderLine.station_id == station_id,
            OrderLine.status == LineStatus.PAID,
            OrderLine.order_id.not_in(orders_awaiting_group()),
            OrderLine.order_id.not_in(sa.select(OrderPickup.order_id).where(OrderPickup.station_id == station_id)),
        )
        .group_by(OrderLine.order_id)
        .order_by(OrderLine.order_id)
        .limit(MAX_LISTED)
    ).all()
    views = [order_for(user, order_id) for order_id in order_ids]
    for view in views:
        view.lines = [line for line in view.lines if line.station_id == station_id and line.status == LineStatus.PAID]
    return sorted(views, key=lambda view: (view.paid_at is None, view.paid_at, view.id))
