"""Where the shop subscribes to what the villages package announces."""

from shop.dashboard import seller_products
from villages.signals import seller_dashboard_requested


def connect() -> None:
    """Subscribe once (idempotent: blinker keeps one connection per receiver); called by the app factory."""
    seller_dashboard_requested.connect(seller_products)
