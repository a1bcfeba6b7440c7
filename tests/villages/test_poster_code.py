"""Station poster codes: sandbox QR and real wechatpy against a loopback fake."""

import io

import pytest
from flask import Flask, Response, request
from PIL import Image
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from tests import factories
from tests.fakes import serve


@pytest.fixture
def station_and_manager(db):
    station = factories.station("430225100201")
    manager = factories.auth_header(factories.user(("station_manager", "430225100201", station.id)))
    return station, manager


def test_poster_code_from_the_sandbox_simulator_is_cached(app, client, station_and_manager, sandbox, monkeypatch):
    station, manager = station_and_manager
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", sandbox.base_url + "wechat-api/")
    first = client.get(f"/api/v1/stations/{station.id}/poster-code", headers=manager)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert Image.open(io.BytesIO(first.data)).format == "PNG"
    calls = [r for r in sandbox.recorded() if "getwxacodeunlimit" in str(r)]
    assert len(calls) == 1
    second = client.get(f"/api/v1/stations/{station.id}/poster-code", headers=manager)
    assert second.data == first.data
    assert len([r for r in sandbox.recorded() if "getwxacodeunlimit" in str(r)]) == 1


def test_without_wechat_a_local_qr_code_stands_in(app, client, station_and_manager, monkeypatch):
    station, manager = station_and_manager
    monkeypatch.setitem(app.config, "WECHAT_APPID", "")
    first = client.get(f"/api/v1/stations/{station.id}/poster-code", headers=manager)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert Image.open(io.BytesIO(first.data)).format == "PNG"
    second = client.get(f"/api/v1/stations/{station.id}/poster-code", headers=manager)
    assert second.data == first.data


def test_poster_code_comes_from_wechat_when_configured(app, client, station_and_manager, monkeypatch):
    station, manager = station_and_manager
    fake = Flask("fake_wxa")
    fake.calls = []
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(png, format="PNG")

    @fake.get("/cgi-bin/token")
    def token():
        return {"access_token": "tok", "expires_in": 7200}

    @fake.post("/wxa/getwxacodeunlimit")
    def code():
        fake.calls.append((request.args.get("access_token"), request.get_json(force=True)))
        return Response(png.getvalue(), mimetype="image/png")

    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    with serve(fake) as base:
        monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", base)
        monkeypatch.setitem(app.config, "WECHAT_APPID", "wx-test")
        monkeypatch.setitem(app.config, "WECHAT_SECRET", "s3cret")
        response = client.get(f"/api/v1/stations/{station.id}/poster-code", headers=manager)
    assert response.status_code == 200 and response.data == png.getvalue()
    access_token, payload = fake.calls[0]
    assert access_token == "tok"
    assert payload["scene"] == str(station.id) and payload["page"] == "pages/station/index"


def test_other_stations_poster_code_is_hidden(client, station_and_manager):
    station, _ = station_and_manager
    other = factories.station("430224100201")
    outsider = factories.auth_header(factories.user(("station_manager", "430224100201", other.id)))
    assert client.get(f"/api/v1/stations/{station.id}/poster-code", headers=outsider).status_code == 404
