"""An order's life after checkout: payment, cancellation, expiry, shipping, receipt."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.auth import scope_for
from core.db import utcnow
from core.errors import Forbidden, NotFound
from core.extensions import db
from core.models import Role, User
from core.tasks import run_later
from shop.batches.allocation import assign_batches
from shop.models import Product
from shop.orders.messages import notify_sellers_of_paid_order
from shop.orders.models import (
    CancelReason,
    LineStatus,
    Order,
    OrderLine,
    OrderPickup,
    OrderStatus,
    PickupStatus,
    Shipment,
)
from shop.orders.placement import release_stock
from shop.orders.states import InvalidState, move_every_line, move_line, require_status, sync_order
from shop.signals import lines_shipped, lines_shipping, order_cancelled, order_expired, order_paid
from villages.models import Station


def lock_order(order_id: int) -> Order:
    """The order, row-locked for the rest of the transaction (PostgreSQL)."""
    order = db.session.scalar(
        sa.select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("订单不存在")
    return order


def buyers_order(buyer: User, order_id: int, *, lock: bool = False) -> Order:
    order = lock_order(order_id) if lock else db.session.get(Order, order_id)
    if order is None or order.buyer_id != buyer.id:
        raise NotFound("订单不存在")
    return order


def mark_paid(order: Order, channel: str, paid_at: datetime) -> bool:
    """Record a successful payment (payments calls this under the order's lock).

    Returns False when the order can no longer be paid (cancelled or expired):
    the caller must then refund the money.
    """
    if order.status != OrderStatus.PENDING_PAYMENT:
        return False
    move_every_line(order, LineStatus.PAID, None, f"支付成功（{channel}）")  # set-based: any number of lines
    sync_order(order, None, f"支付成功（{channel}）")
    order.paid_channel, order.paid_at = channel, paid_at
    quantities: dict[int, int] = {}
    for line in order.lines:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    if quantities:  # one executemany, in product order (the row locks are always taken in one order)
        products = Product.__table__
        db.session.execute(
            sa.update(products)
            .where(products.c.id == sa.bindparam("product"))
            .values(sales_count=products.c.sales_count + sa.bindparam("sold")),
            [{"product": product_id, "sold": quantity} for product_id, quantity in sorted(quantities.items())],
        )
    run_later(notify_sellers_of_paid_order, order.id)
    order_paid.send(order, paid_at=paid_at)
    return True


def _cancel(order: Order, actor: User | None, reason: str, cause: CancelReason) -> None:
    require_status(order, OrderStatus.PENDING_PAYMENT)
    for line in order.lines:
        move_line(line, LineStatus.CANCELLED, actor, reason)
    release_stock(order.lines)
    sync_order(order, actor, reason)
    order.cancel_reason, order.cancelled_at = cause, utcnow()


def cancel_order(buyer: User, order_id: int) -> Order:
    """The buyer cancels an unpaid order; its stock is released once."""
    order = buyers_order(buyer, order_id, lock=True)
    _cancel(order, buyer, "买家取消", CancelReason.BUYER)
    order_cancelled.send(order)
    return order


def expire_overdue_orders(now: datetime | None = None, batch_size: int = 100) -> int:
    """Cancel one batch of unpaid orders past their deadline; returns how many.

    Rows are locked with SKIP LOCKED, so copies of this job running at once on
    PostgreSQL never take the same order, and the status guard inside the lock
    releases each order's stock exactly once. The caller commits per batch.
    """
    now = now or utcnow()
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at <= now)
        .order_by(Order.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    for order in orders:
        _cancel(order, None, "超时未支付，订单已关闭", CancelReason.EXPIRED)
        order_expired.send(order)
    return len(orders)


def _station_manager_scope(actor: User, station_id: int):
    scope = scope_for(actor, Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
    if not scope.covers_station(station_id):
        raise Forbidden("只能为本服务站的订单发货")
    return scope


def ship_station_lines(
    actor: User,
    order_id: int,
    station_id: int,
    carrier: str,
    tracking_no: str,
    batch_choices: dict[int, int | None] | None = None,
) -> Order:
    """A station ships its own paid lines of an order with carrier and tracking number.

    ``batch_choices`` names the batch of some lines (line id → batch id, None for
    none); the others ship from their product's oldest open batch (shop.batches).
    """
    scope = _station_manager_scope(actor, station_id)
    order = lock_order(order_id)
    lines = [line for line in order.lines if line.station_id == station_id]
    if not lines:
        raise NotFound("订单不存在")
    station = db.session.get(Station, station_id)
    if not scope.covers(station.village_code):
        raise NotFound("订单不存在")
    to_ship = [line for line in lines if line.status == LineStatus.PAID]
    if not to_ship:
        raise InvalidState("本服务站在该订单中没有待发货的商品")
    lines_shipping.send(order, station_id=station_id)
    shipment = Shipment(
        order_id=order.id,
        station_id=station_id,
        carrier=carrier,
        tracking_no=tracking_no,
        shipped_by_id=actor.id,
    )
    assign_batches(to_ship, batch_choices or {})
    db.session.add(shipment)
    db.session.flush()
    for line in to_ship:
        line.shipment_id = shipment.id
        move_line(line, LineStatus.SHIPPED, actor, f"{carrier} {tracking_no}")
    sync_order(order, actor, "全部商品已发货")
    lines_shipped.send(order, shipment=shipment)
    return order


def _complete(order: Order, actor: User | None, reason: str) -> None:
    now = utcnow()
    for line in order.lines:
        if line.status == LineStatus.SHIPPED:
            move_line(line, LineStatus.COMPLETED, actor, reason)
            line.completed_at = now
    sync_order(order, actor, reason)
    order.completed_at = now


def confirm_receipt(buyer: User, order_id: int) -> Order:
    """The buyer confirms the parcels arrived.

    Not for a pickup order: it completes when the station hands the goods over
    against the buyer's code (or goes back to stock uncollected), never on the
    buyer's word while the goods may still be on the station's shelf.
    """
    order = buyers_order(buyer, order_id, lock=True)
    require_status(order, OrderStatus.SHIPPED)
    if order.pickup is not None:
        raise InvalidState("到站自提订单凭取货码在服务站交付后完成，无需确认收货")
    _complete(order, buyer, "买家确认收货")
    return order


def auto_confirm_shipped_orders(now: datetime | None = None, batch_size: int = 100) -> int:
    """Complete one batch of orders shipped more than ORDER_AUTO_CONFIRM_DAYS ago.

    Pickup orders not yet collected are left alone: they complete against the
    pickup code, or go back to stock (``shop.orders.pickup``).
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["ORDER_AUTO_CONFIRM_DAYS"])
    awaiting_pickup = sa.exists().where(
        OrderPickup.order_id == Order.id,
        OrderPickup.status.in_((PickupStatus.AWAITING_GOODS, PickupStatus.READY)),
    )
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.status == OrderStatus.SHIPPED, Order.shipped_at <= cutoff, ~awaiting_pickup)
        .order_by(Order.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    for order in orders:
        _complete(order, None, f"发货满 {current_app.config['ORDER_AUTO_CONFIRM_DAYS']} 天自动确认收货")
    return len(orders)


def lines_of(order: Order, station_id: int | None) -> list[OrderLine]:
    return [line for line in order.lines if station_id is None or line.station_id == station_id]
