"""Settlement under concurrency on the production engine: real commits, real threads."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from core.models import User
from payments.applying import apply_success, lock_payment
from payments.ledger import payouts as payouts_module
from payments.ledger.models import LineSettlement, Payout
from payments.ledger.payouts import run_settlement
from payments.ledger.settlement import release_held_funds
from payments.ledger.verify import verify_ledger
from payments.models import Payment
from payments.opening import new_out_trade_no
from payments.providers import TransferResult
from shop.orders.fulfilment import confirm_receipt, ship_station_lines
from shop.orders.placement import place_order
from tests import factories
from tests.orders import ADDRESS

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)
COUNTY = "430225"
ORDERS = 6


class CountingAlipay:
    """Pays every transfer and counts them (as Alipay would, once per out_biz_no)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.paid: dict[str, int] = {}

    def transfer(self, out_biz_no, account, name, amount_fen, remark):
        with self.lock:
            self.paid[out_biz_no] = amount_fen
        return TransferResult(out_biz_no, "success", order_id=f"T{out_biz_no}")

    def query_transfer(self, out_biz_no):
        with self.lock:
            known = out_biz_no in self.paid
        return TransferResult(out_biz_no, "success" if known else "not_found")


@pytest.fixture
def received_orders(app, emptied_afterwards):
    """Committed orders in 炎陵县, received long ago; every table is emptied afterwards."""
    with app.app_context():
        station = factories.station("430225100201", service_fee_bps=500, payout_alipay_account="13900000009")
        station.centre.payout_alipay_account = "centre@example.com"
        product = factories.product(station, skus=(("5斤装", 6800, 100),))
        product.seller.payout_alipay_account = "13900000001"
        admin = factories.user(("county_admin", COUNTY))
        buyer = factories.user(("buyer", None))
        for _ in range(ORDERS):
            order = place_order(buyer, [{"sku_id": product.skus[0].id, "quantity": 1}], ADDRESS)
            payment = Payment(
                order_id=order.id,
                buyer_id=buyer.id,
                channel="wechat_jsapi",
                out_trade_no=new_out_trade_no(order.id),
                amount_fen=order.total_fen,
            )
            _db.session.add(payment)
            _db.session.flush()
            apply_success(lock_payment(payment.out_trade_no), f"TX{payment.id}", utcnow())
            ship_station_lines(admin, order.id, station.id, "中国邮政", f"EMS{order.id:08d}")
            confirm_receipt(buyer, order.id)
        _db.session.commit()
        admin_id = admin.id
    yield {"admin_id": admin_id}


def _in_threads(app, count: int, work):
    start = threading.Barrier(count)

    def run(_):
        with app.app_context():
            start.wait()
            try:
                return work()
            finally:
                _db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_parallel_releases_take_each_line_once(app, received_orders):
    later = utcnow() + timedelta(days=30)

    def release():
        released = release_held_funds(later, batch_size=2)
        _db.session.commit()
        return released

    first_round = _in_threads(app, 4, release)
    assert sum(first_round) <= ORDERS
    with app.app_context():
        while release_held_funds(later, batch_size=2):
            _db.session.commit()
        _db.session.commit()
        released = _db.session.scalar(
            sa.select(sa.func.count()).select_from(LineSettlement).where(LineSettlement.released_at.is_not(None))
        )
        assert released == ORDERS
        assert verify_ledger() == []


def test_parallel_batches_pay_everyone_exactly_once(app, received_orders, monkeypatch):
    alipay = CountingAlipay()
    monkeypatch.setattr(payouts_module, "get_alipay", lambda: alipay)
    with app.app_context():
        while release_held_funds(utcnow() + timedelta(days=30)):
            _db.session.commit()
        _db.session.commit()

    def batch():
        admin = _db.session.get(User, received_orders["admin_id"])
        result = run_settlement(admin, COUNTY)
        created = len(result["batch"].payouts)
        _db.session.commit()  # the transfers run after this commit
        return created

    created = _in_threads(app, 5, batch)
    assert sum(created) == 3  # seller, station and centre, once each, whichever batch got them
    with app.app_context():
        payouts = _db.session.scalars(sa.select(Payout)).all()
        assert len(payouts) == 3 and {p.status for p in payouts} == {"success"}
        assert len(alipay.paid) == 3 and sum(alipay.paid.values()) == ORDERS * 6800
        assert verify_ledger() == []
