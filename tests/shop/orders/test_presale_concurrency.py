"""A pre-sale quota under concurrent checkouts, on the production engine (real commits, threads, HTTP)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from core.auth import issue_tokens
from core.clock import beijing_today
from core.db import utcnow
from core.extensions import db as _db
from shop.models import Sku
from shop.orders.models import Order, Presale
from tests import factories
from tests.fakes import serve
from tests.orders import ADDRESS, race_expiry_jobs

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)


@pytest.fixture
def live(app, emptied_afterwards):
    """A product whose two SKUs share a pre-sale quota of 5, 20 buyers, the app served on loopback."""
    with app.app_context():
        product = factories.product(skus=(("5斤装", 6800, 100), ("10斤装", 12800, 100)))
        manager = factories.user(("station_manager", product.station.village_code, product.station_id))
        buyers = [factories.user(("buyer", None)) for _ in range(20)]
        _db.session.flush()
        presale = Presale(
            product_id=product.id,
            quota=5,
            order_from=utcnow() - timedelta(hours=1),
            order_until=utcnow() + timedelta(days=3),
            ships_from=beijing_today() + timedelta(days=10),
            ships_until=beijing_today() + timedelta(days=20),
            created_by_id=manager.id,
        )
        _db.session.add(presale)
        _db.session.commit()
        ids = {"presale_id": presale.id, "sku_ids": [sku.id for sku in product.skus]}
        tokens = [issue_tokens(buyer)["token"] for buyer in buyers]
    with serve(app) as base_url:
        yield {"base": base_url, "tokens": tokens, **ids}


def _buy(base: str, token: str, sku_id: int) -> requests.Response:
    body = {"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS}
    return requests.post(f"{base}api/v1/orders", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_twenty_buyers_of_two_skus_for_a_presale_quota_of_five(app, live):
    start = threading.Barrier(20)

    def attempt(index):
        start.wait()
        return _buy(live["base"], live["tokens"][index], live["sku_ids"][index % 2])

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 5 and statuses.count(409) == 15
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
    with app.app_context():
        assert _db.session.get(Presale, live["presale_id"]).sold == 5
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 5
        assert [_db.session.get(Sku, sku_id).stock for sku_id in live["sku_ids"]] == [100, 100]


def test_expiry_gives_the_quota_back_once(app, live):
    for index in range(5):
        assert _buy(live["base"], live["tokens"][index], live["sku_ids"][0]).status_code == 201
    assert _buy(live["base"], live["tokens"][5], live["sku_ids"][0]).status_code == 409
    assert sum(race_expiry_jobs(app, utcnow() + timedelta(hours=1))) == 5
    with app.app_context():
        assert _db.session.get(Presale, live["presale_id"]).sold == 0
