"""Orders, shipping, receipt and after-sales API."""

from flask import Response
from flask_smorest import Blueprint

from core.auth import authenticated
from core.idempotency import idempotent
from core.pagination import page_schema
from shop.orders import after_sales, fulfilment, pickup, placement, presale
from shop.orders import queries as order_queries
from shop.orders.schemas import (
    UNIT_FIELDS,
    OrderArgs,
    OrderEventSchema,
    OrderQueryArgs,
    OrderSchema,
    PickupCodeArgs,
    PickupOrderSchema,
    PickupQueryArgs,
    PresaleArgs,
    PresalePlanSchema,
    PresaleSchema,
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
    collect = (
        {"station_id": args["pickup_station_id"], "contact": args["contact"]} if "pickup_station_id" in args else None
    )
    return order_queries.buyer_view(placement.place_order(actor, args["items"], args.get("address"), unit, collect))


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
    return order_queries.order_events(order_queries.order_for(actor, order_id))


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
    """The buyer cancels an unpaid order, or a paid one whose pre-sale missed its delivery window (full refund)."""
    return order_queries.buyer_view(presale.cancel_order(actor, order_id))


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


@orders_blp.post("/orders/<int:order_id>/pickup/arrived")
@authenticated
@orders_blp.response(200, PickupOrderSchema)
def pickup_arrived(order_id, actor):
    """The pickup station's manager records the goods arrived; the buyer gets a subscribe message."""
    return pickup.mark_arrived(actor, order_id)


@orders_blp.post("/orders/<int:order_id>/pickup")
@authenticated
@orders_blp.arguments(PickupCodeArgs)
@orders_blp.response(200, PickupOrderSchema)
def pickup_hand_over(args, order_id, actor):
    """The pickup station hands the goods over against the buyer's code (typed or scanned); wrong codes slow down."""
    return pickup.hand_over(actor, order_id, args["code"])


@orders_blp.post("/orders/<int:order_id>/pickup/return")
@authenticated
@orders_blp.response(200, PickupOrderSchema)
def pickup_return(order_id, actor):
    """Goods uncollected PICKUP_UNCOLLECTED_DAYS after arrival go back to stock; the buyer is refunded in full."""
    return pickup.return_uncollected(actor, order_id)


@orders_blp.get("/orders/<int:order_id>/pickup")
@authenticated
@orders_blp.response(200, PickupOrderSchema)
def pickup_order(order_id, actor):
    """A pickup order as its pickup station sees it (never the code)."""
    return pickup.pickup_for_station(actor, order_id)


@orders_blp.get("/orders/<int:order_id>/pickup-code.png")
@authenticated
@orders_blp.response(200, content_type="image/png")
def pickup_code_png(order_id, actor):
    """The buyer's pickup QR code, for the station to scan."""
    return Response(pickup.pickup_qr_png(actor, order_id), mimetype="image/png", headers={"Cache-Control": "no-store"})


@orders_blp.get("/stations/<int:station_id>/pickups")
@authenticated
@orders_blp.arguments(PickupQueryArgs, location="query")
@orders_blp.response(200, PickupOrderSchema(many=True))
def station_pickups(args, station_id, actor):
    """The station's pickup orders (latest 200), e.g. ``?status=ready`` for those waiting at the counter."""
    return pickup.station_pickups(actor, station_id, args.get("status"))


@orders_blp.get("/stations/<int:station_id>/presale-plan")
@authenticated
@orders_blp.response(200, PresalePlanSchema)
def presale_plan(station_id, actor):
    """The station's paid, unshipped pre-sale orders grouped by promised delivery window (harvest planning)."""
    return presale.presale_plan(actor, station_id)


@orders_blp.post("/products/<int:product_id>/presales")
@authenticated
@orders_blp.arguments(PresaleArgs)
@orders_blp.response(201, PresaleSchema)
def create_presale(args, product_id, actor):
    """The product's station (or its county) puts it, or one SKU, on pre-sale."""
    return presale.create_presale(actor, product_id, args)


@orders_blp.get("/products/<int:product_id>/presales")
@orders_blp.response(200, PresaleSchema(many=True))
def product_presales(product_id):
    """A product's open and coming pre-sales, with the quota left (public)."""
    return presale.product_presales(product_id)
