"""Scenes of mini-program codes resolved back to the station, product, group or trace label they open."""

import pytest

from shop.models import ProductStatus
from shop.scenes import group_scene, product_scene, trace_scene
from tests import factories
from tests.shop.batches.conftest import record
from tests.shop.groups.conftest import group_shop, open_group  # noqa: F401 - group_shop is a fixture


def _resolve(client, scene):
    return client.get(f"/api/v1/scenes/{scene}")


def test_a_station_poster_scene_is_the_station_id(client, db):
    station = factories.station()
    response = _resolve(client, str(station.id))
    assert response.status_code == 200
    village = {"code": station.village_code, "name": station.village.name}
    assert response.json == {"kind": "station", "id": station.id, "name": station.name, "village": village}
    listed = client.get(f"/api/v1/products?station={station.id}").json["items"]
    assert listed == []
    product = factories.product(station)
    factories.product()  # another station's
    listed = client.get(f"/api/v1/products?station={station.id}").json["items"]
    assert [item["id"] for item in listed] == [product.id]


def test_a_product_scene_resolves_while_it_is_on_sale(client, db):
    product = factories.product()
    assert _resolve(client, product_scene(product.id)).json == {"kind": "product", "id": product.id}
    hidden = factories.product(status=ProductStatus.PENDING_REVIEW)
    assert _resolve(client, product_scene(hidden.id)).status_code == 404


def test_group_and_trace_scenes_resolve_to_existing_records(client, group_shop):  # noqa: F811
    group = open_group(client, group_shop["buyer_header"], group_shop["offer"].id)["group"]
    assert _resolve(client, group_scene(group["id"])).json == {"kind": "group", "id": group["id"]}
    manager = factories.user(("station_manager", "430225100201", group_shop["peach_station"].id))
    batch = record(
        client, {**group_shop, "peaches": group_shop["peach_5"].product, "m": factories.auth_header(manager)}, who="m"
    )
    assert _resolve(client, trace_scene(batch["trace_code"])).json == {"kind": "trace", "code": batch["trace_code"]}
    assert _resolve(client, trace_scene("ZZZZ9999")).status_code == 404


@pytest.mark.parametrize("scene", ["x1", "p", "g12a", "t!!", "1" * 33, "p99999999"])
def test_unknown_scenes_are_404(client, db, scene):
    response = _resolve(client, scene)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
