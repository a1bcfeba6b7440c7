"""The mini-program's client configuration and the phone number confirmed through WeChat."""

import pytest
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from core.extensions import db as _db
from core.models import User
from sandbox.wechat_api import sandbox_phone_number
from tests import factories


def test_client_config_is_public_and_names_every_template(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_ORDER_SHIPPED_TEMPLATE_ID", "tpl-shipped")
    monkeypatch.setitem(app.config, "WECHAT_REFUND_RESULT_TEMPLATE_ID", "  ")
    monkeypatch.setitem(app.config, "SERVICE_PHONE", "0731-22220000")
    response = client.get("/api/v1/client-config")
    assert response.status_code == 200
    body = response.json
    assert body["office_name"] == app.config["OFFICE_NAME"]
    assert body["service_phone"] == "0731-22220000"
    assert set(body["subscribe_templates"]) == {
        "order_shipped",
        "pickup_ready",
        "refund_result",
        "group_result",
        "presale_due",
    }
    assert body["subscribe_templates"]["order_shipped"] == "tpl-shipped"
    assert body["subscribe_templates"]["refund_result"] is None  # blank counts as unconfigured
    assert body["min_client_version"]


@pytest.fixture
def wechat_sandbox(app, sandbox, monkeypatch):
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", sandbox.base_url + "wechat-api/")
    return sandbox


def test_phone_number_is_asked_of_wechat_and_kept_encrypted(client, wechat_sandbox):
    buyer = factories.user(("buyer", None))
    response = client.post("/api/v1/auth/phone", json={"code": "phone-code-1"}, headers=factories.auth_header(buyer))
    assert response.status_code == 200, response.json
    number = sandbox_phone_number("phone-code-1")
    assert response.json == {"phone_masked": number[:3] + "****" + number[-4:]}
    _db.session.expire_all()
    assert _db.session.get(User, buyer.id).phone == number
    stored = _db.session.execute(_db.text("SELECT phone FROM users WHERE id = :id"), {"id": buyer.id}).scalar()
    assert number not in stored
    calls = [call for call in wechat_sandbox.recorded("wechat_api") if call.path.endswith("getuserphonenumber")]
    assert calls and calls[-1].params["json"] == {"code": "phone-code-1"}


def test_a_stale_phone_code_is_a_validation_error(client, wechat_sandbox):
    buyer = factories.user(("buyer", None))
    response = client.post("/api/v1/auth/phone", json={"code": "invalid"}, headers=factories.auth_header(buyer))
    assert response.status_code == 422
    assert "code" in response.json["error"]["details"]
    _db.session.expire_all()
    assert _db.session.get(User, buyer.id).phone is None


def test_phone_number_without_wechat_is_502_and_changes_nothing(client, app, monkeypatch):
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", "http://127.0.0.1:9/")
    buyer = factories.user(("buyer", None))
    response = client.post("/api/v1/auth/phone", json={"code": "c"}, headers=factories.auth_header(buyer))
    assert response.status_code == 502
    assert response.json["error"]["code"] == "upstream_unavailable"
    _db.session.expire_all()
    assert _db.session.get(User, buyer.id).phone is None


def test_phone_number_needs_a_login_before_its_body_is_read(client):
    response = client.post("/api/v1/auth/phone", json={})
    assert response.status_code == 401
