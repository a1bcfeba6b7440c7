"""Refunds the platform owes without asking anyone: a pre-sale not shipped in its window, a pickup never collected."""

from core.db import utcnow
from core.extensions import db
from core.models import User
from shop.orders.models import LineStatus, Order, OrderLine, RefundRequest, RefundRequestLine, RefundRequestStatus
from shop.orders.states import move_line, sync_order
from shop.signals import refund_approved


def refund_lines_in_full(order: Order, lines: list[OrderLine], actor: User | None, reason: str) -> RefundRequest:
    """An after-sales request approved at once for ``lines`` (the whole of each); the payments package pays it."""
    now = utcnow()
    refund = RefundRequest(
        order_id=order.id,
        buyer_id=order.buyer_id,
        reason=reason[:200],
        amount_fen=sum(line.amount_fen - line.refunded_fen for line in lines),
        status=RefundRequestStatus.APPROVED,
        decided_by_id=actor.id if actor else None,
        decided_at=now,
        decision_reason=reason[:200],
        lines=[RefundRequestLine(line_id=line.id, amount_fen=line.amount_fen - line.refunded_fen) for line in lines],
    )
    db.session.add(refund)
    for line in lines:
        move_line(line, LineStatus.REFUNDING, actor, reason)
    sync_order(order, actor, reason)
    db.session.flush()
    refund_approved.send(refund)
    return refund
