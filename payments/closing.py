"""Closing open payments of orders that can no longer be paid, and catching missed notifications.

No gateway is called while a row is locked (see ``core.unit_of_work``): each
step reads what it needs and ends its transaction, calls the gateway, then
locks the payment again, re-checks that it is still pending and applies the
answer. A notification that arrives in between has already changed the
payment, and the re-check leaves it alone.
"""

import logging
from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from core.unit_of_work import commit_intent, unit_of_work
from payments.applying import apply_query, lock_payment
from payments.models import Payment, PaymentStatus
from payments.opening import stale_pending_payments
from payments.providers import PaymentGatewayError, PaymentRejected, get_provider
from payments.providers.base import CloseOutcome
from shop.orders.models import Order, OrderStatus

log = logging.getLogger(__name__)


def close_payment(out_trade_no: str, channel: str) -> PaymentStatus | None:
    """Close one pending payment at its gateway, then record it closed (or paid, which refunds); commits.

    Returns the payment's status afterwards (None if there is no such payment).
    """
    provider = get_provider(channel)
    outcome = provider.close(out_trade_no)
    trade = provider.query(out_trade_no) if outcome == CloseOutcome.ALREADY_PAID else None
    with unit_of_work():
        payment = lock_payment(out_trade_no)
        if payment is None or payment.status != PaymentStatus.PENDING:
            return None if payment is None else payment.status  # a notification came first: leave it
        if trade is not None:  # paid just before closing: apply it, which refunds
            apply_query(payment, trade)
        else:
            payment.status, payment.closed_at = PaymentStatus.CLOSED, utcnow()
        return payment.status


def close_open_payments(order_id: int) -> None:
    """Close every pending payment of an expired or cancelled order at its gateway (a background job)."""
    with unit_of_work():
        attempts = db.session.execute(
            sa.select(Payment.out_trade_no, Payment.channel).where(
                Payment.order_id == order_id, Payment.status == PaymentStatus.PENDING
            )
        ).all()
    for out_trade_no, channel in attempts:
        try:
            close_payment(out_trade_no, channel)
        except (PaymentGatewayError, PaymentRejected):
            log.warning("closing payment %s failed; `flask payments sync` will retry", out_trade_no)


def refresh_payment(payment: Payment) -> Payment:
    """Ask the gateway about a pending payment and apply the answer under the payment's lock.

    Called by ``GET /payments/<id>``: like opening a payment, it ends the
    request's (read-only) transaction before the gateway call, so nothing is
    held while the gateway answers; the answer is committed with the request.
    """
    if payment.status != PaymentStatus.PENDING:
        return payment
    out_trade_no, channel = payment.out_trade_no, payment.channel
    commit_intent()
    trade = get_provider(channel).query(out_trade_no)
    locked = lock_payment(out_trade_no)
    if locked.status == PaymentStatus.PENDING:
        apply_query(locked, trade)
    return locked


def sync_pending_payments(older_than_minutes: int) -> dict[str, int]:
    """Query every payment pending longer than N minutes; close those whose order is gone (one commit per step)."""
    counts = {"checked": 0, "paid": 0, "closed": 0, "errors": 0}
    with unit_of_work():
        payment_ids = stale_pending_payments(utcnow() - timedelta(minutes=older_than_minutes))
    for payment_id in payment_ids:
        try:
            with unit_of_work():
                locked = refresh_payment(db.session.get(Payment, payment_id))
                status, order_id = locked.status, locked.order_id
        except (PaymentGatewayError, PaymentRejected):
            counts["errors"] += 1
            continue
        counts["checked"] += 1
        counts["paid"] += status == PaymentStatus.PAID
        if status != PaymentStatus.PENDING:
            continue
        with unit_of_work():
            order = db.session.get(Order, order_id)
            dead = order.status == OrderStatus.CANCELLED or order.is_past_deadline(utcnow())
        if dead:
            close_open_payments(order_id)
            counts["closed"] += 1
    return counts
