"""订单 (county / city): filter by status, station and date; one order with its lines, refunds and trail."""

from flask import Blueprint, render_template, request
from marshmallow import fields

from console.auth import signed_in_staff, staff_required
from console.forms import load_form
from console.menus import ORDER_ROLES
from console.services import orders as order_queries
from core.errors import ValidationFailed
from shop.orders import queries
from shop.orders.models import OrderStatus
from shop.orders.queries import OrderListView
from shop.orders.schemas import OrderQueryArgs

bp = Blueprint("orders", __name__, url_prefix="/orders")


class OrderListArgs(OrderQueryArgs):
    """The API's order filters plus the dates the orders were placed on."""

    placed_from = fields.Date()
    placed_to = fields.Date()


@bp.get("/")
@staff_required(*ORDER_ROLES)
def index():
    """Orders with lines in the caller's region (only those lines), newest first."""
    staff = signed_in_staff()
    try:
        args = load_form(OrderListArgs(), request.args, ints=("page", "per_page", "station_id"))
        problems = {}
    except ValidationFailed as error:
        args, problems = OrderListArgs().load({}), error.details
    result = queries.list_orders(
        staff,
        OrderListView.STAFF,
        args.get("status"),
        args.get("station_id"),
        args["page"],
        20,
        placed_from=args.get("placed_from"),
        placed_to=args.get("placed_to"),
    )
    return render_template(
        "orders/index.html",
        result=result,
        args=args,
        problems=problems,
        statuses=tuple(OrderStatus),
        stations=order_queries.station_choices(staff),
    )


@bp.get("/<int:order_id>")
@staff_required(*ORDER_ROLES)
def order(order_id: int):
    """One order (only the lines in the caller's region), its refunds and its trail."""
    view = queries.order_for(signed_in_staff(), order_id)
    events = queries.order_events(view)
    return render_template(
        "orders/order.html",
        order=view,
        address=order_queries.masked_address(view),
        refunds=order_queries.order_refunds(view),
        events=events,
        actors=order_queries.actor_names(events, view.buyer_id),
    )
