"""Where the shop subscribes to what the villages package announces (and group buying to orders)."""

from shop.cart.services import drop_paid_skus
from shop.dashboard import seller_products
from shop.groups import receivers as group_receivers
from shop.signals import order_paid
from villages.signals import seller_dashboard_requested


def connect() -> None:
    """Subscribe once (idempotent: blinker keeps one connection per receiver); called by the app factory."""
    seller_dashboard_requested.connect(seller_products)
    group_receivers.connect()
    order_paid.connect(drop_paid_skus)
