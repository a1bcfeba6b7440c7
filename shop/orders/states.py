"""The order state machine: legal transitions and the append-only event trail."""

from core.db import utcnow
from core.errors import Conflict
from core.extensions import db
from core.models import User
from shop.orders.models import Order, OrderEvent, OrderLine

LINE_TRANSITIONS = {
    "pending_payment": {"paid", "cancelled"},
    "paid": {"shipped", "refunding"},
    "shipped": {"completed", "refunding"},
    "completed": {"refunding"},
    "refunding": {"paid", "shipped", "completed", "refunded"},
    "cancelled": set(),
    "refunded": set(),
}
ORDER_TRANSITIONS = {
    "pending_payment": {"paid", "cancelled"},
    "paid": {"shipped", "completed", "refunding", "refunded"},
    "shipped": {"completed", "refunding", "refunded"},
    "completed": {"refunding", "refunded"},
    "refunding": {"paid", "shipped", "completed", "refunded"},
    "cancelled": set(),
    "refunded": set(),
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
    if new == "refunding":
        line.status_before_refund = old
    line.status = new
    append_order_event(line.order, line, old, new, actor, reason)


def derived_status(order: Order) -> str:
    """The order's status as its lines make it."""
    statuses = [line.status for line in order.lines]
    if all(s == "cancelled" for s in statuses):
        return "cancelled"
    if all(s == "pending_payment" for s in statuses):
        return "pending_payment"
    if all(s == "refunded" for s in statuses):
        return "refunded"
    if "refunding" in statuses:
        return "refunding"
    live = [s for s in statuses if s not in ("refunded", "cancelled")]
    if all(s == "completed" for s in live):
        return "completed"
    if all(s in ("shipped", "completed") for s in live):
        return "shipped"
    return "paid"


def sync_order(order: Order, actor: User | None, reason: str | None = None) -> bool:
    """Bring the order's status in line with its lines; True when it changed."""
    new = derived_status(order)
    if new == order.status:
        return False
    if new not in ORDER_TRANSITIONS[order.status]:
        raise InvalidState(f"订单不能从「{order.status}」变为「{new}」")
    append_order_event(order, None, order.status, new, actor, reason)
    order.status = new
    if new == "shipped" and order.shipped_at is None:  # auto-confirm counts from here
        order.shipped_at = utcnow()
    return True


def require_status(order: Order, *allowed: str) -> None:
    if order.status not in allowed:
        raise InvalidState(f"订单当前状态为「{order.status}」，不能执行此操作")
