"""One test per cell of the authorization matrix (tests/authz/matrix.txt), and the matrix kept complete.

Each cell is a real request by one role to one route, with the world's records in the URL and a minimal
valid body (tests/authz/requests.py), run in a savepoint rolled back afterwards (tests/authz/conftest.py).
``AUTHZ_RECORD=path`` writes what each cell got to ``path`` (JSON lines) instead of asserting, for every
rule of app.url_map: the way to draft the lines of new routes.
"""

import json
import os

import pytest

from tests.authz.matrix import MATRIX, NOTES, PATH
from tests.authz.requests import BODIES, URL_ARGUMENTS
from tests.authz.run import outcome, request_cell
from tests.authz.world import ROLES

RECORD = os.environ.get("AUTHZ_RECORD")


def _routes(app) -> dict[tuple[str, str], str]:
    """(method, rule) → endpoint, for every rule and method the app answers (HEAD and OPTIONS aside)."""
    return {
        (method, rule.rule): rule.endpoint
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _recorded_routes():
    from app import create_app
    from core.config import TestConfig

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = "sqlite://"
    return sorted(_routes(create_app(config)))


CELLS = [(method, rule, role) for method, rule in (_recorded_routes() if RECORD else MATRIX) for role in ROLES]


@pytest.mark.parametrize(
    ("method", "rule", "role"), CELLS, ids=[f"{method} {rule} | {role}" for method, rule, role in CELLS]
)
def test_cell(app, client, world, method, rule, role):
    response = request_cell(app, client, world, method, rule, role)
    data = response.get_data()  # read, then close: a file response holds its file open until closed
    response.close()
    got = outcome(response, rule)
    if RECORD:
        with open(RECORD, "a", encoding="utf-8") as out:
            record = [method, rule, role, got, response.status_code, data[:300].decode("utf-8", "replace")]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    expected = MATRIX[(method, rule)][role]
    assert got == expected, f"{method} {rule} as {role}: {response.status_code} {data[:300]!r}"


def test_every_route_has_a_row_and_every_row_a_route(app):
    routes = _routes(app)
    missing = sorted(set(routes) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(routes))
    template = " ".join(["?"] * len(ROLES))
    problems = [
        f"no line in {PATH.name} for {method} {rule} (endpoint {routes[(method, rule)]}); "
        f"add `{method} {rule}  {template}` with one outcome per role"
        for method, rule in missing
    ]
    problems += [
        f"{PATH.name} has a line for {method} {rule}, which app.url_map no longer has" for method, rule in stale
    ]
    assert problems == [], "\n".join(problems)


def test_requests_name_only_existing_routes(app):
    routes = _routes(app)
    assert sorted(set(BODIES) - set(routes)) == []
    assert sorted(set(URL_ARGUMENTS) - set(routes)) == []


def test_no_row_is_refused_by_validation_alone():
    """A 422 is allowed where some other role gets through: else the body, not authorization, decides."""
    masked = [key for key, cells in MATRIX.items() if "422" in cells.values() and "ok" not in cells.values()]
    assert masked == []


def test_a_row_nobody_gets_through_says_why():
    """Nobody past authorization: either the route's user has no column, or the row is hiding a mistake."""
    closed = [key for key, cells in MATRIX.items() if "ok" not in cells.values() and key not in NOTES]
    assert closed == []


def test_every_api_write_that_someone_may_make_sends_a_body():
    """Writes that take a body have one in requests.py: an empty body would be a 422 for everyone."""
    from tests.authz.run import is_console

    bodiless = {
        ("POST", "/api/v1/stations/<int:station_id>/reactivate"),
        ("POST", "/api/v1/sellers/<int:seller_id>/bind-code"),
        ("POST", "/api/v1/products/<int:product_id>/submit"),
        ("DELETE", "/api/v1/products/<int:product_id>/images/<int:image_id>"),
        ("DELETE", "/api/v1/cart/items/<int:sku_id>"),
        ("POST", "/api/v1/orders/<int:order_id>/cancel"),
        ("POST", "/api/v1/orders/<int:order_id>/confirm-receipt"),
        ("POST", "/api/v1/reports/<int:report_id>/submit"),
        ("POST", "/api/v1/batches/<int:batch_id>/close"),
        ("POST", "/api/v1/units/<int:unit_id>/members/<int:member_id>/remove"),
        ("POST", "/api/v1/payments/notify/wechat"),
        ("POST", "/api/v1/payments/notify/alipay"),
        ("POST", "/api/v1/payments/notify/wechat-refund"),
        ("POST", "/api/v1/payments/notify/wechat-v3"),
    }
    writes = [
        key
        for key, cells in MATRIX.items()
        if key[0] != "GET" and not is_console(key[1]) and "ok" in cells.values() and key not in bodiless
    ]
    assert [key for key in writes if key not in BODIES] == []
