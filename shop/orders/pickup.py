"""到站自提 after checkout: the goods reach the pickup station, the buyer collects them with the code,
or, never collected, they go back to stock with a refund."""

import hmac
import io
import re
from datetime import timedelta

import segno
import sqlalchemy as sa
from flask import current_app

from core.auth import scope_for
from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.tasks import run_later
from core.throttle import PICKUP_BY_ORDER, PICKUP_BY_STAFF, guessing
from shop.batches.allocation import assign_batches
from shop.models import Sku
from shop.orders.auto_refunds import refund_lines_in_full
from shop.orders.fulfilment import _complete, buyers_order, lock_order
from shop.orders.messages import notify_pickup_ready
from shop.orders.models import LineStatus, Order, OrderPickup, OrderStatus, PickupStatus, Shipment
from shop.orders.pickup_points import QR_PREFIX, qr_payload
from shop.orders.states import InvalidState, move_line, sync_order
from shop.signals import lines_shipped
from villages.models import Station

HANDLERS = (Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
# A station's own lines reach its counter without a carrier.
COUNTER_CARRIER = "到站自提"
SCANNED = re.compile(rf"{QR_PREFIX}:(\d+):(\d{{6}})")


def _check_pickup_station(actor: User, station_id: int) -> Station:
    scope = scope_for(actor, *HANDLERS)
    station = db.session.get(Station, station_id)
    if station is None or not (scope.covers(station.village_code) and scope.covers_station(station.id)):
        raise NotFound("订单不存在")
    return station


def _managed_pickup(actor: User, order_id: int) -> tuple[Order, OrderPickup]:
    """The locked order and its pickup, for the pickup station's manager (or an admin over it)."""
    order = lock_order(order_id)
    if order.pickup is None:
        raise NotFound("订单不存在")
    _check_pickup_station(actor, order.pickup.station_id)
    return order, order.pickup


def mark_arrived(actor: User, order_id: int) -> Order:
    """The goods are at the pickup station: the station's own lines count as shipped, the buyer is told."""
    order, pickup = _managed_pickup(actor, order_id)
    if pickup.status != PickupStatus.AWAITING_GOODS:
        raise InvalidState("该自提订单已登记到站")
    if order.status not in (OrderStatus.PAID, OrderStatus.SHIPPED):
        raise InvalidState(f"订单当前状态为「{order.status}」，不能登记到站")
    own = [line for line in order.lines if line.station_id == pickup.station_id and line.status == LineStatus.PAID]
    if own:
        shipment = Shipment(
            order_id=order.id,
            station_id=pickup.station_id,
            carrier=COUNTER_CARRIER,
            tracking_no=f"ZT{order.id}",
            shipped_by_id=actor.id,
        )
        assign_batches(own, {})
        db.session.add(shipment)
        db.session.flush()
        for line in own:
            line.shipment_id = shipment.id
            move_line(line, LineStatus.SHIPPED, actor, "到达自提点")
        lines_shipped.send(order, shipment=shipment)
    waiting = [line.id for line in order.lines if line.status == LineStatus.PAID]
    if waiting:
        raise InvalidState("还有其他服务站的商品未发出，不能登记到站", details={"line_ids": waiting})
    sync_order(order, actor, "商品已到达自提点")
    pickup.status, pickup.arrived_at = PickupStatus.READY, utcnow()
    run_later(notify_pickup_ready, order.id)
    return order


def _entered_code(order_id: int, code: str) -> str:
    """The 6 digits typed in, or those of a scanned QR code of this order."""
    scanned = SCANNED.fullmatch(code.strip())
    if scanned:
        return scanned.group(2) if int(scanned.group(1)) == order_id else ""
    return code.strip()


def _check_collectable(order: Order) -> None:
    """The goods go over the counter only while the order is shipped and none of it is being refunded.

    A refund (asked for, approved or paid) moves lines away from ``shipped``:
    the buyer does not keep both the goods and the money.
    """
    if order.status != OrderStatus.SHIPPED:
        raise InvalidState(f"订单当前状态为「{order.status}」，不能交付自提商品")
    busy = [line.id for line in order.lines if line.status == LineStatus.REFUNDING]
    if busy or not any(line.status == LineStatus.SHIPPED for line in order.lines):
        raise InvalidState("订单有商品正在退款或没有待交付的商品", details={"line_ids": busy})


def hand_over(actor: User, order_id: int, code: str) -> Order:
    """Hand the goods over against the buyer's code: the lines complete (the settlement hold starts now).

    Wrong codes slow down per order and per staff account, like logins.
    """
    with guessing((PICKUP_BY_ORDER, str(order_id)), (PICKUP_BY_STAFF, str(actor.id))) as attempt:
        order, pickup = _managed_pickup(actor, order_id)
        if pickup.status != PickupStatus.READY:
            raise InvalidState("商品尚未到站或已取走")
        _check_collectable(order)
        if not hmac.compare_digest(_entered_code(order_id, code).encode(), pickup.code.encode()):
            attempt.failed()
            raise ValidationFailed.field("code", "取货码不正确")
        attempt.succeeded()
    _complete(order, actor, "买家凭取货码到站自提")
    pickup.status, pickup.collected_at, pickup.handed_over_by_id = PickupStatus.COLLECTED, utcnow(), actor.id
    return order


def return_uncollected(actor: User, order_id: int) -> Order:
    """Goods not collected PICKUP_UNCOLLECTED_DAYS after arrival go back to stock; the buyer gets the money back."""
    order, pickup = _managed_pickup(actor, order_id)
    if pickup.status != PickupStatus.READY:
        raise InvalidState("只有已到站且未取走的自提订单可以退回")
    days = current_app.config["PICKUP_UNCOLLECTED_DAYS"]
    if pickup.arrived_at > utcnow() - timedelta(days=days):
        raise InvalidState(f"到站满 {days} 天仍未取货才能退回库存", details={"uncollected_days": days})
    lines = [line for line in order.lines if line.status == LineStatus.SHIPPED]
    if not lines:
        raise InvalidState("该订单没有可退回的商品")
    for line in sorted(lines, key=lambda item: item.sku_id):
        db.session.execute(
            sa.update(Sku)
            .where(Sku.id == line.sku_id)
            .values(stock=Sku.stock + line.quantity)
            .execution_options(synchronize_session=False)
        )
    refund_lines_in_full(order, lines, actor, f"到站 {days} 天未取货，退回库存并退款")
    pickup.status, pickup.returned_at = PickupStatus.RETURNED, utcnow()
    return order


def station_pickups(actor: User, station_id: int, status: str | None) -> list[Order]:
    """The pickup orders of a station, newest first (optionally by pickup status)."""
    _check_pickup_station(actor, station_id)
    statement = (
        sa.select(Order)
        .join(OrderPickup, OrderPickup.order_id == Order.id)
        .where(OrderPickup.station_id == station_id, Order.status != OrderStatus.PENDING_PAYMENT)
        .order_by(Order.id.desc())
        .limit(200)
    )
    if status:
        statement = statement.where(OrderPickup.status == status)
    return list(db.session.scalars(statement))


def pickup_for_station(actor: User, order_id: int) -> Order:
    """A pickup order as its pickup station sees it."""
    order = db.session.get(Order, order_id)
    if order is None or order.pickup is None:
        raise NotFound("订单不存在")
    _check_pickup_station(actor, order.pickup.station_id)
    return order


def pickup_qr_png(buyer: User, order_id: int) -> bytes:
    """The buyer's pickup QR code (PNG): the station scans it instead of typing the code."""
    order = buyers_order(buyer, order_id)
    if order.pickup is None or order.status == OrderStatus.PENDING_PAYMENT:
        raise NotFound("该订单没有取货码")
    buffer = io.BytesIO()
    segno.make(qr_payload(order.pickup), error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()
