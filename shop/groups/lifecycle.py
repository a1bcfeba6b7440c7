"""A group after checkout: members pay or drop out, the group succeeds or expires and refunds its members.

Lock order, everywhere: an order's row before its group's row. A payment
notification locks the payment, then the order (``mark_paid``), then the
group here; the expiry locks the group's orders, then the group. So the two
queue instead of deadlocking, and whichever comes second sees what the first
did: a payment applied first is refunded with the others; one applied after
the group expired is refunded on the spot.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from shop.groups.models import GroupBuy, GroupMember, GroupStatus, MemberStatus
from shop.groups.services import lock_group
from shop.groups.states import move_group, move_member
from shop.orders.fulfilment import lock_order
from shop.orders.models import LineStatus, Order, OrderLine, RefundRequest, RefundRequestLine, RefundRequestStatus
from shop.orders.placement import release_stock
from shop.orders.states import InvalidState, move_line, sync_order
from shop.signals import refund_approved

REFUND_REASON = "拼团未成团，自动退款"
# A member's refund the gateway refused is sent again (a new request, a new out_refund_no) this long after.
REFUND_RETRY_AFTER = timedelta(hours=1)


def member_of(order_id: int) -> GroupMember | None:
    return db.session.scalar(sa.select(GroupMember).where(GroupMember.order_id == order_id))


def _paid_count(group: GroupBuy) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(GroupMember)
        .where(GroupMember.group_id == group.id, GroupMember.status == MemberStatus.PAID)
    )


def refund_member(order: Order, member: GroupMember) -> RefundRequest | None:
    """Send a paid member's money back (the order and group locked): once, through the after-sales refund.

    The refund request is approved by the system and announced with
    ``refund_approved``, so the payments package refunds through the channel
    the member paid with, by its own idempotent ``out_refund_no``, and the
    ledger reverses the payment's split when the gateway confirms. The member's
    stock goes back on sale now. The member's status guards against a second
    refund (a second expiry run, a late notification).
    """
    if member.status != MemberStatus.PAID:
        return None
    move_member(member, MemberStatus.REFUNDED)
    return _refund_paid_lines(order, back_on_sale=True)


def _refund_paid_lines(order: Order, *, back_on_sale: bool) -> RefundRequest | None:
    """A system-approved refund of the order's paid lines; ``back_on_sale``: their units return to stock
    (the first refund only: a retry after a failed one must not give them back twice)."""
    lines = [line for line in order.lines if line.status == LineStatus.PAID]
    if not lines:  # already refunded another way (an after-sales request)
        return None
    now = utcnow()
    refund = RefundRequest(
        order_id=order.id,
        buyer_id=order.buyer_id,
        status=RefundRequestStatus.APPROVED,
        amount_fen=sum(line.amount_fen - line.refunded_fen for line in lines),
        reason=REFUND_REASON,
        decision_reason="拼团时限内未满员",
        decided_at=now,
        lines=[RefundRequestLine(line_id=line.id, amount_fen=line.amount_fen - line.refunded_fen) for line in lines],
    )
    db.session.add(refund)
    for line in lines:
        move_line(line, LineStatus.REFUNDING, None, REFUND_REASON)
    sync_order(order, None, REFUND_REASON)
    if back_on_sale:
        release_stock(lines)
    db.session.flush()
    refund_approved.send(refund)
    return refund


def record_member_payment(order: Order, paid_at: datetime | None = None, **_) -> None:
    """``order_paid`` receiver: a member paid (the order is locked); open, fill or refund accordingly."""
    member = member_of(order.id)
    if member is None:
        return
    group = lock_group(member.group_id)
    db.session.refresh(member)
    if member.status != MemberStatus.JOINED:
        return
    paid_at = paid_at or utcnow()
    move_member(member, MemberStatus.PAID)
    member.paid_at = paid_at
    if group.status == GroupStatus.OPENING:
        move_group(group, GroupStatus.FORMING)
        group.opened_at = paid_at
        group.expires_at = paid_at + timedelta(hours=group.hours)
    elif group.status == GroupStatus.FORMING:
        # Paid after the deadline but before the expiry job ran: it counts as too late (the job refunds it).
        if paid_at < group.expires_at and _paid_count(group) >= group.group_size:
            move_group(group, GroupStatus.SUCCEEDED)
            group.succeeded_at = paid_at
    else:  # the group expired while this member was paying: refund them too
        refund_member(order, member)


def record_member_cancelled(order: Order, **_) -> None:
    """``order_cancelled`` / ``order_expired`` receiver: an unpaid member's place is free again."""
    member = member_of(order.id)
    if member is None or member.status != MemberStatus.JOINED:
        return
    group = lock_group(member.group_id)
    db.session.refresh(member)
    if member.status != MemberStatus.JOINED:
        return
    move_member(member, MemberStatus.CANCELLED)
    if member.is_leader and group.status == GroupStatus.OPENING:
        move_group(group, GroupStatus.CANCELLED)


def refuse_shipping_before_success(order: Order, **_) -> None:
    """``lines_shipping`` receiver: a group's orders ship only once the group has succeeded."""
    member = member_of(order.id)
    if member is None:
        return
    status = db.session.scalar(sa.select(GroupBuy.status).where(GroupBuy.id == member.group_id))
    if status != GroupStatus.SUCCEEDED:
        raise InvalidState("拼团尚未成团，成团后才能发货")


def refuse_refund_before_success(order: Order, **_) -> None:
    """``refund_requesting`` receiver: a member's money waits for the group (refunded automatically if it fails)."""
    member = member_of(order.id)
    if member is None:
        return
    status = db.session.scalar(sa.select(GroupBuy.status).where(GroupBuy.id == member.group_id))
    if status == GroupStatus.FORMING:
        raise InvalidState("拼团进行中，不能申请退款；未成团将自动全额退款")


def groups_of_orders(_sender=None, order_ids=(), **_) -> dict[int, dict]:
    """``order_groups_requested`` receiver: each group member's order → its group's id and status."""
    rows = db.session.execute(
        sa.select(GroupMember.order_id, GroupBuy.id, GroupBuy.status)
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(GroupMember.order_id.in_(order_ids))
    )
    return {order_id: {"id": group_id, "status": status} for order_id, group_id, status in rows}


def orders_awaiting_group():
    """SELECT of the order ids whose group has not succeeded (not ready to ship)."""
    return (
        sa.select(GroupMember.order_id)
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(GroupBuy.status != GroupStatus.SUCCEEDED)
    )


def _refund_failed(now: datetime):
    """SELECT of the order ids of refunded members of expired groups whose money is still held: the refund failed.

    A failed refund puts the lines back to ``paid`` (``fail_refund``); such an
    order never ships (its group did not succeed), so it is refunded again once
    no refund of it is under way and the last one was asked for
    ``REFUND_RETRY_AFTER`` ago.
    """
    under_way_or_recent = sa.exists().where(
        RefundRequest.order_id == GroupMember.order_id,
        sa.or_(
            RefundRequest.status.in_((RefundRequestStatus.REQUESTED, RefundRequestStatus.APPROVED)),
            RefundRequest.created_at > now - REFUND_RETRY_AFTER,
        ),
    )
    held = sa.exists().where(OrderLine.order_id == GroupMember.order_id, OrderLine.status == LineStatus.PAID)
    return (
        sa.select(GroupMember.order_id)
        .join(GroupBuy, GroupBuy.id == GroupMember.group_id)
        .where(
            GroupBuy.status == GroupStatus.EXPIRED,
            GroupMember.status == MemberStatus.REFUNDED,
            held,
            ~under_way_or_recent,
        )
    )


def refunds_to_retry(now: datetime, limit: int = 100) -> list[int]:
    """Order ids of refunded members of expired groups whose money is still held (see ``_refund_failed``)."""
    return list(db.session.scalars(_refund_failed(now).order_by(GroupMember.order_id).limit(limit)))


def retry_refund(order_id: int, now: datetime | None = None) -> RefundRequest | None:
    """Refund a member of an expired group again after a failed refund (the order locked, then the group).

    Re-checked under the locks, so copies of the job, or a buyer's own
    after-sales request arriving meanwhile, never refund twice.
    """
    order = lock_order(order_id)
    member = member_of(order_id)
    group = lock_group(member.group_id)
    db.session.refresh(member)
    still_failed = _refund_failed(now or utcnow()).where(GroupMember.order_id == order_id)
    if group.status != GroupStatus.EXPIRED or db.session.scalar(still_failed) is None:
        return None
    return _refund_paid_lines(order, back_on_sale=False)


def overdue_groups(now: datetime, limit: int = 100) -> list[int]:
    """Forming groups whose time ran out."""
    return list(
        db.session.scalars(
            sa.select(GroupBuy.id)
            .where(GroupBuy.status == GroupStatus.FORMING, GroupBuy.expires_at <= now)
            .order_by(GroupBuy.id)
            .limit(limit)
        )
    )


def expire_group(group_id: int, now: datetime | None = None) -> bool:
    """Expire one forming group past its deadline and refund each paid member; False when there was nothing to do.

    The group's orders are locked first, then the group (see the module's lock
    order); the status re-checked under the lock makes a second run, or a
    concurrent one, a no-op. Unpaid members are left to the order expiry job
    (their orders are due no later than the group); should one of them be paid
    after all, ``record_member_payment`` refunds it.
    """
    now = now or utcnow()
    order_ids = list(db.session.scalars(sa.select(GroupMember.order_id).where(GroupMember.group_id == group_id)))
    orders = {
        order.id: order
        for order in db.session.scalars(
            sa.select(Order)
            .where(Order.id.in_(order_ids))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    group = lock_group(group_id)
    if group.status != GroupStatus.FORMING or group.expires_at > now:
        return False
    move_group(group, GroupStatus.EXPIRED)
    group.expired_at = now
    db.session.refresh(group, ["members"])
    for member in group.members:
        if member.status == MemberStatus.PAID:
            db.session.refresh(member)
            order = orders.get(member.order_id) or lock_order(member.order_id)
            refund_member(order, member)
    return True
