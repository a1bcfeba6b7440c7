"""Oversized, over-nested and poisoned input is refused before a view sees it; responses carry safe headers."""

import json

import pytest
import sqlalchemy as sa

from core.request_guards import forbidden_text_fields, json_depth_exceeds
from payments.applying import UNVERIFIED_RAW_CHARS, store_gateway_message
from payments.models import PaymentEvent
from shop.orders.models import Order
from tests import factories
from tests.orders import ADDRESS, place
from villages.models import Seller


def _ascii_json(body) -> str:
    """JSON with \\uXXXX escapes, the way a client sends a lone surrogate."""
    return json.dumps(body)


def _events(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEvent))


@pytest.mark.parametrize("path", ["/api/v1/payments/notify/wechat", "/api/v1/payments/notify/alipay"])
def test_an_oversized_notification_is_refused_and_not_stored(client, db, path):
    body = b"<xml>" + b"A" * (200 * 1024) + b"</xml>"
    response = client.post(path, data=body, content_type="text/xml")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert _events(db) == 0


def test_an_oversized_json_body_is_refused_unread(client, db):
    body = json.dumps({"username": "a" * (2 * 1024 * 1024), "password": "x"})
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["details"] == {"max_bytes": 1024 * 1024}


@pytest.mark.parametrize("payload", ["5", "[1, 2]", '"admin"', "null", "true"])
def test_a_login_body_that_is_not_an_object_is_a_validation_error(client, db, payload):
    response = client.post("/api/v1/auth/login", data=payload, content_type="application/json")
    assert response.status_code in (400, 422), response.json
    assert response.json["error"]["code"] in ("bad_request", "validation_error")


def test_deeply_nested_json_is_malformed_on_public_and_protected_endpoints(client, db, shop):
    deep = "[" * 5000 + "]" * 5000
    for path, headers in (("/api/v1/auth/login", {}), ("/api/v1/orders", shop["buyer_header"])):
        response = client.post(path, data=deep, content_type="application/json", headers=headers)
        assert response.status_code == 400, (path, response.json)
        assert response.json["error"]["code"] == "bad_request"


def test_a_lone_surrogate_in_an_order_address_is_a_validation_error_and_nothing_is_stored(client, db, shop):
    body = {"items": [{"sku_id": shop["peach_5"].id, "quantity": 1}], "address": {**ADDRESS, "detail": "某小区\ud800"}}
    response = client.post(
        "/api/v1/orders", headers=shop["buyer_header"], data=_ascii_json(body), content_type="application/json"
    )
    assert response.status_code == 422
    assert list(response.json["error"]["details"]) == ["address.detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert place(client, shop, [(shop["peach_5"], 1)]).status_code == 201


def test_a_lone_surrogate_in_a_seller_registration_is_refused(client, db):
    station = factories.station("430225100201")
    manager = factories.auth_header(factories.user(("station_manager", "430225100201", station.id)))
    body = {"name": "李秀英", "phone": "13812345678", "id_card_no": "11010519491231002X\udfff", "poor_household": True}
    response = client.post(
        f"/api/v1/stations/{station.id}/sellers",
        headers=manager,
        data=_ascii_json(body),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert list(response.json["error"]["details"]) == ["id_card_no"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Seller)) == 0


@pytest.mark.parametrize("text", ["黄桃\x00", "黄桃\u202e桃黄", "\u2066李\u2069"])
def test_nul_and_bidi_controls_are_refused_in_text(client, db, shop, text):
    body = {"items": [{"sku_id": shop["peach_5"].id, "quantity": 1}], "address": {**ADDRESS, "name": text}}
    response = client.post("/api/v1/orders", headers=shop["buyer_header"], json=body)
    assert response.status_code == 422
    assert "address.name" in response.json["error"]["details"]


def test_poisoned_query_values_are_refused(client, db):
    response = client.get("/api/v1/products", query_string={"q": "黄桃\u202e"})
    assert response.status_code == 422
    assert list(response.json["error"]["details"]) == ["q"]


def test_the_scanners_find_paths_and_depth():
    assert forbidden_text_fields({"a": [{"b": "ok"}, {"c": "x\x00"}], "d": "fine"}) == ["a.1.c"]
    assert not json_depth_exceeds(b'{"a": "[[[[[[[[[["}', 3)
    assert json_depth_exceeds(b'{"a": [[[1]]]}', 3)
    assert not json_depth_exceeds(b'{"a": "\\"[[[[["}', 2)


def test_responses_carry_safe_headers(client, db):
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_answers_to_signed_in_requests_are_never_cached(client, db, shop):
    order = place(client, shop, [(shop["peach_5"], 1)])
    response = client.get(f"/api/v1/orders/{order.json['id']}", headers=shop["buyer_header"])
    assert response.headers["Cache-Control"] == "private, no-store"


def test_an_unverified_message_is_stored_truncated(db):
    store_gateway_message("wechat", "notification", None, "<xml>" + "A" * 50_000, False, "rejected: bad signature")
    db.session.flush()
    raw = db.session.scalar(sa.select(PaymentEvent.raw))
    assert len(raw) < UNVERIFIED_RAW_CHARS + 100
    assert raw.endswith("[truncated, 50005 characters]")


def test_unknown_query_parameters_are_a_validation_error(client, db):
    response = client.get("/api/v1/products", query_string={"categroy": "tea"})
    assert response.status_code == 422
    assert list(response.json["error"]["details"]) == ["categroy"]
    assert client.get("/api/v1/products", query_string={"category": "tea"}).status_code == 200


@pytest.mark.parametrize("quantity", [1.5, "1", True])
def test_quantities_are_strict_integers(client, db, shop, quantity):
    body = {"items": [{"sku_id": shop["peach_5"].id, "quantity": quantity}], "address": ADDRESS}
    response = client.post("/api/v1/orders", headers=shop["buyer_header"], json=body)
    assert response.status_code == 422
    assert "items" in response.json["error"]["details"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def _chunked(client, path, body: bytes, headers=None, content_type="application/json"):
    """A body sent with Transfer-Encoding: chunked (no Content-Length), as gunicorn hands it to the app."""
    import io

    return client.post(
        path,
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={**(headers or {}), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_chunked_bodies_are_guarded_like_sized_ones(client, db, shop):
    deep = b"[" * 5000 + b"]" * 5000
    for path, headers in (("/api/v1/auth/login", {}), ("/api/v1/orders", shop["buyer_header"])):
        response = _chunked(client, path, deep, headers)
        assert response.status_code == 400, (path, response.json)
        assert response.json["error"]["code"] == "bad_request"
    body = {"items": [{"sku_id": shop["peach_5"].id, "quantity": 1}], "address": {**ADDRESS, "detail": "某小区\ud800"}}
    response = _chunked(client, "/api/v1/orders", _ascii_json(body).encode(), shop["buyer_header"])
    assert response.status_code == 422 and "address.detail" in response.json["error"]["details"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    body = b"username=a\x00&password=b"
    form = _chunked(client, "/console/login", body, {}, "application/x-www-form-urlencoded")
    assert form.status_code == 422


def test_a_chunked_body_over_the_limit_is_refused(client, db, app):
    response = _chunked(client, "/api/v1/auth/login", b'{"username": "' + b"a" * (1024 * 1024 + 10) + b'"}')
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large", response.json
