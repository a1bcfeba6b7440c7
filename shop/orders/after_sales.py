"""After-sales: buyers ask for refunds of paid lines; stations or counties decide.

The money itself moves in the payments package, which listens for
``refund_approved`` and reports back with ``complete_refund`` / ``fail_refund``.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.auth import scope_for
from core.db import utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from shop.models import ReviewDecision
from shop.orders.fulfilment import buyers_order, lock_order
from shop.orders.models import LineStatus, RefundRequest, RefundRequestLine, RefundRequestStatus
from shop.orders.states import InvalidState, move_line, sync_order
from shop.signals import refund_approved, refund_requesting
from villages.models import Station

REFUNDABLE = (LineStatus.PAID, LineStatus.SHIPPED, LineStatus.COMPLETED)
R = RefundRequestStatus


def settlement_hold_over(line, now: datetime | None = None) -> bool:
    """The line completed more than SETTLEMENT_HOLD_DAYS ago: its money has been released to the sellers."""
    hold = timedelta(days=current_app.config["SETTLEMENT_HOLD_DAYS"])
    return line.completed_at is not None and line.completed_at <= (now or utcnow()) - hold


def request_refund(buyer: User, order_id: int, line_ids: list[int], reason: str) -> RefundRequest:
    """Ask for the given lines' money back; the lines become ``refunding``."""
    order = buyers_order(buyer, order_id, lock=True)
    by_id = {line.id: line for line in order.lines}
    unknown = sorted(set(line_ids) - set(by_id))
    if unknown or not line_ids or len(set(line_ids)) != len(line_ids):
        raise ValidationFailed.field("line_ids", "请选择本订单中的商品，且不要重复")
    lines = [by_id[line_id] for line_id in sorted(set(line_ids))]
    blocked = [line.id for line in lines if line.status not in REFUNDABLE]
    if blocked:
        raise InvalidState("所选商品当前不能申请退款", details={"line_ids": blocked})
    settled = [line.id for line in lines if line.status == LineStatus.COMPLETED and settlement_hold_over(line)]
    if settled:
        days = current_app.config["SETTLEMENT_HOLD_DAYS"]
        raise InvalidState(
            f"确认收货已超过 {days} 天，货款已结算给卖家，不能在线申请退款，请联系服务站协商处理",
            details={"line_ids": settled},
        )
    refund_requesting.send(order)
    refund = RefundRequest(
        order_id=order.id,
        buyer_id=buyer.id,
        reason=reason,
        amount_fen=sum(line.amount_fen - line.refunded_fen for line in lines),
        lines=[RefundRequestLine(line_id=line.id, amount_fen=line.amount_fen - line.refunded_fen) for line in lines],
    )
    db.session.add(refund)
    for line in lines:
        move_line(line, LineStatus.REFUNDING, buyer, f"申请退款：{reason}")
    sync_order(order, buyer, "申请退款")
    db.session.flush()
    return refund


def _refund(refund_id: int) -> RefundRequest:
    refund = db.session.get(RefundRequest, refund_id)
    if refund is None:
        raise NotFound("退款申请不存在")
    return refund


def _check_decider(actor: User, refund: RefundRequest) -> None:
    """The station manager of every line's station, or a county admin over them."""
    scope = scope_for(actor, Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
    station_ids = {item.line.station_id for item in refund.lines}
    stations = db.session.execute(sa.select(Station.id, Station.village_code).where(Station.id.in_(station_ids))).all()
    mine = [sid for sid, village in stations if scope.covers(village) and scope.covers_station(sid)]
    if not mine:
        raise NotFound("退款申请不存在")
    if len(mine) != len(station_ids):
        raise Forbidden("该退款申请含其他服务站或其他县的商品，请由上级处理")


def decide_refund(actor: User, refund_id: int, decision: str, reason: str | None) -> RefundRequest:
    """Approve (money goes back through the gateway) or reject (lines return to where they were)."""
    refund = _refund(refund_id)
    _check_decider(actor, refund)
    order = lock_order(refund.order_id)
    db.session.refresh(refund)  # a concurrent decision may have committed while we waited for the lock
    if refund.status != R.REQUESTED:
        raise InvalidState("该退款申请已处理")
    refund.decided_by_id, refund.decided_at, refund.decision_reason = actor.id, utcnow(), reason
    if decision == ReviewDecision.APPROVE:
        refund.status = R.APPROVED
        refund_approved.send(refund)
    else:
        if not reason:
            raise ValidationFailed.field("reason", "拒绝退款须说明理由")
        refund.status = R.REJECTED
        for item in refund.lines:
            move_line(item.line, item.line.status_before_refund, actor, f"退款被拒绝：{reason}")
        sync_order(order, actor, "退款被拒绝")
    db.session.flush()
    return refund


def complete_refund(refund: RefundRequest) -> None:
    """The gateway returned the money (called by payments under the order's lock)."""
    if refund.status == R.REFUNDED:
        return
    if refund.status != R.APPROVED:
        raise InvalidState("退款申请未获批准")
    refund.status, refund.refunded_at = R.REFUNDED, utcnow()
    for item in refund.lines:
        item.line.refunded_fen += item.amount_fen
        move_line(item.line, LineStatus.REFUNDED, None, "退款已到账")
    sync_order(refund.order, None, "退款已到账")


def fail_refund(refund: RefundRequest, reason: str) -> None:
    """The gateway refused the refund: record why and put the lines back."""
    if refund.status != R.APPROVED:
        return
    refund.status, refund.failure_reason = R.FAILED, reason[:200]
    for item in refund.lines:
        move_line(item.line, item.line.status_before_refund, None, f"退款失败：{reason}")
    sync_order(refund.order, None, "退款失败")


def visible_refunds(actor: User, refund_id: int) -> RefundRequest:
    """A refund request for its buyer, or for staff over its lines."""
    refund = _refund(refund_id)
    if refund.buyer_id == actor.id:
        return refund
    readers = (Role.STATION_MANAGER, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN, Role.POVERTY_OFFICE)
    if not actor.has_role(*readers):
        raise NotFound("退款申请不存在")  # another buyer's request: hidden like their order, not 403
    scope = scope_for(actor, *readers)
    station_ids = {item.line.station_id for item in refund.lines}
    villages = db.session.scalars(sa.select(Station.village_code).where(Station.id.in_(station_ids))).all()
    if not any(scope.covers(code) for code in villages) or not any(
        scope.covers_station(station_id) for station_id in station_ids
    ):
        raise NotFound("退款申请不存在")
    return refund
