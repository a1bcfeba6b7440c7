"""The app factory, contract basics and the migration chain."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Migrate

from app import create_app
from core.config import Config, ProductionConfig, TestConfig
from core.db import include_object_for
from core.extensions import db as _db


def test_factory_builds_an_app_without_touching_the_database(tmp_path):
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/never-created.db"
    app = create_app(config)
    assert app.config["TESTING"] is True
    assert not (tmp_path / "never-created.db").exists()
    assert "/api/v1/auth/login" in {rule.rule for rule in app.url_map.iter_rules()}


def test_production_refuses_missing_secrets(monkeypatch):
    for name in ("SECRET_KEY", "PII_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is required"):
        create_app(ProductionConfig())


def test_production_defaults_the_sandbox_off(monkeypatch):
    monkeypatch.delenv("PAYMENT_SANDBOX", raising=False)
    assert ProductionConfig().PAYMENT_SANDBOX is False
    assert Config().PAYMENT_SANDBOX is True


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/no/such/page", 404, "not_found"),
        ("delete", "/healthz", 405, "method_not_allowed"),
        ("get", "/api/v1/me", 401, "invalid_token"),
    ],
)
def test_flask_errors_use_the_contract_body(client, method, path, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert response.json["error"]["details"] == {}


def test_validation_errors_are_422_with_field_details(client):
    response = client.post("/api/v1/auth/login", json={"username": 5})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {"username", "password"}


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"


def test_unhandled_exceptions_are_500_in_the_contract_body(app):
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.PROPAGATE_EXCEPTIONS = False
    fresh = create_app(config)

    @fresh.get("/__boom")
    def boom():
        raise RuntimeError("secret detail")

    response = fresh.test_client().get("/__boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "secret detail" not in response.get_data(as_text=True)


def test_openapi_document_and_docs_page_are_served_locally(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/auth/wechat-login" in spec.json["paths"]
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "https://" not in html and "http://" not in html
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert b"SwaggerUIBundle" in asset.data
    assert client.get("/api/v1/docs/assets/..%2Fsecret").status_code == 404


def test_single_migration_head(app):
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


def test_models_match_migrations(app, db):
    connection = _db.session.connection()  # the test's own connection (SQLite allows one writer)
    include_object = include_object_for(connection.dialect.name)
    context = MigrationContext.configure(connection, opts={"compare_type": False, "include_object": include_object})
    diff = compare_metadata(context, _db.metadata)
    assert diff == []


def test_migrate_extension_is_configured(app):
    assert isinstance(app.extensions["migrate"].migrate, Migrate)


def test_every_signal_has_a_receiver_and_wiring_twice_adds_none(app):
    """Signals are upward edges only (shop/villages → higher packages); each one is listened to."""
    from blinker import Signal

    import institutions.receivers
    import payments.receivers
    import shop.receivers
    import shop.signals
    import villages.signals

    signals = [
        value
        for module in (shop.signals, villages.signals)
        for value in vars(module).values()
        if isinstance(value, Signal)
    ]
    assert {signal.name for signal in signals} == {
        "order-expired",
        "order-cancelled",
        "lines-shipped",
        "refund-approved",
        "seller-dashboard-requested",
        "lines-shipping",  # institutions: per-recipient deliveries
        "unit-order-requested",  # institutions: placing an order for a unit
        "order-paid",  # shop.groups: a member paid (orders cannot import groups, which builds on them)
        "refund-requesting",  # shop.groups: a forming group's money waits for the group
        "payment-opening",  # institutions: a unit order meant for bank transfer is not paid online
        "order-groups-requested",  # shop.groups: order views show the group an order belongs to
    }
    before = {signal.name: len(signal.receivers) for signal in signals}
    assert all(before.values()), before
    for receivers in (shop.receivers, payments.receivers, institutions.receivers):
        receivers.connect()  # what a second create_app in the same process does
    assert {signal.name: len(signal.receivers) for signal in signals} == before


def test_no_rate_limit_check_runs_on_requests_without_a_limit(app):
    from core.extensions import limiter

    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])


def test_a_decorated_limit_still_applies(tmp_path):
    from core.extensions import limiter

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/unused.db"
    app = create_app(config)

    @app.get("/_test/limited")
    @limiter.limit("2 per minute")
    def _limited():
        return {"status": "ok"}

    client = app.test_client()
    try:
        assert [client.get("/_test/limited").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        limiter.reset()


def test_the_session_cookie_still_round_trips(tmp_path):
    from flask import session

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/unused.db"
    app = create_app(config)

    @app.get("/_test/session/<value>")
    def _store(value):
        if value != "read":
            session["value"] = value
        return {"value": session.get("value")}

    client = app.test_client()
    assert client.get("/_test/session/read").json == {"value": None}
    assert "Set-Cookie" not in client.get("/_test/session/read").headers
    assert client.get("/_test/session/kept").json == {"value": "kept"}
    assert client.get("/_test/session/read").json == {"value": "kept"}
