"""Pre-sale (预售): opening one, the stations' harvest plan, and what happens as the delivery window ends.

Quotas are taken at checkout in ``shop.orders.quota``; the promised window is
copied onto each line. A line not shipped by the window's last day lets the
buyer cancel for a full refund; the station is warned PRESALE_WARN_DAYS before.
"""

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.auth import scope_for
from core.clock import BEIJING
from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.tasks import run_later
from shop.models import Product, Sku
from shop.orders import fulfilment
from shop.orders.auto_refunds import refund_lines_in_full
from shop.orders.messages import notify_presale_due, notify_presale_overdue
from shop.orders.models import (
    BuyerNotification,
    BuyerNotificationKind,
    LineStatus,
    NotificationStatus,
    Order,
    OrderLine,
    OrderStatus,
    Presale,
)
from shop.orders.states import require_status
from villages.models import Station

PLANNERS = (Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)


def _beijing_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _check_station(actor: User, station_id: int) -> Station:
    """The station, for its manager or an admin over it; 404 otherwise (existence is not revealed)."""
    scope = scope_for(actor, *PLANNERS)
    station = db.session.get(Station, station_id)
    if station is None or not (scope.covers(station.village_code) and scope.covers_station(station.id)):
        raise NotFound("服务站不存在")
    return station


def create_presale(actor: User, product_id: int, data: dict) -> Presale:
    """Put a product (or one of its SKUs) on pre-sale: quota, order window, delivery window."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("商品不存在")
    _check_station(actor, product.station_id)
    sku_id = data.get("sku_id")
    if (
        sku_id is not None
        and db.session.scalar(sa.select(Sku.id).where(Sku.id == sku_id, Sku.product_id == product.id)) is None
    ):
        raise ValidationFailed.field("sku_id", "该规格不属于此商品")
    if data["order_until"] <= data["order_from"]:
        raise ValidationFailed.field("order_until", "预售截止时间应晚于开始时间")
    if data["ships_until"] < data["ships_from"]:
        raise ValidationFailed.field("ships_until", "发货期结束日期不能早于开始日期")
    if data["ships_until"] < _beijing_day(data["order_from"]):
        raise ValidationFailed.field("ships_until", "发货期不能早于预售开始")
    overlapping = db.session.scalar(
        sa.select(Presale.id).where(
            Presale.product_id == product.id,
            sa.or_(Presale.sku_id.is_(None), sku_id is None, Presale.sku_id == sku_id),
            Presale.order_from < data["order_until"],
            Presale.order_until > data["order_from"],
        )
    )
    if overlapping is not None:
        raise Conflict("该商品在这段时间已有预售", details={"presale_id": overlapping})
    presale = Presale(
        product_id=product.id,
        sku_id=sku_id,
        quota=data["quota"],
        order_from=data["order_from"],
        order_until=data["order_until"],
        ships_from=data["ships_from"],
        ships_until=data["ships_until"],
        created_by_id=actor.id,
    )
    db.session.add(presale)
    db.session.flush()
    return presale


def product_presales(product_id: int) -> list[Presale]:
    """A public product's pre-sales that are open or still to come (what the product page shows)."""
    product = db.session.get(Product, product_id)
    if product is None or not product.is_public:
        raise NotFound("商品不存在")
    return list(
        db.session.scalars(
            sa.select(Presale)
            .where(Presale.product_id == product_id, Presale.order_until > utcnow())
            .order_by(Presale.order_from)
        )
    )


def presale_plan(actor: User, station_id: int) -> dict:
    """The station's paid, unshipped pre-sale lines grouped by promised delivery window (harvest planning)."""
    _check_station(actor, station_id)
    rows = db.session.execute(
        sa.select(
            OrderLine.ships_from,
            OrderLine.ships_until,
            OrderLine.product_id,
            OrderLine.product_title,
            OrderLine.sku_id,
            OrderLine.sku_name,
            sa.func.sum(OrderLine.quantity),
            sa.func.count(sa.distinct(OrderLine.order_id)),
        )
        .where(
            OrderLine.station_id == station_id,
            OrderLine.presale_id.is_not(None),
            OrderLine.status == LineStatus.PAID,
        )
        .group_by(
            OrderLine.ships_from,
            OrderLine.ships_until,
            OrderLine.product_id,
            OrderLine.product_title,
            OrderLine.sku_id,
            OrderLine.sku_name,
        )
        .order_by(OrderLine.ships_until, OrderLine.ships_from, OrderLine.product_id, OrderLine.sku_id)
    ).all()
    orders_by_window = {
        (ships_from, ships_until): count
        for ships_from, ships_until, count in db.session.execute(
            sa.select(OrderLine.ships_from, OrderLine.ships_until, sa.func.count(sa.distinct(OrderLine.order_id)))
            .where(
                OrderLine.station_id == station_id,
                OrderLine.presale_id.is_not(None),
                OrderLine.status == LineStatus.PAID,
            )
            .group_by(OrderLine.ships_from, OrderLine.ships_until)
        )
    }
    windows: dict[tuple, dict] = {}
    for ships_from, ships_until, product_id, title, sku_id, sku_name, units, orders in rows:
        window = windows.setdefault(
            (ships_from, ships_until),
            {
                "ships_from": ships_from,
                "ships_until": ships_until,
                "orders": orders_by_window[(ships_from, ships_until)],
                "units": 0,
                "items": [],
            },
        )
        window["units"] += units
        window["items"].append(
            {
                "product_id": product_id,
                "product_title": title,
                "sku_id": sku_id,
                "sku_name": sku_name,
                "units": units,
                "orders": orders,
            }
        )
    return {"station_id": station_id, "windows": list(windows.values())}


def overdue_presale_lines(order: Order, today: date) -> list[OrderLine]:
    """Paid pre-sale lines whose delivery window ended before ``today`` (Beijing) without shipping."""
    return [
        line
        for line in order.lines
        if line.presale_id is not None and line.status == LineStatus.PAID and line.ships_until < today
    ]


def cancel_order(buyer: User, order_id: int) -> Order:
    """The buyer cancels: an unpaid order as ever, or a paid one whose pre-sale missed its delivery window.

    The late case refunds every unshipped line in full at once (no station decision needed).
    """
    order = fulfilment.buyers_order(buyer, order_id, lock=True)
    if order.status == OrderStatus.PENDING_PAYMENT:
        return fulfilment.cancel_order(buyer, order_id)
    if not overdue_presale_lines(order, _beijing_day(utcnow())):
        require_status(order, OrderStatus.PENDING_PAYMENT)  # the usual refusal
    unshipped = [line for line in order.lines if line.status == LineStatus.PAID]
    refund_lines_in_full(order, unshipped, buyer, "预售超过承诺发货期未发货，买家取消订单，全额退款")
    return order


def warn_presale_deadlines(now: datetime | None = None, batch_size: int = 100) -> int:
    """Mark one batch of pre-sales ending within PRESALE_WARN_DAYS with paid lines unshipped, and warn their
    stations after the commit; returns how many (SKIP LOCKED: safe on several workers)."""
    today = _beijing_day(now or utcnow())
    horizon = today + timedelta(days=current_app.config["PRESALE_WARN_DAYS"])
    unshipped = sa.exists().where(OrderLine.presale_id == Presale.id, OrderLine.status == LineStatus.PAID)
    presales = db.session.scalars(
        sa.select(Presale)
        .where(Presale.warned_at.is_(None), Presale.ships_until >= today, Presale.ships_until <= horizon, unshipped)
        .order_by(Presale.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    for presale in presales:
        presale.warned_at = now or utcnow()
        run_later(notify_presale_due, presale.id)
    return len(presales)


def orders_past_presale_window(now: datetime | None = None) -> list[int]:
    """Orders with a paid pre-sale line whose window has ended unshipped, whose buyer was not told yet."""
    today = _beijing_day(now or utcnow())
    told = sa.exists().where(
        BuyerNotification.order_id == OrderLine.order_id,
        BuyerNotification.kind == BuyerNotificationKind.PRESALE_OVERDUE,
        BuyerNotification.status.in_((NotificationStatus.SENT, NotificationStatus.SKIPPED)),
    )
    return list(
        db.session.scalars(
            sa.select(sa.distinct(OrderLine.order_id))
            .where(
                OrderLine.presale_id.is_not(None),
                OrderLine.status == LineStatus.PAID,
                OrderLine.ships_until < today,
                ~told,
            )
            .order_by(OrderLine.order_id)
        )
    )


def tell_buyers_of_late_presales(now: datetime | None = None) -> int:
    """Queue the 'you may cancel for a full refund' message for each late pre-sale order (the sender skips repeats)."""
    order_ids = orders_past_presale_window(now)
    for order_id in order_ids:
        run_later(notify_presale_overdue, order_id)
    return len(order_ids)
