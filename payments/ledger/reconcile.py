"""Reconciliation: each gateway's daily bill against our payments, refunds and the ledger.

For one Beijing day, every bill row must match a record of ours (same amount,
same state) and every payment we marked paid or refund we marked successful
that day must appear on the bill; each of those must have its ledger posting
with the gateway clearing entry of the same amount.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import sqlalchemy as sa

from core.clock import BEIJING
from core.extensions import db
from payments.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting, OwnerType, PostingKind
from payments.models import GatewayRefund, GatewayRefundStatus, Payment, PaymentStatus
from payments.providers import (
    GATEWAY_CHANNELS,
    BillRow,
    Channel,
    Gateway,
    PaymentGatewayError,
    PaymentRejected,
    TradeStatus,
    get_alipay,
    get_provider,
)

# Bill rows are looked up this many at a time: a constant number of queries for any
# realistic day, and far below the bind-parameter limits of both engines.
LOOKUP_CHUNK = 1000


class DifferenceKind(StrEnum):
    MISSING_IN_RECORDS = "missing_in_records"  # on the bill, not in our records
    MISSING_IN_BILL = "missing_in_bill"  # in our records, not on the bill
    AMOUNT = "amount"
    STATUS = "status"
    LEDGER = "ledger"  # no posting, or one of another amount
    BILL_UNAVAILABLE = "bill_unavailable"


@dataclass
class Difference:
    gateway: str
    kind: DifferenceKind
    reference: str  # out_trade_no or out_refund_no
    detail: str


@dataclass
class GatewayReport:
    gateway: str
    bill_payments: int = 0
    bill_refunds: int = 0
    paid_fen: int = 0
    refunded_fen: int = 0
    differences: list[Difference] = field(default_factory=list)


def _bill(gateway: Gateway, day: date) -> list[BillRow]:
    provider = get_provider(Channel.WECHAT_JSAPI) if gateway == Gateway.WECHAT else get_alipay()
    return provider.download_bill(day)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), BEIJING)
    return start, start + timedelta(days=1)


def _chunks(values: Iterable, size: int = LOOKUP_CHUNK):
    values = list(values)
    for index in range(0, len(values), size):
        yield values[index : index + size]


def _by_number(model, column, numbers: Iterable[str]) -> dict:
    """Our records whose merchant number is among ``numbers``, by number (one query per chunk)."""
    found = {}
    for chunk in _chunks(number for number in numbers if number):
        found.update(
            {
                getattr(record, column.key): record
                for record in db.session.scalars(sa.select(model).where(column.in_(chunk)))
            }
        )
    return found


def _gateway_amounts(key_column, ids: Iterable[int], *extra) -> dict[int, int]:
    """Per payment (or refund) id: the sum of its postings' gateway clearing entries; absent when unposted."""
    amounts: dict[int, int] = {}
    for chunk in _chunks(ids):
        rows = db.session.execute(
            sa.select(key_column, sa.func.sum(LedgerEntry.amount_fen))
            .join(LedgerPosting, LedgerPosting.id == LedgerEntry.posting_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .where(key_column.in_(chunk), LedgerAccount.owner_type == OwnerType.GATEWAY, *extra)
            .group_by(key_column)
        ).all()
        amounts.update({key: int(total) for key, total in rows})
    return amounts


def _payment_differences(gateway: Gateway, billed: dict[str, BillRow]) -> list[Difference]:
    """Each billed payment against our payment: known, paid, same amount, posted with that amount."""
    K, found = DifferenceKind, []
    payments = _by_number(Payment, Payment.out_trade_no, billed)
    postings = _gateway_amounts(
        LedgerPosting.payment_id,
        [p.id for p in payments.values() if p.status == PaymentStatus.PAID],
        LedgerPosting.kind.in_((PostingKind.PAYMENT, PostingKind.UNAPPLIED_PAYMENT)),
    )
    for out_trade_no, row in billed.items():
        payment = payments.get(out_trade_no)
        if payment is None:
            detail = f"账单有支付 {row.amount_fen} 分，本地无记录"
            found.append(Difference(gateway, K.MISSING_IN_RECORDS, out_trade_no, detail))
            continue
        if payment.status != PaymentStatus.PAID:
            found.append(Difference(gateway, K.STATUS, out_trade_no, f"账单为已支付，本地为 {payment.status}"))
        if payment.amount_fen != row.amount_fen:
            detail = f"账单 {row.amount_fen} 分，本地 {payment.amount_fen} 分"
            found.append(Difference(gateway, K.AMOUNT, out_trade_no, detail))
        if payment.status == PaymentStatus.PAID:
            posted = postings.get(payment.id)
            if posted is None:
                found.append(Difference(gateway, K.LEDGER, out_trade_no, "支付未记账"))
            elif -posted != payment.amount_fen:
                detail = f"账本记 {-posted} 分，支付 {payment.amount_fen} 分"
                found.append(Difference(gateway, K.LEDGER, out_trade_no, detail))
    return found


def _refund_differences(gateway: Gateway, billed: dict[str, BillRow]) -> list[Difference]:
    """Each billed refund against our refund: known, successful, same amount, posted with that amount."""
    K, found = DifferenceKind, []
    refunds = _by_number(GatewayRefund, GatewayRefund.out_refund_no, billed)
    postings = _gateway_amounts(
        LedgerPosting.gateway_refund_id, [r.id for r in refunds.values() if r.status == GatewayRefundStatus.SUCCESS]
    )
    for out_refund_no, row in billed.items():
        refund = refunds.get(out_refund_no)
        if refund is None:
            reference = out_refund_no or row.out_trade_no
            found.append(Difference(gateway, K.MISSING_IN_RECORDS, reference, "账单有退款，本地无记录"))
            continue
        if refund.status != GatewayRefundStatus.SUCCESS:
            found.append(Difference(gateway, K.STATUS, out_refund_no, f"账单为已退款，本地为 {refund.status}"))
        if refund.amount_fen != row.refund_fen:
            detail = f"账单 {row.refund_fen} 分，本地 {refund.amount_fen} 分"
            found.append(Difference(gateway, K.AMOUNT, out_refund_no, detail))
        if refund.status == GatewayRefundStatus.SUCCESS:
            posted = postings.get(refund.id)
            if posted != refund.amount_fen:
                detail = "退款未记账" if posted is None else f"账本记 {posted} 分，退款 {refund.amount_fen} 分"
                found.append(Difference(gateway, K.LEDGER, out_refund_no, detail))
    return found


def _unbilled_payments(gateway: Gateway, day: date, billed: dict[str, BillRow]) -> list[Difference]:
    """Payments we marked paid that day through the gateway's channels, missing from the bill."""
    start, end = _day_bounds(day)
    paid = db.session.scalars(
        sa.select(Payment.out_trade_no).where(
            Payment.status == PaymentStatus.PAID,
            Payment.channel.in_(GATEWAY_CHANNELS[Gateway(gateway)]),
            Payment.paid_at >= start,
            Payment.paid_at < end,
        )
    )
    return [
        Difference(gateway, DifferenceKind.MISSING_IN_BILL, out_trade_no, "本地已支付，账单中没有")
        for out_trade_no in paid
        if out_trade_no not in billed
    ]


def _unbilled_refunds(gateway: Gateway, day: date, billed: dict[str, BillRow]) -> list[Difference]:
    """Refunds we marked successful that day through the gateway's channels, missing from the bill."""
    start, end = _day_bounds(day)
    refunded = db.session.scalars(
        sa.select(GatewayRefund.out_refund_no)
        .join(Payment, Payment.id == GatewayRefund.payment_id)
        .where(
            GatewayRefund.status == GatewayRefundStatus.SUCCESS,
            Payment.channel.in_(GATEWAY_CHANNELS[Gateway(gateway)]),
            GatewayRefund.completed_at >= start,
            GatewayRefund.completed_at < end,
        )
    )
    return [
        Difference(gateway, DifferenceKind.MISSING_IN_BILL, out_refund_no, "本地已退款，账单中没有")
        for out_refund_no in refunded
        if out_refund_no not in billed
    ]


def reconcile_gateway(gateway: Gateway, day: date) -> GatewayReport:
    """Compare one gateway's bill for ``day`` with our records and the ledger (a fixed number of queries)."""
    report = GatewayReport(gateway)
    try:
        rows = _bill(gateway, day)
    except (PaymentGatewayError, PaymentRejected) as exc:
        report.differences.append(Difference(gateway, DifferenceKind.BILL_UNAVAILABLE, day.isoformat(), exc.message))
        return report
    billed_payments = {row.out_trade_no: row for row in rows if row.status == TradeStatus.PAID}
    billed_refunds = {row.out_refund_no: row for row in rows if row.status == TradeStatus.REFUNDED}
    report.bill_payments, report.bill_refunds = len(billed_payments), len(billed_refunds)
    report.paid_fen = sum(row.amount_fen for row in billed_payments.values())
    report.refunded_fen = sum(row.refund_fen for row in billed_refunds.values())
    report.differences = (
        _payment_differences(gateway, billed_payments)
        + _unbilled_payments(gateway, day, billed_payments)
        + _refund_differences(gateway, billed_refunds)
        + _unbilled_refunds(gateway, day, billed_refunds)
    )
    return report


def reconcile_day(day: date) -> list[GatewayReport]:
    """Reports for every gateway."""
    return [reconcile_gateway(gateway, day) for gateway in Gateway]
