"""The task layer: after-commit hand-over, units of work, retries with backoff, the schedule, the in-process runner."""

import threading
import time
from datetime import UTC, datetime, timedelta

import click
import pytest
import sqlalchemy as sa
from celery.schedules import crontab

from core import tasks
from core.extensions import db as _db
from core.logs import bind_request_id, current_request_id, reset_request_id
from core.models import User
from core.tasks import InProcessScheduler, RetryLater, TaskDefinition, enqueue, run_later
from shop.orders.models import Order
from tests import factories
from tests.orders import place

INTERVAL_JOBS = {
    "orders.expire": timedelta(minutes=1),
    "orders.auto_confirm": timedelta(hours=1),
    "orders.presale_deadlines": timedelta(hours=1),
    "groups.expire": timedelta(minutes=1),
    "payments.sync": timedelta(minutes=5),
    "payments.retry_refunds": timedelta(minutes=5),
    "payments.retry_uploads": timedelta(minutes=10),
    "settlements.release": timedelta(hours=1),
    "settlements.retry_payouts": timedelta(minutes=10),
}


@pytest.fixture
def declared():
    """Declare test tasks for one test and forget them afterwards."""
    names = []

    def declare(name, func, **options):
        tasks.background_task(name, **options)(func)
        names.append((name, func))
        return tasks._tasks[name]

    yield declare
    for name, func in names:
        tasks._tasks.pop(name, None)
        tasks._by_function.pop(func, None)


def test_the_beat_schedule_covers_the_interval_jobs_and_the_daily_reconciliation(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert {
        name: entry["schedule"] for name, entry in schedule.items() if name != "payments.reconcile"
    } == INTERVAL_JOBS
    reconcile = schedule["payments.reconcile"]["schedule"]
    assert isinstance(reconcile, crontab) and reconcile.hour == {10} and reconcile.minute == {30}
    assert app.extensions["celery"].conf.timezone == "Asia/Shanghai"  # after the bills are published, Beijing time
    for name in schedule:
        assert name in app.extensions["celery"].tasks
    # Deferred work that services enqueue is on Celery too, acknowledged late (redelivered after a crash).
    for name in ("payments.execute_refund", "payments.upload_shipping_info", "settlements.execute_payout"):
        assert name in app.extensions["celery"].tasks
    assert app.extensions["celery"].conf.task_acks_late is True


def test_work_is_handed_over_after_the_commit_and_dropped_on_rollback(app, db, declared):
    ran = []
    declared("tests.record", lambda user_id: ran.append(user_id))
    user = factories.user(("buyer", None))
    run_later(tasks._tasks["tests.record"].func, user.id)
    assert ran == []  # not before the commit
    _db.session.rollback()
    assert ran == []  # a rolled-back transaction hands over nothing
    run_later(tasks._tasks["tests.record"].func, user.id)
    _db.session.commit()
    assert ran == [user.id]
    with pytest.raises(LookupError, match="not declared"):
        run_later(print, 1)


def test_a_task_is_a_unit_of_work_of_its_own(app, db, declared):
    """What a failed run wrote is rolled back; what a good run wrote is committed."""
    user = factories.user(("buyer", None), display_name="之前")

    def rename(user_id, fail):
        _db.session.get(User, user_id).display_name = "之后"
        if fail:
            raise RuntimeError("boom")

    definition = declared("tests.rename", rename)
    enqueue(app, definition, (user.id, True))
    _db.session.expire_all()
    assert _db.session.get(User, user.id).display_name == "之前"
    enqueue(app, definition, (user.id, False))
    _db.session.expire_all()
    assert _db.session.get(User, user.id).display_name == "之后"


def test_on_celery_a_task_is_retried_until_it_succeeds_and_keeps_the_request_id(app, db):
    """payments.execute_refund retried while the gateway is away (RetryLater), under the enqueuing request's id."""
    seen = []
    definition = TaskDefinition("tests.flaky", None, max_retries=5)

    def flaky(n):
        seen.append(current_request_id())
        if len(seen) < 3:
            raise RetryLater("gateway away")
        return n * 2

    definition.func = flaky
    celery = app.extensions["celery"]
    tasks._register_on_celery(celery, app, definition)
    try:
        result = celery.tasks["tests.flaky"].apply(args=(21,), headers={tasks.REQUEST_ID_HEADER: "req-42"})
    finally:
        celery.tasks.pop("tests.flaky")
    assert result.successful() and result.result == 42
    assert seen == ["req-42", "req-42", "req-42"]


def test_on_celery_a_task_that_keeps_failing_stops_after_its_retries(app, db):
    runs = []
    definition = TaskDefinition("tests.broken", lambda: runs.append(1) or 1 / 0, max_retries=2)
    celery = app.extensions["celery"]
    tasks._register_on_celery(celery, app, definition)
    try:
        result = celery.tasks["tests.broken"].apply()
    finally:
        celery.tasks.pop("tests.broken")
    assert result.failed() and isinstance(result.result, ZeroDivisionError)
    assert len(runs) == 3  # the first run and two retries


def test_backoff_grows_and_is_capped():
    assert all(0 <= tasks.backoff_seconds(0) <= tasks.BACKOFF_SECONDS for _ in range(20))
    assert max(tasks.backoff_seconds(2) for _ in range(200)) > tasks.BACKOFF_SECONDS
    assert all(tasks.backoff_seconds(30) <= tasks.BACKOFF_MAX_SECONDS for _ in range(20))


@pytest.mark.parametrize(
    ("visibility_timeout", "sweep_at_most_every"),
    [(5, 1), (60, 10), (3600, 100)],
)
def test_a_killed_workers_task_is_swept_back_within_a_fraction_of_the_visibility_timeout(
    visibility_timeout, sweep_at_most_every
):
    options = tasks._transport_options(visibility_timeout)
    sweep = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert options["visibility_timeout"] == visibility_timeout
    assert sweep == sweep_at_most_every
    assert sweep <= max(1, visibility_timeout // 5)


def test_without_a_broker_work_runs_in_a_thread_and_is_retried(app, monkeypatch, declared):
    monkeypatch.setitem(app.config, "TASKS_EAGER", False)
    monkeypatch.setattr(tasks, "BACKOFF_SECONDS", 0.01)
    attempts, done = [], threading.Event()

    def sometimes(n):
        attempts.append((n, current_request_id(), threading.current_thread().name))
        if len(attempts) < 3:
            raise RetryLater("not yet")
        done.set()

    definition = declared("tests.sometimes", sometimes)
    token = bind_request_id("req-in-process")
    try:
        enqueue(app, definition, (7,), current_request_id())
    finally:
        reset_request_id(token)
    assert done.wait(10)
    assert [(n, rid) for n, rid, _ in attempts] == [(7, "req-in-process")] * 3
    assert all(thread.startswith("tasks") for _, _, thread in attempts)


def test_the_in_process_scheduler_runs_due_jobs(app, client, shop):
    """An overdue order is expired by the scheduler's orders.expire, as beat would do in production."""
    order_id = place(client, shop, [(shop["peach_5"], 2)]).json["id"]
    _db.session.get(Order, order_id).expires_at = datetime.now(UTC) - timedelta(minutes=1)
    _db.session.commit()
    scheduler = InProcessScheduler(app)
    assert set(scheduler.jobs) == {*INTERVAL_JOBS, "payments.reconcile"}
    start = datetime.now(UTC)
    assert scheduler.due_jobs(start) == []  # nothing is due the moment it starts
    scheduler.last_run = {name: start - timedelta(days=2) for name in scheduler.jobs}
    ran = scheduler.tick(start)
    assert "orders.expire" in ran and "payments.reconcile" in ran
    _db.session.expire_all()
    assert _db.session.get(Order, order_id).status == "cancelled"
    assert shop["peach_5"].stock == 10  # released once
    assert scheduler.due_jobs(start + timedelta(seconds=30)) == []
    assert sorted(scheduler.due_jobs(start + timedelta(seconds=61))) == ["groups.expire", "orders.expire"]


def test_the_scheduler_thread_keeps_running_jobs_until_stopped(app, declared):
    runs = []
    definition = TaskDefinition("tests.tick", lambda: runs.append(time.monotonic()), periodic=timedelta(seconds=0.05))
    scheduler = InProcessScheduler(app, jobs={"tests.tick": definition}, tick_seconds=0.02).start()
    try:
        deadline = time.monotonic() + 5
        while len(runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.stop()
    assert len(runs) >= 3
    count = len(runs)
    time.sleep(0.1)
    assert len(runs) == count  # stopped


def test_a_development_server_starts_the_scheduler_with_its_first_request(tmp_path, monkeypatch):
    from app import create_app
    from core.config import Config

    for name in ("REDIS_URL", "CELERY_BROKER_URL", "IN_PROCESS_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    config = Config()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/dev.db"
    dev = create_app(config)
    assert dev.extensions.get("scheduler") is None  # importing and CLI commands start nothing
    assert dev.test_client().get("/healthz").status_code == 200
    scheduler = dev.extensions["scheduler"]
    try:
        assert set(scheduler.jobs) == {*INTERVAL_JOBS, "payments.reconcile"}
        assert scheduler._thread.is_alive()
    finally:
        scheduler.stop()
    with click.Context(click.Command("run"), info_name="run"):  # `flask run` (make run): from the start
        served = create_app(config)
    try:
        assert served.extensions["scheduler"]._thread.is_alive()
    finally:
        served.extensions["scheduler"].stop()
    with_broker = Config()
    with_broker.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/dev.db"
    with_broker.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    beat_app = create_app(with_broker)
    beat_app.test_client().get("/healthz")
    assert beat_app.extensions.get("scheduler") is None  # Celery beat's job


def test_refunds_the_gateway_did_not_take_are_retried_by_the_task(app, db, client, ledger_shop, monkeypatch):
    """payments.execute_refund asks to be retried while the refund is still pending (gateway unreachable)."""
    from payments.models import GatewayRefund
    from payments.tasks import send_refund
    from tests.ledger_helpers import paid_order

    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)], channel="alipay_wap")
    asked = client.post(
        "/api/v1/refunds",
        headers=ledger_shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "坏了"},
    )
    decided = client.post(
        f"/api/v1/refunds/{asked.json['id']}/decision",
        headers=ledger_shop["platform"],
        json={"decision": "approve"},
    )
    assert decided.status_code == 200
    refund = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == asked.json["id"]))
    assert refund.status == "pending" and refund.attempts == 1  # the eager run reached no gateway (port 9)
    with pytest.raises(RetryLater):
        send_refund(refund.id)
