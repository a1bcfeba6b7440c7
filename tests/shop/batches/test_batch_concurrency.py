"""Two stations' shipments racing for a batch's last units, on PostgreSQL with real commits."""

import os
import threading

import pytest
import sqlalchemy as sa

from app import create_app
from core.config import TestConfig
from core.db import utcnow
from core.extensions import db as _db
from shop.batches.allocation import BatchShortfall
from shop.batches.models import Batch
from shop.orders import fulfilment
from shop.orders.models import Order, OrderLine
from shop.orders.placement import place_order
from tests import factories
from tests.orders import ADDRESS

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)
ORDERS = 8


@pytest.fixture
def live(app, emptied_afterwards):
    """A second app on the same database whose sessions really commit; emptied afterwards."""
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": ORDERS + 2, "max_overflow": 0}
    config.TASKS_EAGER = False
    live_app = create_app(config)
    yield live_app
    with live_app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_parallel_shipments_never_take_more_than_the_batch_holds(live, monkeypatch):
    monkeypatch.setitem(live.config, "UNPAID_ORDERS_PER_BUYER", 100)  # one buyer places every order here
    with live.app_context():
        station = factories.station("430225100201")
        product = factories.product(station, skus=(("5斤装", 6800, 100),))
        manager = factories.user(("station_manager", station.village_code, station.id))
        buyer = factories.user(("buyer", None))
        batch = Batch(
            product=product,
            station=station,
            seller=product.seller,
            origin_village_code=station.village_code,
            harvested_on=product.created_at.date(),
            quantity=5,
            remaining_quantity=5,
            unit="箱",
            producer_kind="seller",
            status="open",
            scan_count=0,
            trace_code="RACE234567",
            created_by_id=manager.id,
        )
        _db.session.add(batch)
        _db.session.commit()
        order_ids = []
        for _ in range(ORDERS):
            order = place_order(buyer, [{"sku_id": product.skus[0].id, "quantity": 1}], ADDRESS)
            _db.session.flush()
            order_ids.append(order.id)
        # Paid as far as shipping cares (no gateway, no ledger: this test is about the batch).
        _db.session.execute(sa.update(Order).values(status="paid", paid_channel="alipay_wap", paid_at=utcnow()))
        _db.session.execute(sa.update(OrderLine).values(status="paid"))
        _db.session.commit()
        manager_id, station_id, batch_id = manager.id, station.id, batch.id
    outcomes: list[str] = []
    barrier = threading.Barrier(ORDERS)

    def ship(order_id: int) -> None:
        with live.app_context():
            from core.models import User

            actor = _db.session.get(User, manager_id)
            barrier.wait()
            try:
                fulfilment.ship_station_lines(actor, order_id, station_id, "顺丰速运", f"SF{order_id:010d}")
                _db.session.commit()
                outcomes.append("shipped")
            except BatchShortfall:
                _db.session.rollback()
                outcomes.append("short")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=ship, args=(order_id,)) for order_id in order_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with live.app_context():
        remaining = _db.session.scalar(sa.select(Batch.remaining_quantity).where(Batch.id == batch_id))
        traced_lines = _db.session.scalar(
            sa.select(sa.func.count()).select_from(OrderLine).where(OrderLine.batch_id == batch_id)
        )
        shipped_orders = _db.session.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.status == "shipped")
        )
    # Exactly five lines took the five units; the others were refused (409) or, once the batch
    # was seen empty, shipped untraced. Never a unit taken twice, never below zero.
    assert (remaining, traced_lines) == (0, 5)
    assert shipped_orders == outcomes.count("shipped") >= 5 and len(outcomes) == ORDERS
