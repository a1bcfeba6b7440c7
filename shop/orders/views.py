"""Orders, shipping, receipt and after-sales API."""

import sqlalchemy as sa
from flask_smorest import Blueprint

from core.auth import login_required, require_user
from core.extensions import db
from core.idempotency import idempotent
from core.pagination import page_schema
from shop.orders import after_sales, fulfilment, placement
from shop.orders import queries as order_queries
from shop.orders.models import OrderEvent
from shop.orders.schemas import (
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


def _view(order_id: int):
    return order_queries.order_for(require_user(), order_id)


@orders_blp.post("/orders")
@login_required
@idempotent
@orders_blp.arguments(OrderArgs)
@orders_blp.response(201, OrderSchema)
def place_order(args):
    """Check out: reserve stock for every line or none; honours Idempotency-Key."""
    order = placement.place_order(require_user(), args["items"], args["address"])
    return _view(order.id)


@orders_blp.get("/orders")
@login_required
@orders_blp.arguments(OrderQueryArgs, location="query")
@orders_blp.response(200, page_schema(OrderSchema, "OrderPage"))
def list_orders(args):
    """Own orders (buyers) or orders with lines in the caller's station/county (staff)."""
    user = require_user()
    view = args["view"] or ("staff" if user.has_role(*order_queries.STAFF_ROLES) else "own")
    return order_queries.list_orders(
        user, view, args.get("status"), args.get("station_id"), args["page"], args["per_page"]
    )


@orders_blp.get("/orders/<int:order_id>")
@login_required
@orders_blp.response(200, OrderSchema)
def get_order(order_id):
    """One order (staff see only their lines); past its deadline it reads as cancelled."""
    return _view(order_id)


@orders_blp.get("/orders/<int:order_id>/events")
@login_required
@orders_blp.response(200, OrderEventSchema(many=True))
def order_events(order_id):
    """The order's state-change trail (staff see the order's own steps and their lines')."""
    view = _view(order_id)
    statement = sa.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    if view.viewer == "staff":
        visible = [line.id for line in view.lines]
        statement = statement.where(sa.or_(OrderEvent.line_id.is_(None), OrderEvent.line_id.in_(visible)))
    return db.session.scalars(statement)


@orders_blp.get("/orders/<int:order_id>/shipping-label")
@login_required
@orders_blp.response(200, ShippingLabelSchema)
def shipping_label(order_id):
    """Full recipient address for the station's own lines (audited)."""
    return order_queries.shipping_label(require_user(), order_id)


@orders_blp.post("/orders/<int:order_id>/cancel")
@login_required
@orders_blp.response(200, OrderSchema)
def cancel_order(order_id):
    """The buyer cancels an unpaid order."""
    fulfilment.cancel_order(require_user(), order_id)
    return _view(order_id)


@orders_blp.post("/orders/<int:order_id>/shipments")
@login_required
@orders_blp.arguments(ShipmentArgs)
@orders_blp.response(201, OrderSchema)
def ship(args, order_id):
    """The station's manager ships the station's paid lines, each from a production batch."""
    choices = {item["line_id"]: item["batch_id"] for item in args.get("lines", [])}
    fulfilment.ship_station_lines(
        require_user(), order_id, args["station_id"], args["carrier"], args["tracking_no"], choices
    )
    return _view(order_id)


@orders_blp.post("/orders/<int:order_id>/confirm-receipt")
@login_required
@orders_blp.response(200, OrderSchema)
def confirm_receipt(order_id):
    """The buyer confirms the goods arrived."""
    fulfilment.confirm_receipt(require_user(), order_id)
    return _view(order_id)


@orders_blp.post("/refunds")
@login_required
@idempotent
@orders_blp.arguments(RefundArgs)
@orders_blp.response(201, RefundSchema)
def request_refund(args):
    """The buyer asks for a refund of some lines; honours Idempotency-Key."""
    return after_sales.request_refund(require_user(), args["order_id"], args["line_ids"], args["reason"])


@orders_blp.get("/refunds/<int:refund_id>")
@login_required
@orders_blp.response(200, RefundSchema)
def get_refund(refund_id):
    """One after-sales request (its buyer, or staff over its lines)."""
    return after_sales.visible_refunds(require_user(), refund_id)


@orders_blp.post("/refunds/<int:refund_id>/decision")
@login_required
@orders_blp.arguments(RefundDecisionArgs)
@orders_blp.response(200, RefundSchema)
def decide_refund(args, refund_id):
    """Station manager or county admin approves or rejects a refund request."""
    return after_sales.decide_refund(require_user(), refund_id, args["decision"], args.get("reason"))
