"""Reconciliation: each gateway's daily bill against our payments, refunds and the ledger.

For one Beijing day, every bill row must match a record of ours (same amount,
same state) and every payment we marked paid or refund we marked successful
that day must appear on the bill; each of those must have its ledger posting
with the gateway clearing entry of the same amount.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from core.clock import BEIJING
from core.extensions import db
from payments.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting
from payments.models import GatewayRefund, Payment
from payments.providers import BillRow, PaymentGatewayError, PaymentRejected, get_alipay, get_provider

GATEWAYS = {"wechat": ("wechat_jsapi",), "alipay": ("alipay_mini", "alipay_wap")}


@dataclass
class Difference:
    gateway: str
    kind: str  # missing_in_records, missing_in_bill, amount, status, ledger
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


def _bill(gateway: str, day: date) -> list[BillRow]:
    provider = get_provider("wechat_jsapi") if gateway == "wechat" else get_alipay()
    return provider.download_bill(day)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), BEIJING)
    return start, start + timedelta(days=1)


def _ledger_gateway_amount(event_filter) -> int | None:
    """The gateway clearing entry of the postings matching ``event_filter`` (None when unposted)."""
    rows = db.session.execute(
        sa.select(LedgerEntry.amount_fen)
        .join(LedgerPosting, LedgerPosting.id == LedgerEntry.posting_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(event_filter, LedgerAccount.owner_type == "gateway")
    ).all()
    return sum(amount for (amount,) in rows) if rows else None


def _check_payment_ledger(report: GatewayReport, payment: Payment) -> None:
    posted = _ledger_gateway_amount(
        sa.and_(LedgerPosting.payment_id == payment.id, LedgerPosting.kind.in_(("payment", "unapplied_payment")))
    )
    if posted is None:
        report.differences.append(Difference(report.gateway, "ledger", payment.out_trade_no, "支付未记账"))
    elif -posted != payment.amount_fen:
        detail = f"账本记 {-posted} 分，支付 {payment.amount_fen} 分"
        report.differences.append(Difference(report.gateway, "ledger", payment.out_trade_no, detail))


def _check_refund_ledger(report: GatewayReport, refund: GatewayRefund) -> None:
    posted = _ledger_gateway_amount(LedgerPosting.gateway_refund_id == refund.id)
    if posted != refund.amount_fen:
        detail = "退款未记账" if posted is None else f"账本记 {posted} 分，退款 {refund.amount_fen} 分"
        report.differences.append(Difference(report.gateway, "ledger", refund.out_refund_no, detail))


def reconcile_gateway(gateway: str, day: date) -> GatewayReport:
    """Compare one gateway's bill for ``day`` with our records and the ledger."""
    report = GatewayReport(gateway)
    channels = GATEWAYS[gateway]
    start, end = _day_bounds(day)
    try:
        rows = _bill(gateway, day)
    except (PaymentGatewayError, PaymentRejected) as exc:
        report.differences.append(Difference(gateway, "bill_unavailable", day.isoformat(), exc.message))
        return report
    billed_payments = {row.out_trade_no: row for row in rows if row.status == "paid"}
    billed_refunds = {row.out_refund_no: row for row in rows if row.status == "refunded"}
    report.bill_payments, report.bill_refunds = len(billed_payments), len(billed_refunds)
    report.paid_fen = sum(row.amount_fen for row in billed_payments.values())
    report.refunded_fen = sum(row.refund_fen for row in billed_refunds.values())
    diff = report.differences.append

    for out_trade_no, row in billed_payments.items():
        payment = db.session.scalar(sa.select(Payment).where(Payment.out_trade_no == out_trade_no))
        if payment is None:
            diff(Difference(gateway, "missing_in_records", out_trade_no, f"账单有支付 {row.amount_fen} 分，本地无记录"))
            continue
        if payment.status != "paid":
            diff(Difference(gateway, "status", out_trade_no, f"账单为已支付，本地为 {payment.status}"))
        if payment.amount_fen != row.amount_fen:
            diff(Difference(gateway, "amount", out_trade_no, f"账单 {row.amount_fen} 分，本地 {payment.amount_fen} 分"))
        if payment.status == "paid":
            _check_payment_ledger(report, payment)
    ours = db.session.scalars(
        sa.select(Payment).where(
            Payment.status == "paid", Payment.channel.in_(channels), Payment.paid_at >= start, Payment.paid_at < end
        )
    )
    for payment in ours:
        if payment.out_trade_no not in billed_payments:
            diff(Difference(gateway, "missing_in_bill", payment.out_trade_no, "本地已支付，账单中没有"))

    for out_refund_no, row in billed_refunds.items():
        refund = db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.out_refund_no == out_refund_no))
        if refund is None:
            diff(Difference(gateway, "missing_in_records", out_refund_no or row.out_trade_no, "账单有退款，本地无记录"))
            continue
        if refund.status != "success":
            diff(Difference(gateway, "status", out_refund_no, f"账单为已退款，本地为 {refund.status}"))
        if refund.amount_fen != row.refund_fen:
            diff(Difference(gateway, "amount", out_refund_no, f"账单 {row.refund_fen} 分，本地 {refund.amount_fen} 分"))
        if refund.status == "success":
            _check_refund_ledger(report, refund)
    our_refunds = db.session.scalars(
        sa.select(GatewayRefund)
        .join(Payment, Payment.id == GatewayRefund.payment_id)
        .where(
            GatewayRefund.status == "success",
            Payment.channel.in_(channels),
            GatewayRefund.completed_at >= start,
            GatewayRefund.completed_at < end,
        )
    )
    for refund in our_refunds:
        if refund.out_refund_no not in billed_refunds:
            diff(Difference(gateway, "missing_in_bill", refund.out_refund_no, "本地已退款，账单中没有"))
    return report


def reconcile_day(day: date) -> list[GatewayReport]:
    """Reports for every gateway."""
    return [reconcile_gateway(gateway, day) for gateway in GATEWAYS]
