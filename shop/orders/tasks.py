"""Order jobs and deferred work, declared for Celery (or the in-process runner); the CLI calls the same functions."""

from datetime import timedelta

import sqlalchemy as sa

from core.extensions import db
from core.metrics import register_database_collector
from core.tasks import RetryLater, background_task, periodic_job
from shop.orders.fulfilment import auto_confirm_shipped_orders, expire_overdue_orders
from shop.orders.models import Order
from shop.orders.notifications import notify_sellers_of_paid_order


def run_in_batches(job, batch_size: int) -> int:
    """Run a batch job until a batch comes back short, committing each batch (restart-safe)."""
    total = 0
    while True:
        done = job(batch_size=batch_size)
        db.session.commit()
        total += done
        if done < batch_size:
            return total


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
    if notify_sellers_of_paid_order(order_id):
        raise RetryLater(f"subscribe messages of order {order_id} failed")


def _orders_by_status():
    rows = db.session.execute(sa.select(Order.status, sa.func.count()).group_by(Order.status)).all()
    return [((status,), count) for status, count in rows]


register_database_collector("zz_orders", "Orders by status (from the database).", ("status",), _orders_by_status)
