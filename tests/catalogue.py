"""Shared setup for the catalogue tests: a 炎陵 station with its people, and a 茶陵 one."""

import io
from dataclasses import dataclass

from PIL import Image

from tests import factories

YANLING_VILLAGE = "430225100201"
YANLING_OTHER_VILLAGE = "430225100202"
CHALING_VILLAGE = "430224100201"


@dataclass
class County:
    station: object
    seller: object
    manager: object
    admin: object

    @property
    def manager_auth(self) -> dict:
        return factories.auth_header(self.manager)

    @property
    def admin_auth(self) -> dict:
        return factories.auth_header(self.admin)


def county(village_code: str = YANLING_VILLAGE, poor_household: bool = False) -> County:
    """A station in ``village_code`` with a seller, its manager and the county's admin."""
    station = factories.station(village_code)
    return County(
        station=station,
        seller=factories.seller(station, poor_household=poor_household),
        manager=factories.user(("station_manager", village_code, station.id)),
        admin=factories.user(("county_admin", village_code[:6])),
    )


def listing(place: County, **overrides) -> dict:
    """A valid POST /products body for ``place``'s station and seller."""
    body = {
        "station_id": place.station.id,
        "seller_id": place.seller.id,
        "category": "fruit",
        "title": "炎陵黄桃",
        "description": "海拔八百米的高山黄桃，现摘现发",
        "unit": "箱",
        "origin_village_code": place.station.village_code,
        "skus": [
            {"name": "5斤装", "price_fen": 6800, "stock": 50},
            {"name": "10斤装", "price_fen": 12800, "stock": 20},
        ],
    }
    body.update(overrides)
    return body


def create(client, place: County, **overrides) -> dict:
    response = client.post("/api/v1/products", json=listing(place, **overrides), headers=place.manager_auth)
    assert response.status_code == 201, response.json
    return response.json


def approve(client, place: County, product_id: int, **extra) -> dict:
    response = client.post(
        f"/api/v1/products/{product_id}/review",
        json={"decision": "approve", **extra},
        headers=place.admin_auth,
    )
    assert response.status_code == 200, response.json
    return response.json


def on_sale(client, place: County, **overrides) -> dict:
    """A product listed through the API and approved by the county."""
    return approve(client, place, create(client, place, **overrides)["id"])


def image_bytes(fmt: str = "JPEG", size=(640, 480), color=(230, 160, 40), **save_args) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, color if mode == "RGB" else (*color, 128)).save(buffer, fmt, **save_args)
    return buffer.getvalue()
