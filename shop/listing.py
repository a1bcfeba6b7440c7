"""Listing products: a station creates and edits them for its sellers, takes them off sale."""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from core.db import utcnow
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.models import User
from core.pagination import paginate
from shop.access import listing_scope, product_for_lister
from shop.categories import active_category
from shop.content_check import check_listing_text
from shop.models import MAX_SKUS, Product, ProductReviewEvent, ProductStatus, ReviewAction, Sku
from villages.access import ensure_station_access, read_scope
from villages.models import Region, RegionLevel, Seller, Station
from villages.stations import ensure_active, get_station

# Changing any of these puts an on-sale product back into review; prices and stock do not.
CONTENT_FIELDS = ("title", "description", "unit", "category", "origin_village_code")


def record_review_event(product: Product, action: str, actor: User | None, **fields) -> ProductReviewEvent:
    """Append to the product's review trail."""
    event = ProductReviewEvent(product=product, action=action, actor_id=actor.id if actor else None, **fields)
    db.session.add(event)
    return event


def refresh_min_price(product: Product) -> None:
    """Keep the denormalised lowest price in step with the active SKUs."""
    product.min_price_fen = min(sku.price_fen for sku in product.active_skus)


def send_back_to_review(product: Product, actor: User, reason: str) -> None:
    """An on-sale product whose content changed waits for the county again."""
    if product.status == ProductStatus.ON_SALE:
        product.status = ProductStatus.PENDING_REVIEW
        product.submitted_at = utcnow()
        record_review_event(product, ReviewAction.SUBMITTED, actor, reason=reason)


def _station_for_listing(actor: User, station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None:
        raise ValidationFailed.field("station_id", "服务站不存在")
    ensure_station_access(listing_scope(actor), station, hide=False)
    ensure_active(station)
    return station


def _seller_of(station: Station, seller_id: int) -> Seller:
    seller = db.session.get(Seller, seller_id)
    if seller is None or seller.station_id != station.id:
        raise ValidationFailed.field("seller_id", "卖家不存在或不属于该服务站")
    return seller


def _origin_village(station: Station, code: str) -> Region:
    village = db.session.get(Region, code)
    if village is None or village.level != RegionLevel.VILLAGE:
        raise ValidationFailed.field("origin_village_code", "产地村代码不存在")
    if village.code[:6] != station.village_code[:6]:
        raise ValidationFailed.field("origin_village_code", "产地须在服务站所在县（市、区）内")
    return village


def _check_text(actor: User, product: Product | None, data: dict) -> bool:
    """Run the content check on the title and description being set."""
    texts = {
        field: data[field]
        for field in ("title", "description")
        if field in data and (product is None or data[field] != getattr(product, field))
    }
    return check_listing_text(actor, texts) if texts else False


def create_product(actor: User, data: dict) -> Product:
    """List a product for a seller of the actor's station; it waits for county review."""
    station = _station_for_listing(actor, data["station_id"])
    seller = _seller_of(station, data["seller_id"])
    category = active_category(data["category"])
    village = _origin_village(station, data["origin_village_code"])
    flagged = _check_text(actor, None, data)
    product = Product(
        station=station,
        seller=seller,
        category=category,
        origin_village=village,
        title=data["title"],
        description=data.get("description") or "",
        unit=data["unit"],
        status=ProductStatus.PENDING_REVIEW,
        content_flagged=flagged,
        created_by_id=actor.id,
        skus=[
            Sku(name=sku["name"], price_fen=sku["price_fen"], stock=sku["stock"], position=position)
            for position, sku in enumerate(data["skus"])
        ],
    )
    refresh_min_price(product)
    db.session.add(product)
    record_review_event(product, ReviewAction.SUBMITTED, actor)
    db.session.flush()
    return product


def _apply_skus(product: Product, wanted: list[dict]) -> bool:
    """Replace the SKU list; True when SKU names changed or SKUs were added (new text)."""
    current = {sku.id: sku for sku in product.active_skus}
    seen, new_text = set(), False
    for position, item in enumerate(wanted):
        sku_id = item.get("id")
        if sku_id is None:
            product.skus.append(
                Sku(name=item["name"], price_fen=item["price_fen"], stock=item["stock"], position=position)
            )
            new_text = True
            continue
        sku = current.get(sku_id)
        if sku is None or sku_id in seen:
            raise ValidationFailed(details={"skus": {str(position): {"id": ["规格不存在或重复"]}}})
        seen.add(sku_id)
        new_text = new_text or sku.name != item["name"]
        sku.name, sku.price_fen, sku.stock, sku.position = (
            item["name"],
            item["price_fen"],
            item["stock"],
            position,
        )
    for sku_id, sku in current.items():
        if sku_id not in seen:
            sku.is_active = False  # order lines may refer to it; keep the row
    if len(product.active_skus) > MAX_SKUS:
        raise ValidationFailed.field("skus", f"最多 {MAX_SKUS} 个规格")
    return new_text


def update_product(actor: User, product_id: int, changes: dict) -> Product:
    """Edit a listing; new text or photos on an on-sale product send it back to review."""
    product = product_for_lister(actor, product_id)
    ensure_active(product.station)
    flagged = _check_text(actor, product, changes)
    content_changed = False
    if "category" in changes and changes["category"] != product.category_slug:
        product.category = active_category(changes["category"])
        content_changed = True
    if "origin_village_code" in changes and changes["origin_village_code"] != product.origin_village_code:
        product.origin_village = _origin_village(product.station, changes["origin_village_code"])
        content_changed = True
        if product.poverty_certified:
            revoke(product, actor, "产地变更，扶贫产品认定需重新办理")
    for field in ("title", "description", "unit"):
        if field in changes and changes[field] != getattr(product, field):
            setattr(product, field, changes[field])
            content_changed = True
    if "skus" in changes:
        content_changed = _apply_skus(product, changes["skus"]) or content_changed
        refresh_min_price(product)
    if content_changed:
        product.content_flagged = flagged
        send_back_to_review(product, actor, "商品信息修改，重新审核")
    db.session.flush()
    return product


def update_sku(actor: User, product_id: int, sku_id: int, changes: dict) -> Product:
    """Change one SKU's price or stock; the listing stays on sale."""
    product = product_for_lister(actor, product_id)
    sku = next((sku for sku in product.active_skus if sku.id == sku_id), None)
    if sku is None:
        raise ValidationFailed.field("sku_id", "规格不存在")
    for field in ("price_fen", "stock"):
        if field in changes:
            setattr(sku, field, changes[field])
    refresh_min_price(product)
    db.session.flush()
    return product


def revoke(product: Product, actor: User, reason: str) -> None:
    """Withdraw the poverty-alleviation certification, keeping the trail."""
    record_review_event(
        product, ReviewAction.CERTIFICATION_REVOKED, actor, reason=reason, certificate_no=product.certificate_no
    )
    product.poverty_certified = False
    product.certificate_no = product.certified_on = product.certified_by_id = None


def take_off_shelf(actor: User, product_id: int, reason: str | None) -> Product:
    """Take a product out of sale (or out of the review queue)."""
    product = product_for_lister(actor, product_id)
    if product.status not in (ProductStatus.ON_SALE, ProductStatus.PENDING_REVIEW):
        raise Conflict("只有在售或待审核的商品可以下架")
    product.status = ProductStatus.OFF_SHELF
    record_review_event(product, ReviewAction.TAKEN_OFF_SHELF, actor, reason=reason)
    db.session.flush()
    return product


def resubmit(actor: User, product_id: int) -> Product:
    """Put a rejected or off-shelf product back into the county's review queue."""
    product = product_for_lister(actor, product_id)
    ensure_active(product.station)
    if product.status not in (ProductStatus.REJECTED, ProductStatus.OFF_SHELF):
        raise Conflict("只有被驳回或已下架的商品可以重新提交审核")
    product.status = ProductStatus.PENDING_REVIEW
    product.submitted_at = utcnow()
    record_review_event(product, ReviewAction.SUBMITTED, actor)
    db.session.flush()
    return product


def list_station_products(
    actor: User, station_id: int, status: str | None, seller_id: int | None, page: int, per_page: int
) -> dict:
    """A station's products in every status, newest first (its manager, county, city)."""
    station = get_station(station_id)
    ensure_station_access(read_scope(actor), station)
    statement = (
        sa.select(Product)
        .where(Product.station_id == station.id)
        .options(selectinload(Product.seller), selectinload(Product.skus))
        .order_by(Product.id.desc())
    )
    if status:
        statement = statement.where(Product.status == status)
    if seller_id is not None:
        statement = statement.where(Product.seller_id == seller_id)
    return paginate(statement, page, per_page)
