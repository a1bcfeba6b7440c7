"""对公转账: the county centre records a received bank transfer; the order is paid exactly once.

Every transfer first lands in the ledger's suspense account (bucket
``bank_transfer``) against the ``bank_transfer`` clearing account. Once the
money held for a payable order reaches its total, a ``bank_transfer`` Payment
is opened and applied through ``payments.applying.apply_success`` — the path
gateway notifications take — so the order is marked paid under its row lock and
the ledger splits the lines exactly as for WeChat or Alipay money. What is left
over (an excess), not enough yet (short), or arrived for an order that can no
longer take it (late, cancelled, already paid) stays in suspense until the
centre returns it. The bank serial number is unique: recording the same
transfer twice changes nothing.
"""

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.auth import scope_for
from core.clock import beijing_today
from core.db import utcnow
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from institutions.models import BankTransfer, BankTransferStatus, PaymentMethod, UnitOrder
from payments.applying import apply_success
from payments.ledger.postings import Leg, account, gateway_account, post
from payments.models import ApplyOutcome, GatewayRefund, GatewayRefundStatus, Payment
from payments.providers import Channel, RefundResult, RefundStatus
from payments.refunds import apply_refund_result
from shop.images import process_image, read_upload
from shop.orders.fulfilment import lock_order
from shop.orders.models import Order, OrderLine, OrderStatus
from shop.orders.states import InvalidState
from shop.storage import delete_after_commit, save_in_transaction
from villages.models import Centre

RECORDERS = (Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)


def suspense_account():
    return account("suspense", 0, Channel.BANK_TRANSFER)


def _unit_order_by_reference(reference: str) -> UnitOrder:
    unit_order = db.session.scalar(sa.select(UnitOrder).where(UnitOrder.payment_reference == reference.strip().upper()))
    if unit_order is None:
        raise ValidationFailed.field("payment_reference", "付款参考号不存在")
    return unit_order


def _ensure_recorder(actor: User, order: Order) -> None:
    """The admin of a county whose centre sells lines of the order (or a platform admin)."""
    scope = scope_for(actor, *RECORDERS)
    counties = db.session.scalars(
        sa.select(Centre.county_code).where(Centre.id.in_({line.centre_id for line in order.lines}))
    ).all()
    if not any(scope.covers(code) for code in counties):
        raise Forbidden("只能登记本县电商中心收到的转账")


def _by_serial(serial: str):
    """The transfer of a bank serial number, however its letters were cased when it was recorded."""
    return sa.select(BankTransfer).where(sa.func.upper(BankTransfer.bank_serial_no) == serial.upper())


def _replayed(existing: BankTransfer, order_id: int, data: dict) -> BankTransfer:
    """The serial is already recorded: the same transfer again is a no-op, any other use of it a 409."""
    same = (
        existing.order_id == order_id
        and existing.amount_fen == data["amount_fen"]
        and existing.received_on == data["received_on"]
        and existing.payer_account_name == data["payer_account_name"]
    )
    if not same:
        raise Conflict("该银行流水号已登记为另一笔转账", details={"bank_transfer_id": existing.id})
    return existing


def refuse_online_payment(order: Order, **_) -> None:
    """``shop.signals.payment_opening`` receiver: a unit order meant for 对公转账 is paid by transfer only."""
    unit_order = db.session.get(UnitOrder, order.id)
    if unit_order is not None and unit_order.payment_method == PaymentMethod.BANK_TRANSFER:
        raise InvalidState(
            "该单位订单须按付款参考号对公转账，不能在线支付",
            details={"payment_method": unit_order.payment_method, "payment_reference": unit_order.payment_reference},
        )


def _hold_reason(order: Order) -> str | None:
    """Why an order cannot take money now, or None when it can."""
    if order.status == OrderStatus.PENDING_PAYMENT and not order.is_past_deadline(utcnow()):
        return None
    if order.status == OrderStatus.PENDING_PAYMENT or order.cancel_reason == "expired":
        return "late"
    return "order_cancelled" if order.status == OrderStatus.CANCELLED else "order_paid"


def record_transfer(actor: User, data: dict, receipt) -> tuple[BankTransfer, bool]:
    """Record a received transfer; returns it and whether it is new (False: already recorded)."""
    scope_for(actor, *RECORDERS)  # the role first: to anyone else a reference is neither known nor unknown
    unit_order = _unit_order_by_reference(data["payment_reference"])
    if unit_order.payment_method != PaymentMethod.BANK_TRANSFER:
        raise ValidationFailed.field("payment_reference", "该订单不是对公转账订单")
    if data["received_on"] > beijing_today():
        raise ValidationFailed.field("received_on", "到账日期不能晚于今天")
    order = lock_order(unit_order.order_id)
    _ensure_recorder(actor, order)
    serial = data["bank_serial_no"]  # normalised by the schema (trimmed, upper case)
    existing = db.session.scalar(_by_serial(serial).with_for_update())
    if existing is not None:
        return _replayed(existing, order.id, data), False
    image = process_image(read_upload(receipt.stream))
    key = f"transfers/{uuid.uuid4().hex}.jpg"
    save_in_transaction(key, image.data, "image/jpeg")
    transfer = BankTransfer(
        order_id=order.id,
        amount_fen=data["amount_fen"],
        payer_account_name=data["payer_account_name"],
        bank_serial_no=serial,
        received_on=data["received_on"],
        receipt_image_key=key,
        status=BankTransferStatus.HELD,
        held_fen=data["amount_fen"],
        recorded_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(transfer)
    except IntegrityError:
        # Another request recorded this serial and committed while we waited on the unique index.
        winner = db.session.scalar(_by_serial(serial).execution_options(populate_existing=True))
        delete_after_commit(key)  # a replay keeps the winner's receipt, not this copy
        return _replayed(winner, order.id, data), False
    legs = [
        Leg(suspense_account(), transfer.amount_fen),
        Leg(gateway_account(Channel.BANK_TRANSFER), -transfer.amount_fen),
    ]
    post("bank_transfer_received", f"bank_transfer:{transfer.id}", legs)
    reason = _hold_reason(order)
    if reason is not None:
        transfer.hold_reason = reason
    else:
        _apply_if_covered(order, transfer)
    db.session.flush()
    return transfer, True


def _apply_if_covered(order: Order, latest: BankTransfer) -> None:
    """Pay the order once what is held for it reaches its total; the rest stays held."""
    held = list(
        db.session.scalars(
            sa.select(BankTransfer)
            .where(BankTransfer.order_id == order.id, BankTransfer.status == BankTransferStatus.HELD)
            .order_by(BankTransfer.id)
            .with_for_update()
        )
    )
    total_held = sum(transfer.held_fen for transfer in held)
    if total_held < order.total_fen:
        for transfer in held:
            transfer.hold_reason = "short"
        return
    payment = Payment(
        order_id=order.id,
        buyer_id=order.buyer_id,
        channel=Channel.BANK_TRANSFER,
        out_trade_no=f"BT{order.id:010d}{latest.id:010d}",
        amount_fen=order.total_fen,
        transaction_id=latest.bank_serial_no,
        params={"payment_reference": f"ZZDW{order.id:08d}"},
    )
    db.session.add(payment)
    db.session.flush()
    legs = [Leg(suspense_account(), -order.total_fen), Leg(gateway_account(Channel.BANK_TRANSFER), order.total_fen)]
    post("bank_transfer_applied", f"bank_transfer_applied:{payment.id}", legs, payment_id=payment.id)
    paid_at = utcnow()
    outcome = apply_success(payment, latest.bank_serial_no, paid_at)
    if outcome != ApplyOutcome.APPLIED:  # the order lock is held and the order was checked payable
        raise Conflict(f"转账未能入账：{outcome}")
    to_apply = order.total_fen
    for transfer in held:
        part = min(transfer.held_fen, to_apply)
        transfer.applied_fen += part
        transfer.held_fen -= part
        to_apply -= part
        transfer.payment_id = payment.id
        transfer.status = BankTransferStatus.HELD if transfer.held_fen else BankTransferStatus.APPLIED
        transfer.hold_reason = "excess" if transfer.held_fen else None


def return_held(actor: User, transfer_id: int, return_serial_no: str) -> BankTransfer:
    """The centre sent the held money back to the payer: take it out of suspense."""
    transfer = db.session.scalar(
        sa.select(BankTransfer)
        .where(BankTransfer.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if transfer is None:
        raise NotFound("转账记录不存在")
    order = lock_order(transfer.order_id)
    _ensure_recorder(actor, order)
    if transfer.status != BankTransferStatus.HELD:
        if (transfer.return_serial_no or "").upper() == return_serial_no.upper():
            return transfer  # the same return recorded again
        raise Conflict("该转账没有待退回的款项")
    clash = db.session.scalar(
        sa.select(BankTransfer.id).where(sa.func.upper(BankTransfer.return_serial_no) == return_serial_no.upper())
    )
    if clash is not None:
        raise ValidationFailed.field("return_serial_no", "该退款流水号已使用")
    amount = transfer.held_fen
    legs = [Leg(suspense_account(), -amount), Leg(gateway_account(Channel.BANK_TRANSFER), amount)]
    post("bank_transfer_returned", f"bank_transfer_returned:{transfer.id}", legs)
    transfer.returned_fen += amount
    transfer.held_fen = 0
    transfer.status = BankTransferStatus.RETURNED
    transfer.return_serial_no, transfer.returned_by_id, transfer.returned_at = return_serial_no, actor.id, utcnow()
    db.session.flush()
    return transfer


def transfers_for(actor: User, status: str | None, order_id: int | None):
    """Transfers the caller's county recorded (platform admins: all), newest first."""
    scope = scope_for(actor, *RECORDERS)
    statement = sa.select(BankTransfer).order_by(BankTransfer.id.desc())
    if not scope.unrestricted:
        mine = (
            sa.select(OrderLine.order_id)
            .join(Centre, Centre.id == OrderLine.centre_id)
            .where(scope.filter(Centre.county_code))
        )
        statement = statement.where(BankTransfer.order_id.in_(mine))
    if status:
        statement = statement.where(BankTransfer.status == status)
    if order_id:
        statement = statement.where(BankTransfer.order_id == order_id)
    return statement


def transfer_for_reader(actor: User, transfer_id: int) -> BankTransfer:
    """One transfer the caller's county recorded (404 otherwise, as for any record out of reach)."""
    transfer = db.session.scalar(transfers_for(actor, None, None).where(BankTransfer.id == transfer_id))
    if transfer is None:
        raise NotFound("转账记录不存在")
    return transfer


# Refunds of orders paid by transfer ----------------------------------------------


def bank_refunds_for(actor: User, status: str | None):
    """Approved refunds of orders paid by transfer, for the county centres that send them back."""
    scope = scope_for(actor, *RECORDERS)
    statement = (
        sa.select(GatewayRefund)
        .join(Payment, Payment.id == GatewayRefund.payment_id)
        .where(Payment.channel == Channel.BANK_TRANSFER)
        .order_by(GatewayRefund.id.desc())
    )
    if not scope.unrestricted:
        mine = (
            sa.select(OrderLine.order_id)
            .join(Centre, Centre.id == OrderLine.centre_id)
            .where(scope.filter(Centre.county_code))
        )
        statement = statement.where(Payment.order_id.in_(mine))
    if status:
        statement = statement.where(GatewayRefund.status == status)
    return statement


def record_refund_sent(actor: User, refund_id: int, bank_serial_no: str) -> GatewayRefund:
    """The centre transferred an approved refund back to the unit: settle it as a gateway would."""
    refund = db.session.scalar(
        sa.select(GatewayRefund)
        .where(GatewayRefund.id == refund_id)
        .with_for_update(of=GatewayRefund)
        .execution_options(populate_existing=True)
    )
    if refund is None or refund.payment.channel != Channel.BANK_TRANSFER:
        raise NotFound("退款记录不存在")
    _ensure_recorder(actor, lock_order(refund.payment.order_id))
    if refund.status == GatewayRefundStatus.SUCCESS:
        if (refund.gateway_refund_id or "").upper() == bank_serial_no.upper():
            return refund  # the same transfer recorded again
        raise Conflict("该退款已登记为另一笔转账")
    clash = db.session.scalar(
        sa.select(GatewayRefund.id).where(sa.func.upper(GatewayRefund.gateway_refund_id) == bank_serial_no.upper())
    )
    if clash is not None:
        raise ValidationFailed.field("bank_serial_no", "该银行流水号已登记")
    apply_refund_result(refund, RefundResult(refund.out_refund_no, RefundStatus.SUCCESS, refund_id=bank_serial_no))
    db.session.flush()
    return refund
