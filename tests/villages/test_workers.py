"""Village workers: record, list, leave (history kept, no longer counted)."""

import pytest

from tests import factories

VILLAGE = "430225100201"


@pytest.fixture
def admin(db):
    factories.region(VILLAGE)
    factories.region("430224100201")
    return factories.auth_header(factories.user(("county_admin", "430225")))


def _add(client, admin, **overrides):
    body = {
        "name": "张三",
        "phone": "13712345678",
        "kind": "info_officer",
        "trained_on": "2025-05-20",
        **overrides,
    }
    return client.post(f"/api/v1/villages/{VILLAGE}/workers", headers=admin, json=body)


def test_add_list_and_leave(client, admin):
    created = _add(client, admin, certificate_no="ZZ-2025-001")
    assert created.status_code == 201, created.json
    assert created.json["phone"] == "137****5678" and created.json["active"] is True
    listed = client.get(f"/api/v1/villages/{VILLAGE}/workers", headers=admin).json
    assert [w["id"] for w in listed["items"]] == [created.json["id"]]
    left = client.post(f"/api/v1/workers/{created.json['id']}/leave", headers=admin, json={"left_on": "2026-01-31"})
    assert left.json["left_on"] == "2026-01-31" and left.json["active"] is False
    assert client.get(f"/api/v1/villages/{VILLAGE}/workers", headers=admin).json["total"] == 0
    history = client.get(f"/api/v1/villages/{VILLAGE}/workers?include_left=true", headers=admin).json
    assert history["total"] == 1
    again = client.post(f"/api/v1/workers/{created.json['id']}/leave", headers=admin, json={})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"kind": "mayor"}, "kind"), ({"phone": "555"}, "phone"), ({"trained_on": "yesterday"}, "trained_on")],
)
def test_worker_validation(client, admin, overrides, field):
    response = _add(client, admin, **overrides)
    assert response.status_code == 422
    assert field in response.json["error"]["details"]


def test_leaving_before_training_is_refused(client, admin):
    worker_id = _add(client, admin).json["id"]
    response = client.post(f"/api/v1/workers/{worker_id}/leave", headers=admin, json={"left_on": "2020-01-01"})
    assert response.status_code == 422


def test_other_counties_cannot_touch_workers(client, admin):
    worker_id = _add(client, admin).json["id"]
    other = factories.auth_header(factories.user(("county_admin", "430224")))
    assert client.post(f"/api/v1/workers/{worker_id}/leave", headers=other, json={}).status_code == 404
    assert client.get(f"/api/v1/villages/{VILLAGE}/workers", headers=other).status_code == 403
    body = {"name": "李四", "phone": "13712345679", "kind": "ecommerce_talent"}
    assert client.post(f"/api/v1/villages/{VILLAGE}/workers", headers=other, json=body).status_code == 403
    assert client.get(f"/api/v1/villages/{VILLAGE}/workers").status_code == 401
