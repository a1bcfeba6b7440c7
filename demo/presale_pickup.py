"""Demo pre-sales (炎陵黄桃, ships 07-20 – 08-05; the demo station's own produce) and pickup orders.

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


def _window(today: date, month: int, day: int, end_month: int, end_day: int) -> tuple[date, date]:
    """The coming window (next year's once this year's has begun)."""
    year = today.year if today < date(today.year, month, day) else today.year + 1
    return date(year, month, day), date(year, end_month, end_day)


def _presale(manager, product: Product, window: tuple[date, date], orders) -> Presale:
    """A pre-sale of the product's first SKU with paid orders ``[(buyer, quantity), …]``."""
    sku = db.session.scalar(sa.select(Sku).where(Sku.product_id == product.id).order_by(Sku.id))
    presale = create_presale(
        manager,
        product.id,
        {
            "sku_id": sku.id,
            "quota": 300,
            "order_from": utcnow() - timedelta(days=1),
            "order_until": utcnow() + timedelta(days=60),
            "ships_from": window[0],
            "ships_until": window[1],
        },
    )
    for buyer, quantity in orders:
        pay_demo_order(place_order(buyer, [{"sku_id": sku.id, "quantity": quantity}], ADDRESS))
    return presale


def _pickups(station: Station, buyer, presold: set[int]) -> dict:
    """Three pickup orders at the station, one per step: waiting for the goods, ready, collected."""
    manager = _managers(station)
    station.offers_pickup = True
    other = db.session.scalar(
        sa.select(Sku)
        .join(Product)
        .where(Product.station_id == station.id, Product.status == ProductStatus.ON_SALE, Sku.id.not_in(presold))
        .where(Sku.is_active, Sku.stock >= 3)
        .order_by(Sku.id)
    )
    pickups = {}
    if other is not None:
        at_station = {"station_id": station.id, "contact": CONTACT}
        for label in ("awaiting_goods", "ready", "collected"):
            order = place_order(buyer, [{"sku_id": other.id, "quantity": 1}], None, None, at_station)
            pay_demo_order(order)
            if label != "awaiting_goods":
                mark_arrived(manager, order.id)
            if label == "collected":
                hand_over(manager, order.id, order.pickup.code)
            pickups[label] = order.id
    return pickups


def seed_presale_and_pickup(manager_station: Station | None) -> dict:
    """A pre-sale of 炎陵黄桃, one of the demo manager's own produce (明前茶), and pickup orders at their station."""
    if db.session.scalar(sa.select(Presale.id).limit(1)) is not None:
        return {}
    peaches = _peaches(manager_station)
    if peaches is None:
        return {}
    zhang, wang = _buyers()[:2]
    today = beijing_today()
    presale = _presale(
        _managers(db.session.get(Station, peaches.station_id)),
        peaches,
        _window(today, 7, 20, 8, 5),
        [(zhang, 2), (wang, 1)],
    )
    presold = {presale.sku_id}
    station = manager_station or db.session.get(Station, peaches.station_id)
    own = None
    if station.id != peaches.station_id:  # the demo manager's station sells something else: 明前茶, say
        own = db.session.scalar(
            sa.select(Product)
            .where(Product.station_id == station.id, Product.status == ProductStatus.ON_SALE)
            .order_by(Product.id)
        )
    if own is not None:
        own_presale = _presale(_managers(station), own, _window(today, 3, 25, 4, 10), [(zhang, 3), (wang, 2)])
        presold.add(own_presale.sku_id)
    pickups = _pickups(station, wang, presold)
    db.session.flush()
    return {
        "presale_id": presale.id,
        "presale_sold": db.session.scalar(sa.select(Presale.sold).where(Presale.id == presale.id)),
        "own_presale": own is not None,
        "pickups": pickups,
    }
