"""Orders, shipping, receipt and after-sales API."""

import sqlalchemy as sa
from flask_smorest import Blueprint

from core.auth import authenticated
from core.extensions import db
from core.idempotency import idempotent
from core.pagination import page_schema
from shop.orders import after_sales, fulfilment, placement
from shop.orders import queries as order_queries
from shop.orders.models import OrderEvent
from shop.orders.schemas import (
    UNIT_FIELDS,
    OrderArgs,
    OrderEventSchema,
    OrderQueryArgs,
    OrderSchema,
    RefundArgs,
    RefundDecisionArgs,
    RefundSchema,
    ShipmentArgs,
    ShippingLabelSchema,
)

orders_blp = Blueprint("orders", __name__, description="订单、发货、收货与售后")


@orders_blp.post("/orders")
@authenticated
@idempotent
@orders_blp.arguments(OrderArgs)
@orders_blp.response(201, OrderSchema)
def place_order(args, actor):
    """Check out: reserve stock for every line or none; honours Idempotency-Key.

    With ``buyer_unit_id`` a unit's purchaser orders for the unit (``purpose``
    canteen or union_welfare with ``recipients``/``recipient_list_id``;
    ``payment_method`` bank_transfer for 对公转账).
    """
    unit = {key: args[key] for key in UNIT_FIELDS if key in args}
    return order_queries.buyer_view(placement.place_order(actor, args["items"], args["address"], unit))


@orders_blp.get("/orders")
@authenticated
@orders_blp.arguments(OrderQueryArgs, location="query")
@orders_blp.response(200, page_schema(OrderSchema, "OrderPage"))
def list_orders(args, actor):
    """Own orders (buyers) or orders with lines in the caller's station/county (staff)."""
    view = args["view"] or order_queries.default_list_view(actor)
    return order_queries.list_orders(
        actor, view, args.get("status"), args.get("station_id"), args["page"], args["per_page"]
    )


@orders_blp.get("/orders/<int:order_id>")
@authenticated
@orders_blp.response(200, OrderSchema)
def get_order(order_id, actor):
    """One order (staff see only their lines); past its deadline it reads as cancelled."""
    return order_queries.order_for(actor, order_id)


@orders_blp.get("/orders/<int:order_id>/events")
@authenticated
@orders_blp.response(200, OrderEventSchema(many=True))
def order_events(order_id, actor):
    """The order's state-change trail (staff see the order's own steps and their lines')."""
    view = order_queries.order_for(actor, order_id)
    statement = sa.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    if view.viewer == order_queries.Viewer.STAFF:
        visible = [line.id for line in view.lines]
        statement = statement.where(sa.or_(OrderEvent.line_id.is_(None), OrderEvent.line_id.in_(visible)))
    return db.session.scalars(statement)


@orders_blp.get("/orders/<int:order_id>/shipping-label")
@authenticated
@orders_blp.response(200, ShippingLabelSchema)
def shipping_label(order_id, actor):
    """Full recipient address for the station's own lines (audited)."""
    return order_queries.shipping_label(actor, order_id)


@orders_blp.post("/orders/<int:order_id>/cancel")
@authenticated
@orders_blp.response(200, OrderSchema)
def cancel_order(order_id, actor):
    """The buyer cancels an unpaid order."""
    return order_queries.buyer_view(fulfilment.cancel_order(actor, order_id))


@orders_blp.post("/orders/<int:order_id>/shipments")
@authenticated
@orders_blp.arguments(ShipmentArgs)
@orders_blp.response(201, OrderSchema)
def ship(args, order_id, actor):
    """The station's manager ships the station's paid lines, each from a production batch."""
    choices = {item["line_id"]: item["batch_id"] for item in args.get("lines", [])}
    fulfilment.ship_station_lines(actor, order_id, args["station_id"], args["carrier"], args["tracking_no"], choices)
    return order_queries.order_for(actor, order_id)


@orders_blp.post("/orders/<int:order_id>/confirm-receipt")
@authenticated
@orders_blp.response(200, OrderSchema)
def confirm_receipt(order_id, actor):
    """The buyer confirms the goods arrived."""
    return order_queries.buyer_view(fulfilment.confirm_receipt(actor, order_id))


@orders_blp.post("/refunds")
@authenticated
@idempotent
@orders_blp.arguments(RefundArgs)
@orders_blp.response(201, RefundSchema)
def request_refund(args, actor):
    """The buyer asks for a refund of some lines; honours Idempotency-Key."""
    return after_sales.request_refund(actor, args["order_id"], args["line_ids"], args["reason"])


@orders_blp.get("/refunds/<int:refund_id>")
@authenticated
@orders_blp.response(200, RefundSchema)
def get_refund(refund_id, actor):
    """One after-sales request (its buyer, or staff over its lines)."""
    return after_sales.visible_refunds(actor, refund_id)


@orders_blp.post("/refunds/<int:refund_id>/decision")
@authenticated
@orders_blp.arguments(RefundDecisionArgs)
@orders_blp.response(200, RefundSchema)
def decide_refund(args, refund_id, actor):
    """Station manager or county admin approves or rejects a refund request."""
    return after_sales.decide_refund(actor, refund_id, args["decision"], args.get("reason"))
