"""Every protected route authenticates before it parses anything: anonymous + bad input → 401, never 422.

The routes come from ``app.url_map``, so a new view is checked the day it is
added; the public ones are listed here by hand, so making a route public is a
deliberate edit of this list.
"""

import re

import pytest

# (endpoint, method) of everything that answers without a token.
PUBLIC = {
    ("system.healthz", "GET"),
    ("system.readyz", "GET"),
    ("metrics.metrics", "GET"),  # METRICS_TOKEN or loopback, not a user token (tests/ops)
    ("system.docs_page", "GET"),
    ("system.docs_asset", "GET"),
    ("api-docs.openapi_json", "GET"),
    ("static", "GET"),
    ("media.media", "GET"),
    ("auth.wechat_login", "POST"),
    ("auth.password_login", "POST"),
    ("auth.refresh", "POST"),
    ("alipay_auth.alipay_login", "POST"),
    ("payments.wechat_notification", "POST"),
    ("payments.alipay_notification", "POST"),
    ("payments.wechat_refund_notification", "POST"),
    ("payments.wechat_v3_notification", "POST"),
    ("regions.list_regions", "GET"),
    ("products.list_categories", "GET"),
    ("products.list_products", "GET"),
    ("products.get_product", "GET"),
    ("groups.list_offers", "GET"),  # a product's group prices, beside its public page
    ("groups.get_group", "GET"),  # the group's share link: members masked
    ("orders.product_presales", "GET"),  # a product page shows its pre-sale window and quota left
    ("batches.trace_json", "GET"),  # the 合格证 QR code: public, no login
    ("trace_page.trace_page", "GET"),
    ("auth.get_client_config", "GET"),  # what the mini-program reads before anyone logs in
    ("products.resolve_scene", "GET"),  # a scanned mini-program code opens before login
}

# Values no schema accepts: wrong types everywhere, unknown fields, out-of-range pages.
BAD_BODY = {
    "items": "none",
    "address": 5,
    "channel": "cash",
    "decision": "maybe",
    "station_id": "x",
    "county_code": 1,
    "skus": "none",
    "unknown_field": True,
}
BAD_QUERY = {"page": "zero", "per_page": "-1", "status": "nope", "view": "everyone", "region": "x", "from": "y"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule) -> str:
    """The rule with a plausible value for each variable (existence does not matter: 401 comes first)."""
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", rule.rule)


def _protected(app):
    """The API's protected routes. The web console (/console) signs in with a session cookie instead:
    it redirects to its sign-in page and refuses a form without its CSRF token before anything else
    (tests/console/test_console_routes.py checks every one of its routes)."""
    return [
        (rule, method)
        for rule, method in _routes(app)
        if (rule.endpoint, method) not in PUBLIC and not rule.endpoint.startswith("console.")
    ]


def test_public_list_names_only_existing_routes(app):
    existing = {(rule.endpoint, method) for rule, method in _routes(app)}
    assert PUBLIC - existing == set()


def test_there_are_protected_routes_to_check(app):
    assert len(_protected(app)) > 60


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Idempotency-Key": "anon-key-1"}],
    ids=["no-token", "bad-token", "idempotency-key"],
)
def test_anonymous_request_with_bad_input_is_401_on_every_protected_route(app, client, headers):
    failures = []
    for rule, method in _protected(app):
        url = _url(rule)
        response = client.open(url, method=method, query_string=BAD_QUERY, json=BAD_BODY, headers=headers)
        body = response.get_json(silent=True) or {}
        if response.status_code != 401 or body.get("error", {}).get("code") != "invalid_token":
            failures.append(f"{method} {rule.rule}: {response.status_code} {body}")
        multipart = client.open(url, method=method, query_string=BAD_QUERY, data={"file": "x"}, headers=headers)
        if multipart.status_code != 401:
            failures.append(f"{method} {rule.rule} (form body): {multipart.status_code}")
    assert failures == []


def test_openapi_marks_exactly_the_protected_operations_with_bearer_auth(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    unmarked, marked_public = [], []
    for rule, method in _routes(app):
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(("api-docs.", "system.")):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        operation = spec["paths"][path][method.lower()]
        security = operation.get("security")
        if (rule.endpoint, method) in PUBLIC:
            if security:
                marked_public.append(f"{method} {path}")
        elif security != [{"bearerAuth": []}]:
            unmarked.append(f"{method} {path}")
    assert unmarked == [] and marked_public == []
