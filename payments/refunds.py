"""Sending money back through the channel it came in by, exactly once per ``out_refund_no``."""

import logging
import secrets

import sqlalchemy as sa
from flask import current_app

from core.db import utcnow
from core.extensions import db
from core.faults import fault_point
from core.tasks import run_later
from core.unit_of_work import unit_of_work
from payments.ledger.postings import post_refund, post_unapplied_refund
from payments.models import GatewayRefund, GatewayRefundStatus, Payment, PaymentStatus
from payments.providers import (
    Channel,
    PaymentGatewayError,
    PaymentRejected,
    RefundResult,
    get_provider,
    refund_notify_url,
)
from payments.providers.base import RefundStatus
from shop.orders.after_sales import complete_refund, fail_refund
from shop.orders.fulfilment import lock_order
from shop.orders.models import RefundRequest

log = logging.getLogger(__name__)

FINISHED = (GatewayRefundStatus.SUCCESS, GatewayRefundStatus.FAILED)


def new_out_refund_no(payment_id: int) -> str:
    return f"RF{utcnow():%Y%m%d}{payment_id:010d}{secrets.token_hex(5)}"[:32]


def _lock_refund(refund_id: int) -> GatewayRefund | None:
    return db.session.scalar(
        sa.select(GatewayRefund)
        .where(GatewayRefund.id == refund_id)
        .with_for_update(of=GatewayRefund)  # not the joined payment: PostgreSQL refuses FOR UPDATE on an outer join
        .execution_options(populate_existing=True)
    )


def refundable_payment(order_id: int) -> Payment:
    """The payment the order was paid with: paid, and not one sent back automatically (a double payment)."""
    # Automatic refunds of money the order could not take (see payments.applying.apply_success).
    sent_back = sa.select(GatewayRefund.payment_id).where(
        GatewayRefund.refund_request_id.is_(None),
        sa.or_(GatewayRefund.reason == "paid_after_expiry", GatewayRefund.reason.startswith("order_")),
    )
    return db.session.scalar(
        sa.select(Payment)
        .where(Payment.order_id == order_id, Payment.status == PaymentStatus.PAID, Payment.id.not_in(sent_back))
        .order_by(Payment.id)
    )


def refund_for_request(refund_request: RefundRequest) -> GatewayRefund:
    """Record the gateway refund for an approved after-sales request and send it after commit."""
    payment = refundable_payment(refund_request.order_id)
    if payment is None:
        raise ValueError(f"order {refund_request.order_id} has no paid payment to refund")
    already = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(GatewayRefund.amount_fen), 0)).where(
            GatewayRefund.payment_id == payment.id, GatewayRefund.status != GatewayRefundStatus.FAILED
        )
    )
    if already + refund_request.amount_fen > payment.amount_fen:
        raise ValueError("refunds would exceed the payment")
    refund = GatewayRefund(
        payment_id=payment.id,
        refund_request_id=refund_request.id,
        out_refund_no=new_out_refund_no(payment.id),
        amount_fen=refund_request.amount_fen,
        reason="after_sales",
    )
    db.session.add(refund)
    db.session.flush()
    run_later(execute_refund, refund.id)
    return refund


def apply_refund_result(refund: GatewayRefund, result: RefundResult) -> None:
    """Record the gateway's word on a locked refund and settle the after-sales request."""
    if refund.status in FINISHED:
        return
    if result.status == RefundStatus.SUCCESS:
        refund.status, refund.completed_at = GatewayRefundStatus.SUCCESS, utcnow()
        refund.gateway_refund_id = result.refund_id
        if refund.refund_request_id:
            request = db.session.get(RefundRequest, refund.refund_request_id)
            lock_order(request.order_id)
            complete_refund(request)
            post_refund(refund, [(item.line_id, item.amount_fen) for item in request.lines])
        else:  # an automatic refund of money that was never applied to an order
            post_unapplied_refund(refund)
    elif result.status == RefundStatus.FAILED:
        _fail(refund, result.reason or "渠道退款失败")
    else:
        refund.status = GatewayRefundStatus.PROCESSING


def _fail(refund: GatewayRefund, reason: str) -> None:
    refund.status, refund.failure_reason = GatewayRefundStatus.FAILED, reason[:200]
    if refund.refund_request_id:
        request = db.session.get(RefundRequest, refund.refund_request_id)
        lock_order(request.order_id)
        fail_refund(request, reason)


def _refund_call(refund: GatewayRefund) -> tuple[str, tuple, dict]:
    """What to ask the gateway for a locked refund, as plain values (used after the lock is gone)."""
    payment = refund.payment
    extra = {}
    if payment.channel == Channel.WECHAT_JSAPI:  # WeChat reports the outcome later, to this URL
        extra["notify_url"] = refund_notify_url(current_app.config)
    numbers = (payment.out_trade_no, refund.out_refund_no, payment.amount_fen, refund.amount_fen)
    return payment.channel, numbers, extra


def _record_answer(refund_id: int, result: RefundResult) -> None:
    """Lock the refund again and apply the gateway's answer (final states never change); commits."""
    with unit_of_work():
        refund = _lock_refund(refund_id)
        if refund is not None:
            apply_refund_result(refund, result)


def execute_refund(refund_id: int) -> None:
    """Ask the gateway to refund (idempotent by out_refund_no) and record the answer (a background job).

    Three steps, none holding a lock across the gateway call: count the attempt
    and commit; call the gateway; lock the refund again and apply the answer.
    A concurrent copy sends the same ``out_refund_no``, which the gateway
    answers again without refunding twice.
    """
    with unit_of_work():
        refund = _lock_refund(refund_id)
        if refund is None or refund.status in FINISHED:
            return
        if refund.payment.channel == Channel.BANK_TRANSFER:  # no gateway: the county centre transfers it back
            return
        refund.attempts += 1
        channel, numbers, extra = _refund_call(refund)
    fault_point("refund.attempt_committed")
    out_trade_no, out_refund_no, total_fen, refund_fen = numbers
    try:
        result = get_provider(channel).refund(out_trade_no, out_refund_no, total_fen, refund_fen, "售后退款", **extra)
    except PaymentRejected as exc:
        result = RefundResult(out_refund_no, RefundStatus.FAILED, reason=exc.gateway_message or exc.gateway_code)
    except PaymentGatewayError:
        log.warning("refund %s: gateway unavailable, will retry", refund_id)
        return
    fault_point("refund.gateway_answered")
    _record_answer(refund_id, result)


def check_refund(refund_id: int) -> None:
    """Query a refund the gateway is still processing (or that never got through); a background job."""
    with unit_of_work():
        refund = _lock_refund(refund_id)
        if refund is None or refund.status in FINISHED:
            return
        status = refund.status
        channel, (out_trade_no, out_refund_no, _, _), _ = _refund_call(refund)
    if status == GatewayRefundStatus.PENDING:
        execute_refund(refund_id)
        return
    try:
        result = get_provider(channel).query_refund(out_trade_no, out_refund_no)
    except (PaymentGatewayError, PaymentRejected):
        log.warning("refund %s: could not ask the gateway, will ask again", refund_id)
        return
    if result.status == RefundStatus.NOT_FOUND:  # never got through: send it again, same number
        with unit_of_work():
            refund = _lock_refund(refund_id)
            if refund is None or refund.status != GatewayRefundStatus.PROCESSING:
                return
            refund.status = GatewayRefundStatus.PENDING
        execute_refund(refund_id)
        return
    _record_answer(refund_id, result)


def unfinished_refunds() -> list[int]:
    return list(
        db.session.scalars(
            sa.select(GatewayRefund.id)
            .where(GatewayRefund.status.in_((GatewayRefundStatus.PENDING, GatewayRefundStatus.PROCESSING)))
            .order_by(GatewayRefund.id)
        )
    )


def lock_refund_by_number(out_refund_no: str) -> GatewayRefund | None:
    return db.session.scalar(
        sa.select(GatewayRefund)
        .where(GatewayRefund.out_refund_no == out_refund_no)
        .with_for_update(of=GatewayRefund)  # not the joined payment: PostgreSQL refuses FOR UPDATE on an outer join
        .execution_options(populate_existing=True)
    )
