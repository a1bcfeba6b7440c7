"""The order state machine: legal transitions and the append-only event trail."""

import sqlalchemy as sa

from core.db import utcnow
from core.errors import Conflict
from core.extensions import db
from core.models import User
from shop.orders.models import LineStatus, Order, OrderEvent, OrderLine, OrderStatus

L, O = LineStatus, OrderStatus  # noqa: E741 - short names keep the tables readable
LINE_TRANSITIONS: dict[str, set[LineStatus]] = {
    L.PENDING_PAYMENT: {L.PAID, L.CANCELLED},
    L.PAID: {L.SHIPPED, L.REFUNDING},
    L.SHIPPED: {L.COMPLETED, L.REFUNDING},
    L.COMPLETED: {L.REFUNDING},
    L.REFUNDING: {L.PAID, L.SHIPPED, L.COMPLETED, L.REFUNDED},
    L.CANCELLED: set(),
    L.REFUNDED: set(),
}
ORDER_TRANSITIONS: dict[str, set[OrderStatus]] = {
    O.PENDING_PAYMENT: {O.PAID, O.CANCELLED},
    O.PAID: {O.SHIPPED, O.COMPLETED, O.REFUNDING, O.REFUNDED},
    O.SHIPPED: {O.COMPLETED, O.REFUNDING, O.REFUNDED},
    O.COMPLETED: {O.REFUNDING, O.REFUNDED},
    O.REFUNDING: {O.PAID, O.SHIPPED, O.COMPLETED, O.REFUNDED},
    O.CANCELLED: set(),
    O.REFUNDED: set(),
}


class InvalidState(Conflict):
    code = "invalid_state"


def append_order_event(order: Order, line: OrderLine | None, old: str | None, new: str, actor: User | None, reason):
    """Append one entry to the order's trail."""
    db.session.add(
        OrderEvent(
            order_id=order.id,
            line_id=line.id if line else None,
            from_status=old,
            to_status=new,
            actor_id=actor.id if actor else None,
            reason=reason,
        )
    )


def move_line(line: OrderLine, new: str, actor: User | None, reason: str | None = None) -> None:
    """Change one line's status, or 409 invalid_state when the machine forbids it."""
    if new not in LINE_TRANSITIONS[line.status]:
        raise InvalidState(f"订单明细不能从「{line.status}」变为「{new}」")
    old = line.status
    if new == LineStatus.REFUNDING:
        line.status_before_refund = old
    line.status = new
    append_order_event(line.order, line, old, new, actor, reason)


def move_every_line(order: Order, new: str, actor: User | None, reason: str | None = None) -> None:
    """``move_line`` for every line of ``order`` at once: one ``UPDATE`` and one insert of the trail.

    A 2,000-line welfare order is paid in two statements (an ``INSERT … SELECT`` of the trail, an
    ``UPDATE``) rather than 4,000. Every line must be allowed the move (else 409 invalid_state,
    nothing changed); not for REFUNDING, which keeps each line's former status.
    """
    if new == LineStatus.REFUNDING:
        raise ValueError("a refund moves its lines one by one (each keeps its former status)")
    for line in order.lines:
        if new not in LINE_TRANSITIONS[line.status]:
            raise InvalidState(f"订单明细不能从「{line.status}」变为「{new}」")
    if not order.lines:
        return
    lines, events = OrderLine.__table__, OrderEvent.__table__
    # The trail first: each entry takes its line's status before the move.
    db.session.execute(
        events.insert().from_select(
            ["order_id", "line_id", "from_status", "to_status", "actor_id", "reason", "created_at"],
            sa.select(
                lines.c.order_id,
                lines.c.id,
                lines.c.status,
                sa.literal(str(new), sa.String),
                sa.literal(actor.id if actor else None, sa.Integer),
                sa.literal(reason, sa.String),
                sa.literal(utcnow(), events.c.created_at.type),
            )
            .where(lines.c.order_id == order.id)
            .order_by(lines.c.id),
        )
    )
    db.session.execute(
        sa.update(OrderLine)
        .where(OrderLine.order_id == order.id)
        .values(status=new)
        .execution_options(synchronize_session="evaluate")  # the loaded lines take the new status too
    )


def derived_status(order: Order) -> OrderStatus:
    """The order's status as its lines make it."""
    statuses = [line.status for line in order.lines]
    if all(s == L.CANCELLED for s in statuses):
        return O.CANCELLED
    if all(s == L.PENDING_PAYMENT for s in statuses):
        return O.PENDING_PAYMENT
    if all(s == L.REFUNDED for s in statuses):
        return O.REFUNDED
    if L.REFUNDING in statuses:
        return O.REFUNDING
    live = [s for s in statuses if s not in (L.REFUNDED, L.CANCELLED)]
    if all(s == L.COMPLETED for s in live):
        return O.COMPLETED
    if all(s in (L.SHIPPED, L.COMPLETED) for s in live):
        return O.SHIPPED
    return O.PAID


def sync_order(order: Order, actor: User | None, reason: str | None = None) -> bool:
    """Bring the order's status in line with its lines; True when it changed."""
    new = derived_status(order)
    if new == order.status:
        return False
    if new not in ORDER_TRANSITIONS[order.status]:
        raise InvalidState(f"订单不能从「{order.status}」变为「{new}」")
    append_order_event(order, None, order.status, new, actor, reason)
    order.status = new
    if new == O.SHIPPED and order.shipped_at is None:  # auto-confirm counts from here
        order.shipped_at = utcnow()
    return True


def require_status(order: Order, *allowed: str) -> None:
    if order.status not in allowed:
        raise InvalidState(f"订单当前状态为「{order.status}」，不能执行此操作")
