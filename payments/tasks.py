"""Payment jobs and deferred work, declared for Celery (or the in-process runner); the CLI calls the same functions.

Every task is idempotent: refunds by ``out_refund_no`` (the gateway answers a
repeated number with the first refund), closing by the payment's status under
its row lock, shipping uploads by their recorded status.
"""

import logging
from datetime import timedelta

import sqlalchemy as sa
from celery.schedules import crontab

from core.clock import beijing_now
from core.extensions import db
from core.metrics import GATEWAY_MESSAGES, RECONCILIATION_DIFFERENCES, register_database_collector
from core.tasks import RetryLater, background_task, periodic_job
from payments.closing import close_open_payments, sync_pending_payments
from payments.ledger.reconcile import GatewayReport, reconcile_day
from payments.models import (
    GatewayRefund,
    GatewayRefundStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ShippingUpload,
    ShippingUploadStatus,
)
from payments.refunds import check_refund, execute_refund, unfinished_refunds
from payments.shipping_info import pending_uploads, upload_shipping_info

log = logging.getLogger(__name__)


# -- deferred work (enqueued after the commit by run_later) ---------------------------------------


@background_task("payments.execute_refund", runs=execute_refund)
def send_refund(refund_id: int) -> None:
    """Ask the gateway for one refund; retried with backoff while the gateway cannot be reached."""
    execute_refund(refund_id)
    if (
        db.session.scalar(sa.select(GatewayRefund.status).where(GatewayRefund.id == refund_id))
        == GatewayRefundStatus.PENDING
    ):
        raise RetryLater(f"refund {refund_id}: gateway unavailable")


@background_task("payments.close_open_payments", runs=close_open_payments)
def close_payments(order_id: int) -> None:
    """Close the pending payments of an expired or cancelled order at their gateways."""
    close_open_payments(order_id)
    still_open = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Payment)
        .where(Payment.order_id == order_id, Payment.status == PaymentStatus.PENDING)
    )
    if still_open:
        raise RetryLater(f"order {order_id}: {still_open} payments could not be closed yet")


@background_task("payments.upload_shipping_info", runs=upload_shipping_info)
def upload_shipping(upload_id: int) -> None:
    """Upload one parcel's shipping information to WeChat; retried while WeChat refuses or is away."""
    upload_shipping_info(upload_id)
    if (
        db.session.scalar(sa.select(ShippingUpload.status).where(ShippingUpload.id == upload_id))
        == ShippingUploadStatus.PENDING
    ):
        raise RetryLater(f"shipping upload {upload_id} not accepted yet")


# -- periodic jobs ---------------------------------------------------------------------------------


@periodic_job("payments.sync", every=timedelta(minutes=5))
def sync_payments(older_than_minutes: int = 5) -> dict[str, int]:
    """Query payments pending longer than N minutes (missed notifications); close those of dead orders."""
    return sync_pending_payments(older_than_minutes)


@periodic_job("payments.retry_refunds", every=timedelta(minutes=5))
def retry_refunds() -> int:
    """Send or re-check every refund the gateway has not confirmed yet."""
    ids = unfinished_refunds()
    db.session.rollback()
    for refund_id in ids:
        check_refund(refund_id)
    return len(ids)


@periodic_job("payments.retry_uploads", every=timedelta(minutes=10))
def retry_uploads() -> int:
    """Upload shipping information WeChat has not accepted yet."""
    ids = pending_uploads()
    db.session.rollback()
    for upload_id in ids:
        upload_shipping_info(upload_id)
    return len(ids)


# Bills of a Beijing day are published the next morning (WeChat from 9:00, Alipay from about 9:00 too).
@periodic_job("payments.reconcile", every=crontab(hour=10, minute=30))
def reconcile_yesterday() -> list[GatewayReport]:
    """Reconcile yesterday's (Beijing) bills; differences are logged and exported as a metric."""
    day = beijing_now().date() - timedelta(days=1)
    reports = reconcile_day(day)
    db.session.rollback()
    for report in reports:
        RECONCILIATION_DIFFERENCES.labels(report.gateway).set(len(report.differences))
        if report.differences:
            kinds = sorted({item.kind for item in report.differences})
            log.error("reconciliation %s %s: %s differences (%s)", day, report.gateway, len(report.differences), kinds)
        else:
            log.info("reconciliation %s %s: bill matches", day, report.gateway)
    return reports


# -- figures for /metrics --------------------------------------------------------------------------


def _payments_by_status():
    rows = db.session.execute(
        sa.select(Payment.channel, Payment.status, sa.func.count()).group_by(Payment.channel, Payment.status)
    ).all()
    return [((channel, status), count) for channel, status, count in rows]


def _refunds_by_status():
    rows = db.session.execute(sa.select(GatewayRefund.status, sa.func.count()).group_by(GatewayRefund.status)).all()
    return [((status,), count) for status, count in rows]


register_database_collector(
    "zz_payments", "Payments by channel and status (from the database).", ("channel", "status"), _payments_by_status
)
register_database_collector(
    "zz_refunds", "Gateway refunds by status (from the database).", ("status",), _refunds_by_status
)


@sa.event.listens_for(PaymentEvent, "after_insert")
def _count_gateway_message(_mapper, _connection, event: PaymentEvent) -> None:
    """Every stored gateway message counts once, by its verdict (applied, duplicate, rejected, …)."""
    if not event.verified:
        verdict = "unverified"
    else:
        verdict = (event.outcome or "unknown").split(":", 1)[0].strip()[:40] or "unknown"
    GATEWAY_MESSAGES.labels(event.channel, event.source, verdict).inc()
