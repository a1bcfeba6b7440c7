"""Applying what gateways tell us: notifications and query answers, exactly once.

Every message is stored raw in ``payment_events`` with its verification result,
whatever it says. A verified success is applied under a row lock on the
payment, so a second identical notification (even a concurrent one) finds the
payment already paid and changes nothing. Money that arrives for an order that
can no longer take it (expired, cancelled, already paid by another attempt) is
sent back automatically and recorded.
"""

import json
import logging
import re
from datetime import datetime

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from core.faults import fault_point
from core.tasks import run_later
from payments.ledger.postings import post_payment, post_unapplied_payment
from payments.models import ApplyOutcome, EventSource, GatewayRefund, Payment, PaymentEvent, PaymentStatus
from payments.providers import Channel, GatewayTrade, Notification, TradeStatus
from shop.orders.fulfilment import lock_order, mark_paid
from shop.orders.models import CancelReason

log = logging.getLogger(__name__)


# What is kept of a message that failed verification: enough to diagnose, never a flood of junk.
UNVERIFIED_RAW_CHARS = 4096


def store_gateway_message(channel: str, source: str, out_trade_no, raw, verified: bool, outcome: str, payment=None):
    """Append one raw gateway message to the event log (an unverified one truncated)."""
    text = raw if isinstance(raw, str) else json.dumps(dict(raw), ensure_ascii=False, default=str)
    if not verified and len(text) > UNVERIFIED_RAW_CHARS:
        text = text[:UNVERIFIED_RAW_CHARS] + f"…[truncated, {len(text)} characters]"
    db.session.add(
        PaymentEvent(
            payment_id=payment.id if payment else None,
            channel=channel,
            source=source,
            out_trade_no=(out_trade_no or "")[:32] or None,
            raw=text,
            verified=verified,
            outcome=outcome[:200],
        )
    )


_CLAIMED = re.compile(r"<out_trade_no>(?:<!\[CDATA\[)?([0-9A-Za-z_]{1,32})")


def claimed_out_trade_no(note: Notification, raw) -> str | None:
    """The number a message claims to be about, kept in the log even when it cannot be trusted."""
    if note.out_trade_no:
        return note.out_trade_no
    if isinstance(raw, str):
        match = _CLAIMED.search(raw)
        return match.group(1) if match else None
    value = dict(raw).get("out_trade_no")
    return str(value)[:32] if value else None


def lock_payment(out_trade_no: str) -> Payment | None:
    return db.session.scalar(
        sa.select(Payment)
        .where(Payment.out_trade_no == out_trade_no)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _refund_unwanted(payment: Payment, why: str) -> None:
    from payments.refunds import execute_refund, new_out_refund_no

    refund = GatewayRefund(
        payment_id=payment.id,
        out_refund_no=new_out_refund_no(payment.id),
        amount_fen=payment.amount_fen,
        reason=why,
    )
    db.session.add(refund)
    db.session.flush()
    run_later(execute_refund, refund.id)


def apply_success(payment: Payment, transaction_id: str | None, paid_at: datetime | None) -> ApplyOutcome:
    """Mark a locked pending payment paid and the order with it; returns the outcome."""
    if payment.status == PaymentStatus.PAID:
        return ApplyOutcome.DUPLICATE
    payment.status, payment.transaction_id = PaymentStatus.PAID, transaction_id
    payment.paid_at = paid_at or utcnow()
    order = lock_order(payment.order_id)
    if mark_paid(order, payment.channel, payment.paid_at):
        fault_point("notify.marked_paid")
        post_payment(payment, order)  # split into the parties' pending buckets, same transaction
        return ApplyOutcome.APPLIED
    why = "paid_after_expiry" if order.cancel_reason == CancelReason.EXPIRED else f"order_{order.status}"
    post_unapplied_payment(payment)  # the money is ours to return: hold it in suspense
    _refund_unwanted(payment, why)
    log.info("payment %s arrived for order %s in state %s: refunding", payment.id, order.id, order.status)
    return ApplyOutcome.REFUNDED_AUTOMATICALLY


def apply_notification(channel: str, note: Notification, raw) -> bool:
    """Judge and apply one verified-or-not payment notification; True to acknowledge."""
    if not note.valid:
        store_gateway_message(
            channel, EventSource.NOTIFICATION, claimed_out_trade_no(note, raw), raw, False, f"rejected: {note.reason}"
        )
        return False
    fault_point("notify.verified")
    payment = lock_payment(note.out_trade_no) if note.out_trade_no else None
    if payment is None:
        store_gateway_message(
            channel, EventSource.NOTIFICATION, note.out_trade_no, raw, True, "rejected: unknown out_trade_no"
        )
        return False
    if Channel(payment.channel).gateway != channel:
        store_gateway_message(
            channel, EventSource.NOTIFICATION, note.out_trade_no, raw, True, "rejected: wrong gateway", payment
        )
        return False
    if note.amount_fen != payment.amount_fen:
        store_gateway_message(
            channel, EventSource.NOTIFICATION, note.out_trade_no, raw, True, "rejected: amount mismatch", payment
        )
        return False
    if not note.paid:
        store_gateway_message(
            channel, EventSource.NOTIFICATION, note.out_trade_no, raw, True, "ignored: not a success", payment
        )
        return True
    outcome = apply_success(payment, note.transaction_id, None)
    store_gateway_message(channel, EventSource.NOTIFICATION, note.out_trade_no, raw, True, outcome, payment)
    return True


def apply_query(payment: Payment, trade: GatewayTrade) -> None:
    """Bring a locked payment in line with the gateway's answer to a query."""
    payment.last_checked_at = utcnow()
    if trade.status == TradeStatus.PAID and trade.amount_fen == payment.amount_fen:
        outcome = apply_success(payment, trade.transaction_id, trade.paid_at)
    elif trade.status == TradeStatus.PAID:
        outcome = "rejected: amount mismatch"
    elif trade.status == TradeStatus.CLOSED and payment.status == PaymentStatus.PENDING:
        payment.status, payment.closed_at = PaymentStatus.CLOSED, utcnow()
        outcome = "closed"
    else:
        outcome = f"unchanged: {trade.status}"
    store_gateway_message(
        Channel(payment.channel).gateway, EventSource.QUERY, payment.out_trade_no, trade.raw, True, outcome, payment
    )
