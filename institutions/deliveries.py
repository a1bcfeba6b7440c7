"""Union welfare deliveries: stations ship per recipient, the unit confirms receipt, the rest confirm themselves.

A delivery has no status of its own: it reads its lines (all paid → awaiting
shipment, shipped, completed → received), so after-sales refunds and the
order-level auto-confirm job keep it right without any hook.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.auth import scope_for
from core.db import utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from institutions.models import Purpose, UnitDelivery, UnitDeliveryLine, UnitOrder
from institutions.units import is_manager_of, membership
from shop.orders.fulfilment import lock_order
from shop.orders.models import LineStatus, Order, OrderLine, OrderStatus, Shipment
from shop.orders.states import InvalidState, move_line, sync_order
from shop.signals import lines_shipped
from villages.models import PiiAccess, Station

SHIPPERS = (Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)


def delivery_status(delivery: UnitDelivery) -> str:
    """What the recipient's lines say: pending_payment, paid, shipped, completed, cancelled, refunded, refunding."""
    statuses = {link.line.status for link in delivery.lines}
    live = statuses - {LineStatus.CANCELLED, LineStatus.REFUNDED}
    if not live:
        return LineStatus.REFUNDED if LineStatus.REFUNDED in statuses else LineStatus.CANCELLED
    for status in (LineStatus.REFUNDING, LineStatus.PENDING_PAYMENT, LineStatus.PAID, LineStatus.SHIPPED):
        if status in live:
            return status
    return LineStatus.COMPLETED


def refuse_station_shipping(order: Order, station_id: int | None = None, **_) -> None:
    """``shop.signals.lines_shipping`` receiver: welfare orders ship per recipient."""
    unit_order = db.session.get(UnitOrder, order.id)
    if unit_order is not None and unit_order.purpose == Purpose.UNION_WELFARE:
        raise InvalidState("工会福利订单须按收件人逐一发货（POST /orders/<id>/deliveries/shipments）")


def _welfare_order(order_id: int) -> UnitOrder:
    unit_order = db.session.get(UnitOrder, order_id)
    if unit_order is None or unit_order.purpose != Purpose.UNION_WELFARE:
        raise NotFound("订单不存在")
    return unit_order


def _deliveries(order_id: int, ids: list[int] | None = None) -> list[UnitDelivery]:
    statement = sa.select(UnitDelivery).where(UnitDelivery.order_id == order_id).order_by(UnitDelivery.seq)
    if ids is not None:
        statement = statement.where(UnitDelivery.id.in_(ids))
    return list(db.session.scalars(statement))


def _station_for(actor: User, station_id: int) -> Station:
    scope = scope_for(actor, *SHIPPERS)
    station = db.session.get(Station, station_id)
    if station is None or not scope.covers_station(station_id) or not scope.covers(station.village_code):
        raise Forbidden("只能为本服务站的订单发货")
    return station


def _visible_stations(actor: User, order: Order) -> set[int]:
    """The order's stations in a shipper's scope; 404 when there are none."""
    scope = scope_for(actor, *SHIPPERS)
    visible = {
        station.id
        for station in db.session.scalars(
            sa.select(Station).where(Station.id.in_({line.station_id for line in order.lines}))
        )
        if scope.covers(station.village_code) and scope.covers_station(station.id)
    }
    if not visible:
        raise NotFound("订单不存在")
    return visible


def deliveries_for(actor: User, order_id: int, station_id: int | None = None) -> list[dict]:
    """Each recipient (masked) with the lines the caller may see and its status."""
    unit_order = _welfare_order(order_id)
    order = db.session.get(Order, order_id)
    stations = None
    insider = order.buyer_id == actor.id or membership(actor, unit_order.unit_id) is not None
    if not insider and not is_manager_of(actor, unit_order.unit):
        stations = _visible_stations(actor, order)
    if station_id is not None:
        stations = {station_id} & (stations if stations is not None else {station_id})
    out = []
    for delivery in _deliveries(order_id):
        lines = [link.line for link in delivery.lines if stations is None or link.line.station_id in stations]
        if lines:
            out.append({"delivery": delivery, "lines": lines, "status": delivery_status(delivery)})
    return out


def delivery_labels(actor: User, order_id: int, station_id: int) -> list[dict]:
    """Full recipient addresses for the shipping station (each look is audited)."""
    _station_for(actor, station_id)
    _welfare_order(order_id)
    rows = deliveries_for(actor, order_id, station_id)
    db.session.add(
        PiiAccess(
            user_id=actor.id, subject_type="order", subject_id=order_id, fields="recipients", reason="工会福利发货"
        )
    )
    db.session.flush()
    return rows


def ship_deliveries(actor: User, order_id: int, station_id: int, parcels: list[dict]) -> list[Shipment]:
    """The station ships its paid lines of each listed recipient as one parcel each."""
    _station_for(actor, station_id)
    _welfare_order(order_id)
    order = lock_order(order_id)
    ids = [parcel["delivery_id"] for parcel in parcels]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.field("parcels", "同一收件人只能出现一次")
    deliveries = {delivery.id: delivery for delivery in _deliveries(order.id, ids)}
    missing = sorted(set(ids) - set(deliveries))
    if missing:
        raise ValidationFailed.field("parcels", f"收件人不存在：{', '.join(map(str, missing))}")
    shipments = []
    for parcel in parcels:
        delivery = deliveries[parcel["delivery_id"]]
        lines = [link.line for link in delivery.lines if link.line.station_id == station_id]
        to_ship = [line for line in lines if line.status == LineStatus.PAID]
        if not to_ship:
            raise InvalidState(f"收件人 {delivery.seq} 在本服务站没有待发货的商品")
        shipment = Shipment(
            order_id=order.id,
            station_id=station_id,
            carrier=parcel["carrier"],
            tracking_no=parcel["tracking_no"],
            shipped_by_id=actor.id,
        )
        db.session.add(shipment)
        db.session.flush()
        for line in to_ship:
            line.shipment_id = shipment.id
            move_line(
                line, LineStatus.SHIPPED, actor, f"收件人 {delivery.seq}：{parcel['carrier']} {parcel['tracking_no']}"
            )
        shipments.append(shipment)
    sync_order(order, actor, "全部收件人已发货")
    for shipment in shipments:
        lines_shipped.send(order, shipment=shipment)
    return shipments


def _receive(order: Order, lines: list[OrderLine], actor: User | None, reason: str) -> None:
    now = utcnow()
    for line in lines:
        move_line(line, LineStatus.COMPLETED, actor, reason)
        line.completed_at = now
    if sync_order(order, actor, reason) and order.status == OrderStatus.COMPLETED:
        order.completed_at = now


def confirm_deliveries(actor: User, order_id: int, delivery_ids: list[int]) -> int:
    """The purchaser (or a unit admin) confirms recipients received their parcels."""
    unit_order = _welfare_order(order_id)
    order = db.session.get(Order, order_id)
    if order.buyer_id != actor.id and membership(actor, unit_order.unit_id) is None:
        raise NotFound("订单不存在")
    order = lock_order(order_id)
    deliveries = _deliveries(order.id, delivery_ids)
    if len(deliveries) != len(set(delivery_ids)):
        raise ValidationFailed.field("delivery_ids", "收件人不存在")
    not_shipped = [d.seq for d in deliveries if delivery_status(d) != LineStatus.SHIPPED]
    if not_shipped:
        raise InvalidState(f"收件人 {', '.join(map(str, not_shipped))} 的包裹尚未发出或已签收")
    lines = [link.line for delivery in deliveries for link in delivery.lines if link.line.status == LineStatus.SHIPPED]
    _receive(order, lines, actor, "单位确认收件人已签收")
    return len(deliveries)


def auto_confirm_deliveries(now: datetime | None = None, batch_size: int = 100) -> int:
    """Recipients whose parcel left more than ORDER_AUTO_CONFIRM_DAYS ago count as received.

    The order-level job only sees an order once every parcel is out; this one
    completes each recipient on its own clock. Orders are locked with SKIP LOCKED;
    returns how many orders were handled (the caller commits per batch).
    """
    now = now or utcnow()
    days = current_app.config["ORDER_AUTO_CONFIRM_DAYS"]
    due = (
        sa.select(OrderLine.order_id)
        .join(UnitDeliveryLine, UnitDeliveryLine.order_line_id == OrderLine.id)
        .join(Shipment, Shipment.id == OrderLine.shipment_id)
        .where(OrderLine.status == LineStatus.SHIPPED, Shipment.shipped_at <= now - timedelta(days=days))
    )
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.id.in_(due))
        .order_by(Order.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    cutoff = now - timedelta(days=days)
    for order in orders:
        lines = [
            link.line
            for delivery in _deliveries(order.id)
            for link in delivery.lines
            if link.line.status == LineStatus.SHIPPED and link.line.shipment.shipped_at <= cutoff
        ]
        _receive(order, lines, None, f"发货满 {days} 天自动确认收件人签收")
    return len(orders)
