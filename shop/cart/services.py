"""Cart services: read the cart with live prices, set or remove a line, drop what an order paid for."""

import sqlalchemy as sa

from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from shop.cart.models import MAX_DISTINCT_SKUS, MAX_QUANTITY, CartItem
from shop.models import Product, Sku
from shop.storage import media_url

# Why an item cannot be ordered now (shown next to it; the item stays in the cart).
REASON_OFF_SALE = "商品已下架"
REASON_SHORT = "库存不足"


def _item_view(item: CartItem) -> dict:
    sku = item.sku
    product: Product = sku.product
    reason = None
    if not sku.is_active or not product.is_public:
        reason = REASON_OFF_SALE
    elif sku.stock < item.quantity:
        reason = REASON_SHORT
    return {
        "sku_id": sku.id,
        "quantity": item.quantity,
        "product_id": product.id,
        "title": product.title,
        "sku_name": sku.name,
        "price_fen": sku.price_fen,
        "image_url": media_url(product.cover_image_key),
        "station_id": product.station_id,
        "stock": sku.stock,
        "available": reason is None,
        "reason": reason,
    }


def get_cart(user: User) -> dict:
    """The buyer's cart at today's prices; the total counts only the items that can be ordered."""
    items = db.session.scalars(
        sa.select(CartItem).where(CartItem.user_id == user.id).order_by(CartItem.created_at, CartItem.id)
    ).all()
    views = [_item_view(item) for item in items]
    total = sum(view["price_fen"] * view["quantity"] for view in views if view["available"])
    return {"items": views, "total_fen": total}


def set_quantity(user: User, sku_id: int, quantity: int) -> dict:
    """Put ``quantity`` of a SKU in the cart (0 removes it); only SKUs on sale may be added."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed.field("quantity", f"数量应在 0 到 {MAX_QUANTITY} 之间")
    item = db.session.scalar(sa.select(CartItem).where(CartItem.user_id == user.id, CartItem.sku_id == sku_id))
    if quantity == 0:
        if item is not None:
            db.session.delete(item)
            db.session.flush()
        return get_cart(user)
    if item is None:
        sku = db.session.get(Sku, sku_id)
        if sku is None or not sku.is_active or not sku.product.is_public:
            raise NotFound("商品不存在或已下架")
        count = db.session.scalar(sa.select(sa.func.count()).where(CartItem.user_id == user.id))
        if count >= MAX_DISTINCT_SKUS:
            raise Conflict(f"购物车最多放 {MAX_DISTINCT_SKUS} 种商品")
        item = CartItem(user_id=user.id, sku_id=sku_id, quantity=quantity)
        db.session.add(item)
    else:
        item.quantity = quantity
    db.session.flush()
    return get_cart(user)


def remove_item(user: User, sku_id: int) -> dict:
    """Take a SKU out of the cart (no error when it was not there)."""
    return set_quantity(user, sku_id, 0)


def drop_paid_skus(order, **_kwargs) -> None:
    """``order_paid`` receiver: the SKUs the buyer just paid for leave their cart."""
    sku_ids = [line.sku_id for line in order.lines]
    db.session.execute(
        sa.delete(CartItem).where(CartItem.user_id == order.buyer_id, CartItem.sku_id.in_(sku_ids)),
        execution_options={"synchronize_session": False},
    )
