"""Fifty identical payment notifications at once, on PostgreSQL with real commits."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from app import create_app
from core.auth import issue_tokens
from core.config import TestConfig
from core.extensions import db as _db
from payments.models import PaymentEvent
from shop.orders.models import OrderEvent
from tests import factories
from tests.fakes import serve
from tests.orders import ADDRESS

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)


@pytest.fixture(params=["v3", "v2"])
def live(request, app, emptied_afterwards, sandbox, monkeypatch):
    """A second app on the same database, sized like a production worker pool, served on loopback.

    Background tasks run on the thread pool as in production, and the engine
    has a connection for every request thread, so fifty notifications can really
    wait on the payment's row lock at the same time.
    """
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 55, "max_overflow": 0}
    config.TASKS_EAGER = False
    config.WECHAT_PAY_VERSION = request.param  # both WeChat Pay APIs: v3 (the default) and v2
    config.WECHAT_PAY_BASE_URL = sandbox.base_url + "wechat-pay/"
    config.WECHAT_API_BASE_URL = sandbox.base_url + "wechat-api/"
    live_app = create_app(config)
    with live_app.app_context():
        product = factories.product(skus=(("5斤装", 6800, 5),))
        buyer = factories.user(("buyer", None), wechat_openid="openid-concurrent")
        _db.session.commit()  # factories only flush; the served app reads committed rows
        token = issue_tokens(buyer)["token"]
        sku_id = product.skus[0].id
    with serve(live_app) as base:
        live_app.config["PUBLIC_BASE_URL"] = base.rstrip("/")
        yield {"base": base, "token": token, "sku_id": sku_id, "app": live_app, "version": request.param}
    with live_app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_fifty_identical_notifications_make_one_state_change(app, live, sandbox):
    headers = {"Authorization": f"Bearer {live['token']}"}
    body = {"items": [{"sku_id": live["sku_id"], "quantity": 1}], "address": ADDRESS}
    order = requests.post(f"{live['base']}api/v1/orders", json=body, headers=headers, timeout=30).json()
    payment = requests.post(
        f"{live['base']}api/v1/orders/{order['id']}/payments",
        json={"channel": "wechat_jsapi"},
        headers=headers,
        timeout=30,
    ).json()
    sandbox.pay(payment["out_trade_no"])  # queued, not yet delivered
    start = threading.Barrier(50)

    def notify(_):
        start.wait()
        return sandbox.send_variant(payment["out_trade_no"], "duplicate").attempts[-1].status

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(notify, range(50)))
    assert statuses == [{"v3": 204, "v2": 200}[live["version"]]] * 50
    with live["app"].app_context():
        outcomes = _db.session.scalars(
            sa.select(PaymentEvent.outcome).where(PaymentEvent.out_trade_no == payment["out_trade_no"])
        ).all()
        assert sorted(outcomes) == ["applied"] + ["duplicate"] * 49
        paid = _db.session.scalar(
            sa.select(sa.func.count()).where(
                OrderEvent.order_id == order["id"], OrderEvent.to_status == "paid", OrderEvent.line_id.is_(None)
            )
        )
        assert paid == 1
