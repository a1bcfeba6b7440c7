"""Order jobs and deferred work, declared for Celery (or the in-process runner); the CLI calls the same functions.

The batch jobs commit per batch and the message tasks commit what they sent
before asking for a retry, both through ``core.unit_of_work``; the services
they call only flush.
"""

from datetime import timedelta

import sqlalchemy as sa

from core.extensions import db
from core.metrics import register_database_collector
from core.tasks import RetryLater, background_task, periodic_job
from core.unit_of_work import run_in_batches, unit_of_work
from shop.orders.fulfilment import auto_confirm_shipped_orders, expire_overdue_orders
from shop.orders.messages import (
    notify_pickup_ready,
    notify_presale_due,
    notify_presale_overdue,
    notify_sellers_of_paid_order,
)
from shop.orders.models import Order
from shop.orders.presale import tell_buyers_of_late_presales, warn_presale_deadlines


def _send_then_retry_failures(kind: str, send, key: int) -> None:
    """Send and commit the records (a retry must not resend what went out), then ask for a retry if any failed."""
    with unit_of_work():
        failures = send(key)
    if failures:
        raise RetryLater(f"{kind} messages of {key} failed")


@periodic_job("orders.expire", every=timedelta(minutes=1))
def expire_orders(batch_size: int = 100) -> int:
    """Cancel unpaid orders past their deadline and release their stock (SKIP LOCKED: safe on several workers)."""
    return run_in_batches(expire_overdue_orders, batch_size)


@periodic_job("orders.auto_confirm", every=timedelta(hours=1))
def auto_confirm_orders(batch_size: int = 100) -> int:
    """Complete orders shipped more than ORDER_AUTO_CONFIRM_DAYS ago."""
    return run_in_batches(auto_confirm_shipped_orders, batch_size)


@background_task("orders.notify_sellers", runs=notify_sellers_of_paid_order, max_retries=5)
def notify_sellers(order_id: int) -> None:
    """Tell the order's sellers their goods sold; retried while WeChat does not take a message."""
    _send_then_retry_failures("order-paid", notify_sellers_of_paid_order, order_id)


@periodic_job("orders.presale_deadlines", every=timedelta(hours=1))
def presale_deadlines(batch_size: int = 100) -> int:
    """Warn stations of pre-sale windows ending within PRESALE_WARN_DAYS; tell buyers of late ones they may cancel."""
    warned = run_in_batches(warn_presale_deadlines, batch_size)
    return warned + tell_buyers_of_late_presales()


@background_task("orders.notify_pickup_ready", runs=notify_pickup_ready, max_retries=5)
def pickup_ready(order_id: int) -> None:
    """Tell the buyer the goods wait at the pickup station."""
    _send_then_retry_failures("pickup-ready", notify_pickup_ready, order_id)


@background_task("orders.notify_presale_due", runs=notify_presale_due, max_retries=5)
def presale_due(presale_id: int) -> None:
    """Warn a pre-sale's station managers that its delivery window ends soon."""
    _send_then_retry_failures("presale-due", notify_presale_due, presale_id)


@background_task("orders.notify_presale_overdue", runs=notify_presale_overdue, max_retries=5)
def presale_overdue(order_id: int) -> None:
    """Tell the buyer a late pre-sale order may be cancelled for a full refund."""
    _send_then_retry_failures("presale-overdue", notify_presale_overdue, order_id)


def _orders_by_status():
    rows = db.session.execute(sa.select(Order.status, sa.func.count()).group_by(Order.status)).all()
    return [((status,), count) for status, count in rows]


register_database_collector("zz_orders", "Orders by status (from the database).", ("status",), _orders_by_status)
