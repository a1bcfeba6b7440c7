"""A process killed between two steps of checkout, a payment notification, a refund or a payout (hardening issue).

Each test arms one ``core.faults`` point in a real server process
(``tests/ops/crash_server.py``, on a database file or PostgreSQL database of
its own), sends the request that reaches the point and sees the process die
with ``os._exit(137)``: no rollback, no ``finally``, no response. Then, as
after a restart, a fresh app retries what a client or the gateway would retry
and runs the recovery jobs through their CLI commands (``flask payments sync``,
``payments retry-refunds``, ``settlements retry-payouts``, ``orders expire``),
and checks that nothing leaked or doubled: stock and reservations add up to
the initial stock, each payment is booked once, the gateway refunded or
transferred once, and ``flask ledger verify`` passes. The gateway simulator
runs in the test's process, so it outlives the crash as the real gateway does.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from core.faults import EXIT_STATUS
from tests.fakes import serve

ROOT = Path(__file__).resolve().parents[2]
SECRET = "crash-consistency-secret-key-0123456789"
YANLING_VILLAGE = "430225100201"
STOCK, PRICE_FEN = 10, 6800
ADDRESS = {"name": "张女士", "phone": "13812345678", "region_code": "4302", "detail": "株洲市天元区某路1号"}


# -- a database per test, copied from one migrated template -----------------------------------------


class Databases:
    """One migrated template database; each test gets a fresh copy of it (a file, or ``CREATE DATABASE … TEMPLATE``)."""

    def __init__(self, base_url: str, directory: Path):
        self.directory = directory
        self.url = sa.engine.make_url(base_url) if base_url.startswith("postgresql") else None
        if self.url is not None:
            self.admin = sa.create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
            self.template = f"{self.url.database}_crash_template"
            self._drop(self.template)
            self._run(f'CREATE DATABASE "{self.template}"')
            self.template_url = self._url_of(self.template)
        else:
            self.template_url = f"sqlite:///{directory / 'template.db'}"

    def _run(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(sa.text(sql))

    def _drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def copy(self, name: str) -> str:
        if self.url is None:
            target = self.directory / f"{name}.db"
            shutil.copyfile(self.directory / "template.db", target)
            return f"sqlite:///{target}"
        database = f"{self.url.database}_crash_{name}"
        deadline = time.monotonic() + 10
        while True:  # the migrating connection's backend may still be on its way out
            try:
                self._run(f'CREATE DATABASE "{database}" TEMPLATE "{self.template}"')
                return self._url_of(database)
            except sa.exc.OperationalError as exc:
                if "being accessed by other users" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def drop(self, url: str) -> None:
        if self.url is not None:
            self._drop(sa.engine.make_url(url).database)

    def close(self) -> None:
        if self.url is not None:
            self._drop(self.template)
            self.admin.dispose()


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    """Migrates the template once for the module."""
    from flask_migrate import upgrade

    from app import create_app
    from tests.ops.crash_server import crash_config

    directory = tmp_path_factory.mktemp("crash")
    made = Databases(os.environ.get("TEST_DATABASE_URL", ""), directory)
    app = create_app(crash_config(made.template_url, "http://127.0.0.1:9", "http://127.0.0.1:9", SECRET))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    yield made
    made.close()
    shutil.rmtree(directory, ignore_errors=True)


class Crash:
    """One test's database, gateway simulator, app (the process after the restart) and crashing server."""

    def __init__(self, database_url: str, sandbox, directory: Path):
        from app import create_app
        from tests.ops.crash_server import crash_config

        self.database_url, self.sandbox, self.directory = database_url, sandbox, directory
        self.base = ""  # the server's, once it listens
        self.app = create_app(crash_config(database_url, sandbox.base_url, "http://127.0.0.1:9", SECRET))
        self.client = self.app.test_client()
        self.process: subprocess.Popen | None = None

    @contextlib.contextmanager
    def session(self):
        """An app context whose work is committed, and its connection given back, at the end."""
        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()

    def scalar(self, statement):
        with self.session() as session:
            return session.scalar(statement)

    def start(self, fault_at: str) -> None:
        """Start the server process armed to die at ``fault_at``; returns once it answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST", "ZZ_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            ZZ_FAULT_AT=fault_at,
            CRASH_DATABASE_URL=self.database_url,
            CRASH_SANDBOX_URL=self.sandbox.base_url,
            CRASH_SECRET_KEY=SECRET,
        )
        self.log = self.directory / "server.log"
        port_file = self.directory / "server.port"
        port_file.unlink(missing_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "tests.ops.crash_server", str(port_file)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            if not port_file.exists():
                time.sleep(0.1)
                continue
            self.base = f"http://127.0.0.1:{port_file.read_text()}"
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the crash server did not start: {self.log.read_text(errors='replace')}")

    def request_that_kills(self, method: str, path: str, **kwargs) -> None:
        """Send the request that reaches the armed point: no answer comes, and the process is dead."""
        with pytest.raises(requests.ConnectionError):
            answer = requests.request(method, self.base + path, timeout=30, **kwargs)
            pytest.fail(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        assert self.process.wait(timeout=30) == EXIT_STATUS, self.log.read_text(errors="replace")
        assert "fault point" in self.log.read_text(errors="replace")
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def cli(self, *args: str) -> str:
        """Run a ``flask`` command of the restarted app; returns its output (it must succeed)."""
        result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    def recover(self) -> None:
        """What runs after a restart: every retry and sync job, then ``flask ledger verify``."""
        self.cli("payments", "sync", "--older-than", "0")
        self.cli("payments", "retry-refunds")
        self.cli("settlements", "retry-payouts")
        self.cli("orders", "expire")
        assert "every posting balances" in self.cli("ledger", "verify")


@pytest.fixture
def crash(databases, tmp_path):
    from sandbox import create_sandbox_app

    sandbox_app = create_sandbox_app({"SANDBOX_TIME_FACTOR": 0.001})
    box = sandbox_app.extensions["sandbox"]
    with serve(sandbox_app) as base_url:
        box.base_url = base_url
        url = databases.copy(uuid.uuid4().hex[:8])
        world = Crash(url, box, tmp_path)
        try:
            yield world
        finally:
            world.stop()
            box.notifier.stop()
            databases.drop(url)


# -- the shop every test starts from -----------------------------------------------------------------


def _arrange(crash: Crash) -> dict:
    """A station in 炎陵县 selling one SKU (stock 10), its seller, a buyer, the county and platform admins."""
    from tests import factories

    with crash.session():
        station = factories.station(YANLING_VILLAGE, service_fee_bps=500)
        station.payout_alipay_account = "13900000011"
        station.centre.payout_alipay_account = "yl-centre@example.com"
        product = factories.product(station, skus=(("5斤装", PRICE_FEN, STOCK),))
        product.seller.payout_alipay_account = "13900000001"
        buyer = factories.user(("buyer", None), wechat_openid="openid-crash-buyer")
        shop = {
            "sku": product.skus[0].id,
            "station": station.id,
            "buyer_id": buyer.id,
            "buyer": factories.auth_header(buyer),
            "manager": factories.auth_header(factories.user(("station_manager", YANLING_VILLAGE, station.id))),
            "county": factories.auth_header(factories.user(("county_admin", "430225"))),
            "platform": factories.auth_header(factories.user(("platform_admin", None))),
        }
    return shop


def _order_body(shop: dict, quantity: int = 1) -> dict:
    return {"items": [{"sku_id": shop["sku"], "quantity": quantity}], "address": ADDRESS}


def _placed_and_paying(crash: Crash, shop: dict) -> tuple[dict, dict, object]:
    """An order with an Alipay payment the buyer has paid at the gateway; the notification not yet delivered."""
    placed = crash.client.post("/api/v1/orders", headers=shop["buyer"], json=_order_body(shop))
    assert placed.status_code == 201, placed.json
    opened = crash.client.post(
        f"/api/v1/orders/{placed.json['id']}/payments", headers=shop["buyer"], json={"channel": "alipay_wap"}
    )
    assert opened.status_code == 201, opened.json
    payment = opened.json
    assert requests.get(payment["params"]["url"], allow_redirects=False, timeout=10).status_code == 302
    crash.sandbox.pay(payment["out_trade_no"], "alipay_wap")
    delivery = next(d for d in crash.sandbox.notifier.deliveries if d.out_trade_no == payment["out_trade_no"])
    return placed.json, payment, delivery


def _notify(crash: Crash, delivery) -> None:
    """The gateway delivers (or retries) the payment notification to the running app."""
    answer = crash.client.post(
        "/api/v1/payments/notify/alipay", data=delivery.body, headers={"Content-Type": delivery.content_type}
    )
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")


def _paid_order(crash: Crash, shop: dict) -> tuple[dict, dict]:
    order, payment, delivery = _placed_and_paying(crash, shop)
    _notify(crash, delivery)
    return order, payment


# -- invariants --------------------------------------------------------------------------------------


def _stock_adds_up(crash: Crash, shop: dict) -> None:
    """Stock left plus what live orders hold is the initial stock: no reservation leaked or taken twice."""
    from shop.models import Sku
    from shop.orders.models import Order, OrderLine, OrderStatus

    stock = crash.scalar(sa.select(Sku.stock).where(Sku.id == shop["sku"]))
    held = crash.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.sku_id == shop["sku"], Order.status != OrderStatus.CANCELLED)
    )
    assert stock + held == STOCK, (stock, held)


def _paid_once(crash: Crash, payment: dict) -> None:
    """The payment is paid, its order too, and the money is booked exactly once."""
    from payments.ledger.models import LedgerPosting, PostingKind
    from payments.models import Payment, PaymentEvent
    from shop.orders.models import Order

    with crash.session() as session:
        row = session.get(Payment, payment["id"])
        assert row.status == "paid"
        assert session.get(Order, row.order_id).status == "paid"
        postings = session.scalars(
            sa.select(LedgerPosting.kind).where(
                LedgerPosting.payment_id == row.id,
                LedgerPosting.kind.in_((PostingKind.PAYMENT, PostingKind.UNAPPLIED_PAYMENT)),
            )
        ).all()
        assert postings == [PostingKind.PAYMENT]
        applied = session.scalar(
            sa.select(sa.func.count()).where(PaymentEvent.payment_id == row.id, PaymentEvent.outcome == "applied")
        )
        assert applied == 1


def _gateway_calls(crash: Crash, method: str) -> list:
    return [r for r in crash.sandbox.recorded("alipay") if r.params.get("method") == method]


# -- checkout ----------------------------------------------------------------------------------------


def _checkout(crash: Crash, point: str) -> None:
    from shop.orders.models import Order

    shop = _arrange(crash)
    key = uuid.uuid4().hex
    crash.start(point)
    crash.request_that_kills(
        "POST", "/api/v1/orders", headers={**shop["buyer"], "Idempotency-Key": key}, json=_order_body(shop, 2)
    )
    committed = point == "checkout.committed"
    orders = crash.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.buyer_id == shop["buyer_id"]))
    assert orders == (1 if committed else 0)
    _stock_adds_up(crash, shop)
    # The buyer's app heard nothing and tries again with the same key: one order, one reservation.
    again = crash.client.post(
        "/api/v1/orders", headers={**shop["buyer"], "Idempotency-Key": key}, json=_order_body(shop, 2)
    )
    assert again.status_code == 201, again.json
    assert (again.headers.get("Idempotent-Replayed") == "true") == committed
    _stock_adds_up(crash, shop)
    # Nobody pays: once the deadline passes, the expiry job gives the stock back.
    with crash.session() as session:
        session.execute(sa.update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))
    crash.recover()
    assert crash.scalar(sa.select(Order.status).where(Order.id == again.json["id"])) == "cancelled"
    _stock_adds_up(crash, shop)
    from shop.models import Sku

    assert crash.scalar(sa.select(Sku.stock).where(Sku.id == shop["sku"])) == STOCK


# -- payment notification ----------------------------------------------------------------------------


def _notification(crash: Crash, point: str) -> None:
    from payments.models import Payment

    shop = _arrange(crash)
    _order, payment, delivery = _placed_and_paying(crash, shop)
    crash.start(point)
    crash.request_that_kills(
        "POST", "/api/v1/payments/notify/alipay", data=delivery.body, headers={"Content-Type": delivery.content_type}
    )
    status = crash.scalar(sa.select(Payment.status).where(Payment.id == payment["id"]))
    assert status == ("paid" if point == "notify.committed" else "pending")  # all of it, or none
    crash.recover()  # the sync job asks the gateway about the payment still pending
    _notify(crash, delivery)  # and the gateway, never told "success", delivers again
    _paid_once(crash, payment)
    _stock_adds_up(crash, shop)


# -- refund ------------------------------------------------------------------------------------------


def _refund(crash: Crash, point: str) -> None:
    from payments.models import GatewayRefund
    from shop.orders.models import RefundRequest

    shop = _arrange(crash)
    order, payment = _paid_order(crash, shop)
    asked = crash.client.post(
        "/api/v1/refunds",
        headers=shop["buyer"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "到货压坏了"},
    )
    assert asked.status_code == 201, asked.json
    crash.start(point)
    crash.request_that_kills(
        "POST", f"/api/v1/refunds/{asked.json['id']}/decision", headers=shop["platform"], json={"decision": "approve"}
    )
    trade = crash.sandbox.state.alipay_trade(payment["out_trade_no"], None)
    assert trade.refunded_fen == (PRICE_FEN if point == "refund.gateway_answered" else 0)
    refund = sa.select(GatewayRefund.status, GatewayRefund.attempts).where(
        GatewayRefund.refund_request_id == asked.json["id"]
    )
    with crash.session() as session:
        assert tuple(session.execute(refund).one()) == ("pending", 1)  # the attempt was recorded before the call
    crash.recover()
    with crash.session() as session:
        assert session.execute(refund).one().status == "success"
        assert session.get(RefundRequest, asked.json["id"]).status == "refunded"
    assert trade.refunded_fen == PRICE_FEN  # refunded once, though maybe asked twice
    assert len([key for key in crash.sandbox.state.alipay_refunds if key[0] == payment["out_trade_no"]]) == 1
    calls = _gateway_calls(crash, "alipay.trade.refund")
    assert len(calls) == (2 if point == "refund.gateway_answered" else 1)
    assert len({call.params["biz_content"] for call in calls}) == 1  # the same out_request_no each time
    _stock_adds_up(crash, shop)


# -- payout ------------------------------------------------------------------------------------------


def _payout(crash: Crash, point: str) -> None:
    from payments.ledger.models import Payout
    from payments.ledger.queries import owner_balances
    from payments.ledger.tasks import release_all

    shop = _arrange(crash)
    order, _payment = _paid_order(crash, shop)
    shipped = crash.client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        headers=shop["manager"],
        json={"station_id": shop["station"], "carrier": "顺丰速运", "tracking_no": "SF0000000001"},
    )
    assert shipped.status_code in (200, 201), shipped.json
    received = crash.client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=shop["buyer"])
    assert received.status_code == 200, received.json
    with crash.session():
        assert release_all(utcnow() + timedelta(days=8)) == 1
    crash.start(point)
    crash.request_that_kills("POST", "/api/v1/settlements/run", headers=shop["county"], json={"county_code": "430225"})
    crash.recover()
    with crash.session() as session:
        payouts = session.scalars(sa.select(Payout)).all()
        assert sorted(p.amount_fen for p in payouts) == [204, 340, 6256]  # centre, station, seller: once each
        assert {p.status for p in payouts} == {"success"}
        assert len({(p.party_type, p.party_id) for p in payouts}) == 3
        for p in payouts:
            assert owner_balances(p.party_type, p.party_id)["paid_out_fen"] == p.amount_fen
        numbers = sorted(p.out_biz_no for p in payouts)
    transfers = _gateway_calls(crash, "alipay.fund.trans.uni.transfer")
    sent = [call.params["biz_content"] for call in transfers]
    assert len(sent) == 3 and all(sum(number in body for body in sent) == 1 for number in numbers)
    assert sorted(crash.sandbox.state.transfers) == numbers
    assert sum(t.amount_fen for t in crash.sandbox.state.transfers.values()) == PRICE_FEN


FAULTS = {
    "checkout.reserved": _checkout,
    "checkout.before_commit": _checkout,
    "checkout.committed": _checkout,
    "notify.verified": _notification,
    "notify.marked_paid": _notification,
    "notify.committed": _notification,
    "refund.attempt_committed": _refund,
    "refund.gateway_answered": _refund,
    "payout.committed": _payout,
    "payout.marked_processing": _payout,
    "payout.transferred": _payout,
}


@pytest.mark.parametrize("point", list(FAULTS))
def test_a_process_killed_at_the_point_leaves_nothing_that_the_restart_and_the_jobs_do_not_mend(crash, point):
    FAULTS[point](crash, point)
