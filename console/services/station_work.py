"""A station manager's day: their station, orders to ship, the pick list, after-sales requests."""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from core.auth import scope_for
from core.db import utcnow
from core.errors import Forbidden
from core.extensions import db
from core.models import Role, User
from shop.orders import dispatch, pickup
from shop.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    PickupStatus,
    RefundRequest,
    RefundRequestLine,
    RefundRequestStatus,
)
from shop.orders.queries import OrderView
from shop.orders.schemas import MaskedAddressSchema, PickupOrderSchema
from villages.models import Station
from villages.stations import station_for_reader

MAX_LISTED = 100


def my_station(user: User, station_id: int | None = None) -> Station:
    """The station the manager works at (``station_id`` picks one when they run several)."""
    scope = scope_for(user, Role.STATION_MANAGER)
    mine = sorted(scope.station_ids or ())
    if not mine:
        raise Forbidden()
    chosen = station_id if station_id in mine else mine[0]
    return station_for_reader(user, chosen)


def managed_stations(user: User) -> list[Station]:
    scope = scope_for(user, Role.STATION_MANAGER)
    ids = sorted(scope.station_ids or ())
    return list(db.session.scalars(sa.select(Station).where(Station.id.in_(ids)).order_by(Station.id)))


def orders_to_ship(user: User, station: Station) -> list[OrderView]:
    """The station's orders to ship (``shop.orders.dispatch``), each with the recipient masked as the API shows it."""
    views = dispatch.orders_to_ship(user, station.id)
    for view in views:
        view.masked_address = MaskedAddressSchema().dump(view.order)
    return views


def pick_list(views: list[OrderView]) -> list[dict]:
    """What to take off the shelves: quantity per product and size over the orders to ship."""
    rows: dict[tuple, dict] = {}
    for view in views:
        for line in view.lines:
            row = rows.setdefault(
                (line.product_title, line.sku_name),
                {"product_title": line.product_title, "sku_name": line.sku_name, "quantity": 0, "orders": []},
            )
            row["quantity"] += line.quantity
            row["orders"].append(view.id)
    return sorted(rows.values(), key=lambda row: (row["product_title"], row["sku_name"]))


def open_refunds(user: User, station: Station) -> list[RefundRequest]:
    """After-sales requests waiting for a decision that involve the station's lines."""
    scope_for(user, Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
    return list(
        db.session.scalars(
            sa.select(RefundRequest)
            .where(
                RefundRequest.status == RefundRequestStatus.REQUESTED,
                RefundRequest.id.in_(
                    sa.select(RefundRequestLine.refund_id)
                    .join(OrderLine, OrderLine.id == RefundRequestLine.line_id)
                    .where(OrderLine.station_id == station.id)
                ),
            )
            .order_by(RefundRequest.created_at, RefundRequest.id)
            .limit(MAX_LISTED)
        )
    )


def pickups_to_handle(user: User, station: Station) -> dict:
    """到站自提 at the station: goods still to arrive, and parcels on the shelf waiting for their buyer.

    A parcel uncollected for PICKUP_UNCOLLECTED_DAYS may go back to stock (``returnable``).
    """
    days = current_app.config["PICKUP_UNCOLLECTED_DAYS"]
    cutoff = utcnow() - timedelta(days=days)
    ready = pickup.station_pickups(user, station.id, PickupStatus.READY)
    return {
        "awaiting": [
            order
            for order in pickup.station_pickups(user, station.id, PickupStatus.AWAITING_GOODS)
            if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED)  # not a cancelled order's
        ],
        "ready": ready,
        "returnable": {order.id for order in ready if order.pickup.arrived_at <= cutoff},
        "uncollected_days": days,
        "masked": {order.id: _masked_contact(order) for order in ready},
    }


def _masked_contact(order: Order) -> dict:
    return PickupOrderSchema().dump(order)["contact"]
