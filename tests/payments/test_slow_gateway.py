"""A slow gateway holds no row lock: requests on the same order go through while it thinks (WeChat Pay v3 and v2).

PostgreSQL with real threads, connections and row locks (SQLite has no row
locks; the step ordering is checked on every engine in test_gateway_outside_locks.py).
The simulator answers every WeChat Pay call only after ``SLOW`` seconds.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from core.extensions import db as _db
from payments.models import Payment, PaymentEvent
from shop.orders.models import OrderEvent
from tests.orders import ADDRESS
from tests.payments.test_payments_concurrency import live  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)

SLOW = 2.0
QUICK = 1.0  # a request that waited on the slow call's locks would take SLOW or more


def _headers(live):  # noqa: F811
    return {"Authorization": f"Bearer {live['token']}"}


def _order(live):  # noqa: F811
    body = {"items": [{"sku_id": live["sku_id"], "quantity": 1}], "address": ADDRESS}
    response = requests.post(f"{live['base']}api/v1/orders", json=body, headers=_headers(live), timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def _timed(method, url, **kwargs):
    started = time.monotonic()
    response = requests.request(method, url, timeout=30, **kwargs)
    return response, time.monotonic() - started


def _slow_down(sandbox, seconds: float) -> None:
    requests.post(sandbox.base_url + "sandbox/latency", json={"seconds": seconds}, timeout=5).raise_for_status()


# How each WeChat Pay API spells opening and querying a payment (v2 XML endpoints, v3 REST paths).
CALLS = {
    "open": ("/pay/unifiedorder", "/pay/transactions/jsapi"),
    "query": ("/pay/orderquery", "/pay/transactions/out-trade-no/"),
}


def _wait_for_call(sandbox, kind: str) -> None:
    """Until the simulator has received a call of ``kind`` (it is now sitting on it)."""
    deadline = time.monotonic() + 10

    def seen():
        return any(
            r.service in ("wechat_pay", "wechat_pay_v3")
            and any(fragment in r.path for fragment in CALLS[kind])
            and not r.path.endswith("/close")
            for r in sandbox.recorded()
        )

    while not seen():
        assert time.monotonic() < deadline, f"no {kind} call reached the simulator"
        time.sleep(0.02)


def _in_background(function):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()))
    thread.start()
    return thread, result


def test_cancelling_is_not_blocked_while_the_gateway_opens_a_payment(app, live, sandbox):  # noqa: F811
    order = _order(live)
    _slow_down(sandbox, SLOW)
    url = f"{live['base']}api/v1/orders/{order['id']}"
    opening, opened = _in_background(
        lambda: _timed("POST", url + "/payments", json={"channel": "wechat_jsapi"}, headers=_headers(live))
    )
    _wait_for_call(sandbox, "open")
    cancelled, cancel_took = _timed("POST", url + "/cancel", headers=_headers(live))
    read, read_took = _timed("GET", url, headers=_headers(live))
    opening.join(timeout=30)
    response, open_took = opened["value"]
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancel_took < QUICK, f"cancel waited {cancel_took:.2f}s on the slow gateway"
    assert read.status_code == 200 and read_took < QUICK
    assert open_took >= SLOW
    # Opened just before the cancel (201), or found closed when it came back (409): never a lost attempt.
    assert response.status_code in (201, 409), response.text
    with live["app"].app_context():
        deadline = time.monotonic() + 15
        while True:  # the cancel's background job closes the attempt at the (slow) gateway
            _db.session.expire_all()
            payments = _db.session.scalars(sa.select(Payment).where(Payment.order_id == order["id"])).all()
            if (payments and payments[0].status == "closed") or time.monotonic() > deadline:
                break
            _db.session.rollback()
            time.sleep(0.1)
        assert [p.status for p in payments] == ["closed"]
        out_trade_no = payments[0].out_trade_no
        _db.session.rollback()
    assert sandbox.state.wechat_trades[out_trade_no].state == "CLOSED"


def test_a_notification_is_applied_at_once_while_a_refresh_waits_on_the_gateway(app, live, sandbox):  # noqa: F811
    order = _order(live)
    payment = requests.post(
        f"{live['base']}api/v1/orders/{order['id']}/payments",
        json={"channel": "wechat_jsapi"},
        headers=_headers(live),
        timeout=30,
    ).json()
    sandbox.pay(payment["out_trade_no"])  # queued, not yet delivered
    _slow_down(sandbox, SLOW)
    refreshing, refreshed = _in_background(
        lambda: _timed("GET", f"{live['base']}api/v1/payments/{payment['id']}", headers=_headers(live))
    )
    _wait_for_call(sandbox, "query")
    started = time.monotonic()
    delivery = sandbox.send_variant(payment["out_trade_no"], "duplicate")  # the genuine notification, now
    notify_took = time.monotonic() - started
    refreshing.join(timeout=30)
    response, refresh_took = refreshed["value"]
    assert delivery.attempts[-1].acked and notify_took < QUICK, f"notification took {notify_took:.2f}s"
    assert refresh_took >= SLOW and response.json()["status"] == "paid"
    with live["app"].app_context():
        outcomes = _db.session.scalars(
            sa.select(PaymentEvent.outcome).where(PaymentEvent.out_trade_no == payment["out_trade_no"])
        ).all()
        assert outcomes == ["applied"]  # the refresh found it paid when it came back: nothing applied twice
        paid = _db.session.scalar(
            sa.select(sa.func.count()).where(
                OrderEvent.order_id == order["id"], OrderEvent.to_status == "paid", OrderEvent.line_id.is_(None)
            )
        )
        assert paid == 1
        _db.session.rollback()


def test_concurrent_openings_of_one_order_share_one_attempt(app, live, sandbox):  # noqa: F811
    order = _order(live)
    _slow_down(sandbox, SLOW)
    url = f"{live['base']}api/v1/orders/{order['id']}/payments"
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(
            pool.map(
                lambda _: requests.post(url, json={"channel": "wechat_jsapi"}, headers=_headers(live), timeout=30),
                range(3),
            )
        )
    took = time.monotonic() - started
    assert [a.status_code for a in answers] == [201] * 3
    assert len({a.json()["out_trade_no"] for a in answers}) == 1  # one number for the open attempt
    assert took < 2 * SLOW, f"the openings queued behind each other ({took:.2f}s)"  # none waits twice
    with live["app"].app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).where(Payment.order_id == order["id"])) == 1
        _db.session.rollback()
    assert len(sandbox.state.wechat_trades) == 1
