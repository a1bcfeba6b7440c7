"""Demo pre-sale of 炎陵黄桃 (ships 07-20 – 08-05) and pickup orders at a station, through the real services.

Payments go through the gateway simulator like the other demo orders. Does
nothing once a pre-sale exists.
"""

from datetime import date, timedelta

import sqlalchemy as sa

from core.clock import beijing_today
from core.db import utcnow
from core.extensions import db
from demo.orders import _buyers, _managers, pay_demo_order
from shop.models import Product, ProductStatus, Sku
from shop.orders.models import Presale
from shop.orders.pickup import hand_over, mark_arrived
from shop.orders.placement import place_order
from shop.orders.presale import create_presale
from villages.models import Station

PEACHES = "炎陵黄桃"
CONTACT = {"name": "王先生", "phone": "13800000002"}
ADDRESS = {
    "name": "张女士",
    "phone": "13800000001",
    "region_code": "4302",
    "detail": "株洲市天元区示范路1号（演示地址）",
}


def _delivery_window(today: date) -> tuple[date, date]:
    """The coming 07-20 – 08-05 (next year's once this year's has begun)."""
    year = today.year if today < date(today.year, 7, 20) else today.year + 1
    return date(year, 7, 20), date(year, 8, 5)


def _peaches(manager_station: Station | None) -> Product | None:
    statement = (
        sa.select(Product)
        .where(Product.title.startswith(PEACHES), Product.status == ProductStatus.ON_SALE)
        .order_by(Product.id)
    )
    if manager_station is not None:
        own = db.session.scalar(statement.where(Product.station_id == manager_station.id))
        if own is not None:
            return own
    return db.session.scalar(statement)


def seed_presale_and_pickup(manager_station: Station | None) -> dict:
    """A pre-sale of 炎陵黄桃 with two paid orders, and three pickup orders at its station."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Presale)):
        return {}
    peaches = _peaches(manager_station)
    if peaches is None:
        return {}
    zhang, wang = _buyers()
    station = db.session.get(Station, peaches.station_id)
    manager = _managers(station)
    ships_from, ships_until = _delivery_window(beijing_today())
    sku = db.session.scalar(sa.select(Sku).where(Sku.product_id == peaches.id).order_by(Sku.id))
    presale = create_presale(
        manager,
        peaches.id,
        {
            "sku_id": sku.id,
            "quota": 300,
            "order_from": utcnow() - timedelta(days=1),
            "order_until": utcnow() + timedelta(days=60),
            "ships_from": ships_from,
            "ships_until": ships_until,
        },
    )
    for buyer, quantity in ((zhang, 2), (wang, 1)):
        pay_demo_order(place_order(buyer, [{"sku_id": sku.id, "quantity": quantity}], ADDRESS))

    # Pickup orders of goods in stock at the same station (not the pre-sale SKU).
    station.offers_pickup = True
    other = db.session.scalar(
        sa.select(Sku)
        .join(Product)
        .where(Product.station_id == station.id, Product.status == ProductStatus.ON_SALE, Sku.id != sku.id)
        .where(Sku.is_active, Sku.stock >= 3)
        .order_by(Sku.id)
    )
    pickups = {}
    if other is not None:
        at_station = {"station_id": station.id, "contact": CONTACT}
        for label in ("awaiting_goods", "ready", "collected"):
            order = place_order(wang, [{"sku_id": other.id, "quantity": 1}], None, None, at_station)
            pay_demo_order(order)
            if label != "awaiting_goods":
                mark_arrived(manager, order.id)
            if label == "collected":
                hand_over(manager, order.id, order.pickup.code)
            pickups[label] = order.id
    db.session.flush()
    return {
        "presale_id": presale.id,
        "presale_sold": db.session.scalar(sa.select(Presale.sold).where(Presale.id == presale.id)),
        "pickups": pickups,
    }
