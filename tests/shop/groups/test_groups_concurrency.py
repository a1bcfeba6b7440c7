"""Group buying on PostgreSQL with real commits and threads: no group overfills, no member is refunded twice."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from app import create_app
from core.auth import issue_tokens
from core.config import TestConfig
from core.db import utcnow
from core.extensions import db as _db
from payments.models import GatewayRefund, Payment
from shop.groups.models import GroupBuy, GroupMember, GroupOffer
from shop.groups.tasks import expire_groups
from shop.orders.models import Order
from tests import factories
from tests.fakes import serve
from tests.orders import ADDRESS

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locking is tested on PostgreSQL (CI runs it)",
)


@pytest.fixture
def live(app, emptied_afterwards, sandbox, monkeypatch):
    """A second app on the same database, talking to the simulator, served on loopback; tables emptied after."""
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
    config.SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 20, "max_overflow": 0}
    config.WECHAT_PAY_BASE_URL = sandbox.base_url + "wechat-pay/"
    config.WECHAT_API_BASE_URL = sandbox.base_url + "wechat-api/"
    config.ALIPAY_SERVER_URL = sandbox.base_url + "alipay/gateway.do"
    live_app = create_app(config)
    with live_app.app_context():
        product = factories.product(skus=(("5斤装", 6800, 50),))
        sku = product.skus[0]
        buyers = [factories.user(("buyer", None), wechat_openid=f"openid-live-{n}") for n in range(10)]
        _db.session.flush()
        offer = GroupOffer(
            product_id=product.id, sku_id=sku.id, price_fen=5800, group_size=3, hours=24, created_by_id=buyers[0].id
        )
        _db.session.add(offer)
        _db.session.commit()  # factories only flush; the served app reads committed rows
        tokens = [issue_tokens(buyer)["token"] for buyer in buyers]
        offer_id = offer.id
    with serve(live_app) as base:
        live_app.config["PUBLIC_BASE_URL"] = base.rstrip("/")
        yield {"base": base, "tokens": tokens, "offer_id": offer_id, "app": live_app}
    with live_app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _post(live, token, path, body):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(f"{live['base']}api/v1/{path}", json=body, headers=headers, timeout=30)


def _pay(live, sandbox, token, order_id, channel):
    payment = _post(live, token, f"orders/{order_id}/payments", {"channel": channel}).json()
    if channel == "alipay_wap":
        requests.get(payment["params"]["url"], timeout=5)
    sandbox.pay(payment["out_trade_no"], channel)
    return payment


def _opened_group(live, sandbox) -> int:
    """A group opened by buyer 0, paid by WeChat and notified."""
    opened = _post(live, live["tokens"][0], "groups", {"offer_id": live["offer_id"], "address": ADDRESS}).json()
    _pay(live, sandbox, live["tokens"][0], opened["order"]["id"], "wechat_jsapi")
    sandbox.deliver_due()
    return opened["group"]["id"]


def test_eight_buyers_for_the_last_two_places(app, live, sandbox):
    group_id = _opened_group(live, sandbox)
    start = threading.Barrier(8)

    def attempt(token):
        start.wait()
        return _post(live, token, f"groups/{group_id}/join", {"address": ADDRESS})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, live["tokens"][1:9]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 2 + [409] * 6
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"group_full"}
    with live["app"].app_context():
        members = _db.session.scalar(
            sa.select(sa.func.count()).select_from(GroupMember).where(GroupMember.group_id == group_id)
        )
        assert members == 3


def test_two_expiry_jobs_and_a_late_notification_refund_each_member_once(app, live, sandbox):
    group_id = _opened_group(live, sandbox)
    second = _post(live, live["tokens"][1], f"groups/{group_id}/join", {"address": ADDRESS}).json()["order"]["id"]
    _pay(live, sandbox, live["tokens"][1], second, "alipay_wap")
    sandbox.deliver_due()
    third = _post(live, live["tokens"][2], f"groups/{group_id}/join", {"address": ADDRESS}).json()["order"]["id"]
    _pay(live, sandbox, live["tokens"][2], third, "wechat_jsapi")  # paid; its notification races the expiry
    with live["app"].app_context():
        past = utcnow() - timedelta(minutes=1)
        _db.session.execute(sa.update(GroupBuy).where(GroupBuy.id == group_id).values(expires_at=past))
        _db.session.execute(sa.update(Order).where(Order.id == third).values(expires_at=past))
        _db.session.commit()
        _db.session.remove()
    start = threading.Barrier(3)

    def expiry(_):
        with live["app"].app_context():
            start.wait()
            try:
                return expire_groups()
            finally:
                _db.session.remove()

    def notification(_):
        start.wait()
        sandbox.deliver_due()
        return 0

    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = [pool.submit(expiry, 0), pool.submit(expiry, 1), pool.submit(notification, 2)]
        assert sum(run.result() for run in runs) == 1  # one job expired the group
    for _ in range(3):
        sandbox.deliver_due()  # WeChat's refund notifications
    with live["app"].app_context():
        assert _db.session.get(GroupBuy, group_id).status == "expired"
        refunds = _db.session.execute(
            sa.select(Payment.order_id, Payment.channel, GatewayRefund.amount_fen, GatewayRefund.status)
            .join(Payment, Payment.id == GatewayRefund.payment_id)
            .order_by(Payment.order_id)
        ).all()
        orders = sorted(_db.session.scalars(sa.select(GroupMember.order_id).where(GroupMember.group_id == group_id)))
        assert [row.order_id for row in refunds] == orders  # one refund per member
        assert [(row.channel, row.amount_fen, row.status) for row in refunds] == [
            ("wechat_jsapi", 5800, "success"),
            ("alipay_wap", 5800, "success"),
            ("wechat_jsapi", 5800, "success"),
        ]
    assert len(sandbox.state.wechat_refunds) == 2 and len(sandbox.state.alipay_refunds) == 1
