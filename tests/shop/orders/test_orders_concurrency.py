"""Concurrency on the production engine: real commits, real threads, real HTTP."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from core.auth import issue_tokens
from core.db import utcnow
from core.extensions import db as _db
from shop.models import Sku
from shop.orders.models import Order
from tests import factories
from tests.fakes import serve
from tests.orders import ADDRESS, race_expiry_jobs

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)


@pytest.fixture
def live(app, emptied_afterwards):
    """Committed data and the app served on loopback; every table is emptied afterwards."""
    with app.app_context():
        product = factories.product(skus=(("5斤装", 6800, 5),))
        buyers = [factories.user(("buyer", None)) for _ in range(20)]
        _db.session.commit()  # factories only flush; the served app reads committed rows
        tokens = [issue_tokens(buyer)["token"] for buyer in buyers]
        sku_id = product.skus[0].id
    with serve(app) as base_url:
        yield {"base": base_url, "sku_id": sku_id, "tokens": tokens}


def _buy(base: str, token: str, sku_id: int, key: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    body = {"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS}
    return requests.post(f"{base}api/v1/orders", json=body, headers=headers, timeout=30)


def test_twenty_buyers_for_the_last_five_units(app, live):
    start = threading.Barrier(20)

    def attempt(token):
        start.wait()
        return _buy(live["base"], token, live["sku_id"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, live["tokens"]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 5
    assert statuses.count(409) == 15
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
    with app.app_context():
        assert _db.session.get(Sku, live["sku_id"]).stock == 0
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 5


def test_racing_requests_with_one_idempotency_key_make_one_order(app, live):
    token = live["tokens"][0]
    start = threading.Barrier(6)

    def attempt(_):
        start.wait()
        return _buy(live["base"], token, live["sku_id"], key="same-key")

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(attempt, range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    with app.app_context():
        assert _db.session.get(Sku, live["sku_id"]).stock == 4


def test_two_expiry_jobs_release_stock_once(app, live):
    for token in live["tokens"][:5]:
        assert _buy(live["base"], token, live["sku_id"]).status_code == 201
    counts = race_expiry_jobs(app, utcnow() + timedelta(hours=1))
    assert sum(counts) == 5
    with app.app_context():
        assert _db.session.get(Sku, live["sku_id"]).stock == 5
