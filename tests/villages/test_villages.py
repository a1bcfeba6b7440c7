"""Villages, centres and stations: endpoints and the scoping matrix."""

from datetime import date

import pytest

from core.extensions import db as _db
from tests import factories
from villages.models import Station, Village

YANLING_VILLAGE = "430225100201"
CHALING_VILLAGE = "430224100201"


@pytest.fixture
def world(db):
    """Two counties with a centre, a station and a county admin each, plus other roles."""
    for code in (YANLING_VILLAGE, CHALING_VILLAGE):
        factories.region(code)
    yanling_station = factories.station(YANLING_VILLAGE)
    chaling_station = factories.station(CHALING_VILLAGE)
    return {
        "yanling_station": yanling_station,
        "chaling_station": chaling_station,
        "yanling_admin": factories.auth_header(factories.user(("county_admin", "430225"))),
        "chaling_admin": factories.auth_header(factories.user(("county_admin", "430224"))),
        "platform": factories.auth_header(factories.user(("platform_admin", None))),
        "office": factories.auth_header(factories.user(("poverty_office", "4302"))),
        "manager": factories.auth_header(factories.user(("station_manager", YANLING_VILLAGE, yanling_station.id))),
        "buyer": factories.auth_header(factories.user(("buyer", None))),
    }


# --- scoping matrix ---------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("yanling_admin", f"/api/v1/villages/{YANLING_VILLAGE}", 200),
        ("yanling_admin", f"/api/v1/villages/{CHALING_VILLAGE}", 403),
        ("chaling_admin", f"/api/v1/villages/{YANLING_VILLAGE}", 403),
        ("office", f"/api/v1/villages/{CHALING_VILLAGE}", 200),
        ("manager", f"/api/v1/villages/{YANLING_VILLAGE}", 200),
        ("manager", f"/api/v1/villages/{CHALING_VILLAGE}", 403),
        ("buyer", f"/api/v1/villages/{YANLING_VILLAGE}", 403),
        (None, f"/api/v1/villages/{YANLING_VILLAGE}", 401),
        ("yanling_admin", "/api/v1/villages?region=430224", 403),
        (None, "/api/v1/villages", 401),
        (None, "/api/v1/stations", 401),
        ("buyer", "/api/v1/stations", 403),
        (None, "/api/v1/centres", 401),
        (None, "/api/v1/metrics/villages?region=4302", 401),
        ("yanling_admin", "/api/v1/metrics/villages?region=4302", 403),
        ("yanling_admin", "/api/v1/metrics/villages?region=430224", 403),
        ("yanling_admin", "/api/v1/metrics/villages?region=430225", 200),
        ("office", "/api/v1/metrics/villages?region=4302", 200),
    ],
)
def test_read_scoping_matrix(client, world, who, path, status):
    response = client.get(path, headers=world[who] if who else {})
    assert response.status_code == status, response.json
    if status >= 400:
        assert "error" in response.json


def test_station_detail_is_hidden_outside_the_scope(client, world):
    chaling = world["chaling_station"].id
    assert client.get(f"/api/v1/stations/{chaling}", headers=world["yanling_admin"]).status_code == 404
    assert client.get(f"/api/v1/stations/{chaling}", headers=world["manager"]).status_code == 404
    assert client.get(f"/api/v1/stations/{chaling}", headers=world["chaling_admin"]).status_code == 200


def test_station_lists_are_scoped(client, world):
    ids = lambda who: [s["id"] for s in client.get("/api/v1/stations", headers=world[who]).json["items"]]  # noqa: E731
    assert ids("yanling_admin") == [world["yanling_station"].id]
    assert ids("manager") == [world["yanling_station"].id]
    assert sorted(ids("office")) == sorted([world["yanling_station"].id, world["chaling_station"].id])


def test_a_county_admin_cannot_change_another_countys_village_or_station(client, world):
    patch = client.patch(
        f"/api/v1/villages/{CHALING_VILLAGE}", headers=world["yanling_admin"], json={"fibre_covered": True}
    )
    assert patch.status_code == 403
    assert _db.session.get(Village, CHALING_VILLAGE).fibre_covered is False
    station = world["chaling_station"].id
    suspend = client.post(
        f"/api/v1/stations/{station}/suspend", headers=world["yanling_admin"], json={"reason": "违规"}
    )
    assert suspend.status_code == 404
    assert _db.session.get(Station, station).status == "active"


def test_station_managers_and_the_office_cannot_patch_villages(client, world):
    for who in ("manager", "office"):
        response = client.patch(f"/api/v1/villages/{YANLING_VILLAGE}", headers=world[who], json={"households": 10})
        assert response.status_code == 403


# --- villages ---------------------------------------------------------------


def test_patch_village_records_when_coverage_became_true(client, world):
    response = client.patch(
        f"/api/v1/villages/{YANLING_VILLAGE}",
        headers=world["yanling_admin"],
        json={
            "is_poverty_village": True,
            "households": 320,
            "registered_poor_households": 41,
            "fibre_covered": True,
            "fibre_covered_on": "2025-06-01",
            "mobile_4g_covered": True,
        },
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["is_poverty_village"] is True and body["households"] == 320
    assert body["fibre_covered_on"] == "2025-06-01"
    assert body["mobile_4g_covered_on"] is not None
    off = client.patch(
        f"/api/v1/villages/{YANLING_VILLAGE}", headers=world["yanling_admin"], json={"fibre_covered": False}
    )
    assert off.json["fibre_covered"] is False and off.json["fibre_covered_on"] is None


def test_patch_village_rejects_more_poor_households_than_households(client, world):
    response = client.patch(
        f"/api/v1/villages/{YANLING_VILLAGE}",
        headers=world["yanling_admin"],
        json={"households": 10, "registered_poor_households": 11},
    )
    assert response.status_code == 422
    assert "registered_poor_households" in response.json["error"]["details"]
    assert _db.session.get(Village, YANLING_VILLAGE).households == 0


def test_village_list_filters(client, world):
    village = _db.session.get(Village, YANLING_VILLAGE)
    village.is_poverty_village = True
    _db.session.commit()
    body = client.get("/api/v1/villages?poverty=true", headers=world["office"]).json
    assert [v["code"] for v in body["items"]] == [YANLING_VILLAGE]
    body = client.get("/api/v1/villages?region=430224", headers=world["office"]).json
    assert [v["code"] for v in body["items"]] == [CHALING_VILLAGE]
    assert body["items"][0]["name"]


def test_village_detail_counts_stations_and_active_workers(client, world):
    factories.worker(YANLING_VILLAGE, "info_officer")
    factories.worker(YANLING_VILLAGE, "info_officer", left_on=date(2025, 1, 1))
    factories.worker(YANLING_VILLAGE, "ecommerce_talent")
    body = client.get(f"/api/v1/villages/{YANLING_VILLAGE}", headers=world["yanling_admin"]).json
    assert body["info_officers"] == 1 and body["ecommerce_talents"] == 1
    assert [s["id"] for s in body["stations"]] == [world["yanling_station"].id]


# --- centres ----------------------------------------------------------------


def test_only_platform_admins_create_centres(client, world):
    args = {"county_code": "430225", "name": "炎陵县第二电商中心", "commission_bps": 250}
    assert client.post("/api/v1/centres", headers=world["yanling_admin"], json=args).status_code == 403
    created = client.post("/api/v1/centres", headers=world["platform"], json=args)
    assert created.status_code == 201
    assert created.json["commission_bps"] == 250


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"county_code": "430225", "name": "中心", "commission_bps": 10001}, "commission_bps"),
        ({"county_code": "430299", "name": "中心", "commission_bps": 100}, "county_code"),
        ({"county_code": "430225100", "name": "中心", "commission_bps": 100}, "county_code"),
    ],
)
def test_centre_validation(client, world, args, field):
    response = client.post("/api/v1/centres", headers=world["platform"], json=args)
    assert response.status_code == 422
    assert field in response.json["error"]["details"]


def test_centre_list_is_scoped(client, world):
    counties = {c["county_code"] for c in client.get("/api/v1/centres", headers=world["manager"]).json["items"]}
    assert counties == {"430225"}


# --- stations ---------------------------------------------------------------


def test_county_admin_opens_a_station_with_a_manager_account(client, world):
    factories.region("430225100202")
    response = client.post(
        "/api/v1/stations",
        headers=world["yanling_admin"],
        json={
            "village_code": "430225100202",
            "name": "桃源村服务站",
            "address": "村部一楼",
            "service_fee_bps": 500,
            "manager": {"username": "liu2", "password": "station-pass-1"},
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] == "active"
    assert response.json["village"]["code"] == "430225100202"
    login = client.post("/api/v1/auth/login", json={"username": "liu2", "password": "station-pass-1"})
    assert login.json["user"]["roles"] == ["station_manager"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {login.json['token']}"}).json
    assert me["scopes"][0]["station_id"] == response.json["id"]


def test_a_station_outside_the_county_is_refused(client, world):
    response = client.post(
        "/api/v1/stations",
        headers=world["yanling_admin"],
        json={
            "village_code": CHALING_VILLAGE,
            "name": "越界服务站",
            "address": "村部",
            "service_fee_bps": 500,
        },
    )
    assert response.status_code == 403


def test_a_county_without_a_centre_cannot_open_stations(client, db):
    factories.region("430223100201")
    admin = factories.auth_header(factories.user(("county_admin", "430223")))
    response = client.post(
        "/api/v1/stations",
        headers=admin,
        json={
            "village_code": "430223100201",
            "name": "无中心服务站",
            "address": "村部",
            "service_fee_bps": 500,
        },
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"


def test_suspend_and_reactivate(client, world):
    station = world["yanling_station"].id
    url = f"/api/v1/stations/{station}"
    suspended = client.post(f"{url}/suspend", headers=world["yanling_admin"], json={"reason": "多次发货延误"})
    assert suspended.json["status"] == "suspended"
    again = client.post(f"{url}/suspend", headers=world["yanling_admin"], json={"reason": "再次"})
    assert again.status_code == 409
    assert client.post(f"{url}/reactivate", headers=world["manager"]).status_code == 403
    assert client.post(f"{url}/reactivate", headers=world["yanling_admin"]).json["status"] == "active"


def test_station_managers_cannot_open_or_suspend_stations(client, world):
    station = world["yanling_station"].id
    response = client.post(f"/api/v1/stations/{station}/suspend", headers=world["manager"], json={"reason": "x" * 3})
    assert response.status_code in (403, 404)


def test_station_fee_and_centre_commission_cannot_exceed_the_line(client, db):
    factories.region("430225100202")
    station = factories.station("430225100201")  # centre commission 300
    admin = factories.auth_header(factories.user(("county_admin", "430225")))
    body = {"village_code": "430225100202", "name": "超额服务站", "address": "村部", "service_fee_bps": 9800}
    created = client.post("/api/v1/stations", headers=admin, json=body)
    assert created.status_code == 422 and "service_fee_bps" in created.json["error"]["details"]
    patched = client.patch(f"/api/v1/stations/{station.id}", headers=admin, json={"service_fee_bps": 9701})
    assert patched.status_code == 422
    assert (
        client.patch(f"/api/v1/stations/{station.id}", headers=admin, json={"service_fee_bps": 9700}).status_code == 200
    )
