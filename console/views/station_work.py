"""今日工作 (station manager, phone-first): orders to ship, pick list, labels, after-sales, the station's products."""

from flask import Blueprint, redirect, render_template, request, url_for

from console.auth import signed_in_staff, staff_required
from console.feedback import notify
from console.forms import form_page, load_form
from console.menus import STATION_ROLES
from console.services import station_work
from core.db import utcnow
from core.errors import ValidationFailed
from shop import categories, images, listing
from shop.access import product_for_lister
from shop.models import MAX_IMAGES, ProductStatus, ReviewDecision
from shop.orders import after_sales, fulfilment, pickup, presale
from shop.orders.models import LineStatus
from shop.orders.queries import shipping_label
from shop.orders.schemas import PickupCodeArgs, RefundDecisionArgs, ShipmentArgs
from shop.schemas import OffShelfArgs, ProductArgs, ProductPatchArgs
from villages.sellers import list_sellers

bp = Blueprint("station_work", __name__, url_prefix="/station")
CARRIERS = ("顺丰速运", "中国邮政 EMS", "京东物流", "中通快递", "圆通速递", "韵达快递", "申通快递", "极兔速递")
PRODUCT_INTS = ("station_id", "seller_id", "skus.*.stock", "skus.*.id")
PRODUCT_YUAN = ("skus.*.price_fen",)
BLANK_SKU_ROWS = 2


def _station():
    return station_work.my_station(signed_in_staff(), request.values.get("station", type=int))


def _home(station):
    return redirect(url_for(".index", station=station.id))


@bp.get("/")
@staff_required(*STATION_ROLES)
def index():
    """One screen of today's work: paid orders to ship and after-sales requests to decide."""
    staff = signed_in_staff()
    station = _station()
    return render_template(
        "station_work/index.html",
        station=station,
        stations=station_work.managed_stations(staff),
        orders=station_work.orders_to_ship(staff, station),
        refunds=station_work.open_refunds(staff, station),
        pickups=station_work.pickups_to_handle(staff, station),
        carriers=CARRIERS,
    )


@bp.get("/presale-plan")
@staff_required(*STATION_ROLES)
def presale_plan():
    """预售备货: paid pre-sale orders not yet shipped, by promised delivery window (what to harvest when)."""
    station = _station()
    return render_template(
        "station_work/presale_plan.html", station=station, plan=presale.presale_plan(signed_in_staff(), station.id)
    )


def _pickup_home(order):
    return redirect(url_for(".index", station=order.pickup.station_id) + "#pickups-title")


@bp.post("/pickups/<int:order_id>/arrived")
@staff_required(*STATION_ROLES)
@form_page(index)
def pickup_arrived(order_id: int):
    """The goods are on the station's shelf: the buyer is told to come with the code."""
    order = pickup.mark_arrived(signed_in_staff(), order_id)
    notify("pickup_arrived", order_id=order_id)
    return _pickup_home(order)


@bp.post("/pickups/<int:order_id>/hand-over")
@staff_required(*STATION_ROLES)
@form_page(index)
def pickup_hand_over(order_id: int):
    """The buyer shows the code (typed in, or scanned): the goods are handed over and the order completes."""
    data = load_form(PickupCodeArgs())
    order = pickup.hand_over(signed_in_staff(), order_id, data["code"])
    notify("pickup_collected", order_id=order_id)
    return _pickup_home(order)


@bp.post("/pickups/<int:order_id>/return")
@staff_required(*STATION_ROLES)
@form_page(index)
def pickup_return(order_id: int):
    """Never collected: the goods go back to stock and the buyer is refunded in full."""
    order = pickup.return_uncollected(signed_in_staff(), order_id)
    notify("pickup_returned", "info", order_id=order_id)
    return _pickup_home(order)


@bp.get("/pick-list")
@staff_required(*STATION_ROLES)
def pick_list():
    """Printable: what to take off the shelves, and per order what goes in each parcel."""
    station = _station()
    orders = station_work.orders_to_ship(signed_in_staff(), station)
    return render_template(
        "station_work/pick_list.html",
        station=station,
        orders=orders,
        rows=station_work.pick_list(orders),
        printed_at=utcnow(),
    )


@bp.get("/labels")
@staff_required(*STATION_ROLES)
def labels():
    """Printable shipping labels (full addresses; each one read is recorded in the audit log)."""
    staff = signed_in_staff()
    station = _station()
    orders = station_work.orders_to_ship(staff, station)
    views = [shipping_label(staff, order.id) for order in orders]
    for view in views:
        view.lines = [line for line in view.lines if line.station_id == station.id and line.status == LineStatus.PAID]
    return render_template("station_work/labels.html", station=station, parcels=views)


@bp.get("/orders/<int:order_id>/label")
@staff_required(*STATION_ROLES)
def label(order_id: int):
    """One order's shipping label (audited)."""
    station = _station()
    view = shipping_label(signed_in_staff(), order_id)
    view.lines = [line for line in view.lines if line.station_id == station.id]
    return render_template("station_work/labels.html", station=station, parcels=[view])


@bp.post("/orders/<int:order_id>/ship")
@staff_required(*STATION_ROLES)
@form_page(index)
def ship(order_id: int):
    """Ship the station's paid lines of an order with carrier and tracking number."""
    data = load_form(ShipmentArgs(), ints=("station_id",))
    fulfilment.ship_station_lines(signed_in_staff(), order_id, data["station_id"], data["carrier"], data["tracking_no"])
    notify("order_shipped", order_id=order_id, carrier=data["carrier"], tracking_no=data["tracking_no"])
    return redirect(url_for(".index", station=data["station_id"]))


@bp.post("/refunds/<int:refund_id>/decision")
@staff_required(*STATION_ROLES)
@form_page(index)
def decide_refund(refund_id: int):
    """Approve a refund request (the money goes back through the gateway) or reject it with a reason."""
    data = load_form(RefundDecisionArgs())
    after_sales.decide_refund(signed_in_staff(), refund_id, data["decision"], data.get("reason"))
    notify("refund_approved" if data["decision"] == ReviewDecision.APPROVE else "refund_rejected", refund_id=refund_id)
    return _home(_station())


# The station's products ------------------------------------------------------


@bp.get("/products")
@staff_required(*STATION_ROLES)
def products():
    """The station's products in every status, with rejection reasons."""
    station = _station()
    status = request.args.get("status") or None
    if status not in tuple(ProductStatus):
        status = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = listing.list_station_products(signed_in_staff(), station.id, status, None, page, 20)
    return render_template(
        "station_work/products.html", station=station, result=result, status=status, statuses=tuple(ProductStatus)
    )


def _form_choices(station):
    staff = signed_in_staff()
    sellers = list_sellers(staff, station.id, None, 1, 100)["items"]
    return {
        "sellers": [(seller.id, seller.name) for seller in sellers],
        "categories": [(c.slug, c.name) for c in categories.list_categories(False, 1, 100)["items"]],
    }


@bp.get("/products/new")
@staff_required(*STATION_ROLES)
def new_product():
    """The listing form for one of the station's sellers."""
    station = _station()
    return render_template(
        "station_work/product_form.html",
        station=station,
        product=None,
        sku_rows=BLANK_SKU_ROWS + 1,
        **_form_choices(station),
    )


@bp.post("/products/new")
@staff_required(*STATION_ROLES)
@form_page(new_product)
def create_product():
    """List the product; it waits for the county's review."""
    data = load_form(ProductArgs(), ints=PRODUCT_INTS, yuan=PRODUCT_YUAN)
    product = listing.create_product(signed_in_staff(), data)
    notify("product_created", title=product.title)
    return redirect(url_for(".product", product_id=product.id, station=product.station_id))


@bp.get("/products/<int:product_id>")
@staff_required(*STATION_ROLES)
def product(product_id: int):
    """Edit a listing, its photos; take it off the shelf or send it back to review."""
    item = product_for_lister(signed_in_staff(), product_id)
    return render_template(
        "station_work/product_form.html",
        station=item.station,
        product=item,
        sku_rows=len(item.active_skus) + BLANK_SKU_ROWS,
        max_images=MAX_IMAGES,
        **_form_choices(item.station),
    )


def _to_product(product):
    return redirect(url_for(".product", product_id=product.id, station=product.station_id))


@bp.post("/products/<int:product_id>")
@staff_required(*STATION_ROLES)
@form_page(product)
def update_product(product_id: int):
    """Save the listing; new text on an on-sale product sends it back to review, price and stock do not."""
    changes = load_form(ProductPatchArgs(), ints=PRODUCT_INTS, yuan=PRODUCT_YUAN)
    item = listing.update_product(signed_in_staff(), product_id, changes)
    notify("product_updated", title=item.title)
    return _to_product(item)


@bp.post("/products/<int:product_id>/images")
@staff_required(*STATION_ROLES)
@form_page(product)
def upload_image(product_id: int):
    """Add a photo (JPEG/PNG/WebP ≤ 5 MB; re-encoded without metadata)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed.field("file", "请选择要上传的图片")
    image = images.upload_image(signed_in_staff(), product_id, upload)
    notify("image_uploaded")
    return _to_product(image.product)


@bp.post("/products/<int:product_id>/images/<int:image_id>/delete")
@staff_required(*STATION_ROLES)
@form_page(product)
def delete_image(product_id: int, image_id: int):
    """Remove a photo."""
    item = images.delete_image(signed_in_staff(), product_id, image_id)
    notify("image_deleted", "info")
    return _to_product(item)


@bp.post("/products/<int:product_id>/off-shelf")
@staff_required(*STATION_ROLES)
@form_page(product)
def off_shelf(product_id: int):
    """Take the product out of sale."""
    data = load_form(OffShelfArgs())
    item = listing.take_off_shelf(signed_in_staff(), product_id, data.get("reason"))
    notify("product_off_shelf", "info", title=item.title)
    return _to_product(item)


@bp.post("/products/<int:product_id>/submit")
@staff_required(*STATION_ROLES)
@form_page(product)
def resubmit(product_id: int):
    """Send a rejected or off-shelf product back to the county's review."""
    item = listing.resubmit(signed_in_staff(), product_id)
    notify("product_resubmitted", title=item.title)
    return _to_product(item)
