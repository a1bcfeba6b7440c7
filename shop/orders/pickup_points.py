"""Choosing a pickup station at checkout (到站自提) and the code the buyer collects with."""

import secrets

import sqlalchemy as sa

from core.errors import ValidationFailed
from core.extensions import db
from shop.orders.models import Order, OrderPickup
from villages.models import Station, StationStatus

TOWNSHIP_CODE_LENGTH = 9
# What the QR code on the buyer's order holds: the station's scanner sends it back as the code.
QR_PREFIX = "zzpickup"


def pickup_station(station_id: int, selling_station_ids: set[int]) -> Station:
    """An active station of a township the goods come from, or any active station that offers pickup."""
    station = db.session.get(Station, station_id)
    if station is None or station.status != StationStatus.ACTIVE:
        raise ValidationFailed.field("pickup_station_id", "自提点不存在或已暂停服务")
    if station.offers_pickup:
        return station
    townships = set(
        db.session.scalars(
            sa.select(sa.func.substr(Station.village_code, 1, TOWNSHIP_CODE_LENGTH)).where(
                Station.id.in_(selling_station_ids)
            )
        )
    )
    if station.village_code[:TOWNSHIP_CODE_LENGTH] not in townships:
        raise ValidationFailed.field("pickup_station_id", "只能选择商品所在乡镇的服务站，或提供自提服务的服务站")
    return station


def pickup_address(station: Station, contact: dict) -> dict:
    """The order's address for a pickup: the buyer's name and phone, the station's place."""
    return {
        "name": contact["name"],
        "phone": contact["phone"],
        "region_code": station.village_code,
        "detail": f"到站自提：{station.name}（{station.address}）"[:200],
    }


def new_pickup_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def attach_pickup(order: Order, station: Station) -> OrderPickup:
    """Record that the buyer collects the order at ``station``, with a fresh 6-digit code."""
    pickup = OrderPickup(order_id=order.id, station_id=station.id, code=new_pickup_code())
    db.session.add(pickup)
    order.pickup = pickup
    return pickup


def qr_payload(pickup: OrderPickup) -> str:
    return f"{QR_PREFIX}:{pickup.order_id}:{pickup.code}"
