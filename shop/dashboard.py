"""The villager's own page (GET /sellers/me) gets their listings from here (connected in shop/receivers.py)."""

import sqlalchemy as sa

from core.extensions import db
from shop.models import Product
from shop.storage import media_url
from villages.models import Seller

MAX_LISTED = 100


def seller_products(seller: Seller, **_) -> dict:
    """The seller's products, newest first, with status and any rejection reason."""
    products = db.session.scalars(
        sa.select(Product).where(Product.seller_id == seller.id).order_by(Product.id.desc()).limit(MAX_LISTED)
    )
    return {
        "products": [
            {
                "id": product.id,
                "title": product.title,
                "status": product.status,
                "rejection_reason": product.rejection_reason,
                "price_fen": product.min_price_fen,
                "cover_image_url": media_url(product.cover_image_key),
                "poverty_certified": product.poverty_certified,
                "sales_count": product.sales_count,
            }
            for product in products
        ]
    }
