"""Where the institutions package subscribes to the shop's signals."""

from institutions.deliveries import refuse_station_shipping
from institutions.ordering import place_unit_order
from institutions.transfers import refuse_online_payment
from shop.signals import lines_shipping, payment_opening, unit_order_requested


def _place_unit_order(buyer, items=None, address=None, unit=None, **_):
    return place_unit_order(buyer, items, address, unit)


def connect() -> None:
    """Subscribe once (idempotent: blinker keeps one connection per receiver)."""
    unit_order_requested.connect(_place_unit_order)
    lines_shipping.connect(refuse_station_shipping)
    payment_opening.connect(refuse_online_payment)
