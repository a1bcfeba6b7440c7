"""Closing open payments of orders that can no longer be paid, and catching missed notifications."""

import logging
from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from payments.applying import apply_query, lock_payment
from payments.models import Payment, PaymentStatus
from payments.opening import stale_pending_payments
from payments.providers import PaymentGatewayError, get_provider
from payments.providers.base import CloseOutcome
from shop.orders.models import Order, OrderStatus

log = logging.getLogger(__name__)


def close_open_payments(order_id: int) -> None:
    """Close every pending payment of an expired or cancelled order at its gateway."""
    numbers = db.session.scalars(
        sa.select(Payment.out_trade_no).where(Payment.order_id == order_id, Payment.status == PaymentStatus.PENDING)
    ).all()
    db.session.rollback()
    for out_trade_no in numbers:
        payment = lock_payment(out_trade_no)
        if payment is None or payment.status != PaymentStatus.PENDING:
            db.session.rollback()
            continue
        provider = get_provider(payment.channel)
        try:
            outcome = provider.close(out_trade_no)
            if outcome == CloseOutcome.ALREADY_PAID:  # paid just before closing: apply it, which refunds
                apply_query(payment, provider.query(out_trade_no))
            else:
                payment.status, payment.closed_at = PaymentStatus.CLOSED, utcnow()
        except PaymentGatewayError:
            log.warning("closing payment %s failed; `flask payments sync` will retry", payment.id)
            db.session.rollback()
            continue
        db.session.commit()


def refresh_payment(payment: Payment) -> Payment:
    """Ask the gateway about a pending payment (the caller holds no lock yet)."""
    if payment.status != PaymentStatus.PENDING:
        return payment
    locked = lock_payment(payment.out_trade_no)
    if locked.status == PaymentStatus.PENDING:
        apply_query(locked, get_provider(locked.channel).query(locked.out_trade_no))
    return locked


def sync_pending_payments(older_than_minutes: int) -> dict[str, int]:
    """Query every payment pending longer than N minutes; close those whose order is gone."""
    counts = {"checked": 0, "paid": 0, "closed": 0, "errors": 0}
    for payment_id in stale_pending_payments(utcnow() - timedelta(minutes=older_than_minutes)):
        payment = db.session.get(Payment, payment_id)
        try:
            locked = refresh_payment(payment)
            counts["checked"] += 1
            counts["paid"] += locked.status == PaymentStatus.PAID
            db.session.commit()
        except PaymentGatewayError:
            counts["errors"] += 1
            db.session.rollback()
            continue
        if locked.status == PaymentStatus.PENDING:
            order = db.session.get(Order, locked.order_id)
            if order.status == OrderStatus.CANCELLED or order.is_past_deadline(utcnow()):
                close_open_payments(order.id)
                counts["closed"] += 1
    return counts
