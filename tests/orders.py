"""Helpers shared by the order tests: a small shop with two stations."""

import pytest

from core.db import utcnow
from core.extensions import db as _db
from tests import factories

YANLING = "430225100201"
CHALING = "430224100201"
ADDRESS = {"name": "张女士", "phone": "13812345678", "region_code": "4302", "detail": "长沙市岳麓区某小区1栋"}


@pytest.fixture
def shop(db):
    """Two stations in two counties, one product each, a buyer and the station managers."""
    peach_station = factories.station(YANLING, service_fee_bps=500)
    garlic_station = factories.station(CHALING, service_fee_bps=400)
    peaches = factories.product(peach_station, skus=(("5斤装", 6800, 10), ("10斤装", 12800, 5)))
    garlic = factories.product(garlic_station, title="茶陵大蒜", skus=(("2斤装", 3000, 50),))
    buyer = factories.user(("buyer", None), wechat_openid="openid-buyer")
    return {
        "peach_station": peach_station,
        "garlic_station": garlic_station,
        "peach_5": peaches.skus[0],
        "peach_10": peaches.skus[1],
        "garlic": garlic.skus[0],
        "buyer": buyer,
        "buyer_header": factories.auth_header(buyer),
        "peach_manager": factories.auth_header(factories.user(("station_manager", YANLING, peach_station.id))),
        "garlic_manager": factories.auth_header(factories.user(("station_manager", CHALING, garlic_station.id))),
        "yanling_admin": factories.auth_header(factories.user(("county_admin", "430225"))),
    }


def place(client, shop, items, **extra):
    body = {"items": [{"sku_id": sku.id, "quantity": qty} for sku, qty in items], "address": ADDRESS}
    return client.post("/api/v1/orders", headers={**shop["buyer_header"], **extra}, json=body)


def pay(order_id: int, channel: str = "wechat_jsapi") -> None:
    """Record a successful payment the way a verified notification does (no gateway involved)."""
    from payments.applying import apply_success, lock_payment
    from payments.models import Payment
    from payments.opening import new_out_trade_no
    from shop.orders.models import Order

    order = _db.session.get(Order, order_id)
    payment = Payment(
        order_id=order.id,
        buyer_id=order.buyer_id,
        channel=channel,
        out_trade_no=new_out_trade_no(order.id),
        amount_fen=order.total_fen,
    )
    _db.session.add(payment)
    _db.session.flush()
    assert apply_success(lock_payment(payment.out_trade_no), f"TX{payment.id}", utcnow()) == "applied"
    _db.session.commit()


def race_expiry_jobs(app, now, jobs: int = 2) -> list[int]:
    """Run the order-expiry job ``jobs`` times at once (one order a batch), as two workers would; their counts."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from shop.orders.fulfilment import expire_overdue_orders

    start = threading.Barrier(jobs)

    def job(_):
        with app.app_context():
            start.wait()
            total = 0
            while done := expire_overdue_orders(now, batch_size=1):
                total += done
                _db.session.commit()
            _db.session.remove()
            return total

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(job, range(jobs)))
