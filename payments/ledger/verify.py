"""Checks that the ledger holds together (``flask ledger verify``; CI runs it through a test)."""

import sqlalchemy as sa

from core.extensions import db
from payments.ledger.models import (
    OPEN_PAYOUT_STATUSES,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    LineSettlement,
    OwnerType,
    PartyType,
    Payout,
    PostingKind,
)
from shop.orders.models import OrderLine

# Accounts whose balance is money owed to someone: never below zero.
NON_NEGATIVE = tuple(owner for owner in OwnerType if owner is not OwnerType.GATEWAY)


def verify_ledger() -> list[str]:
    """Every problem found, in words; an empty list means the books balance."""
    problems = []
    unbalanced = db.session.execute(
        sa.select(LedgerPosting.id, LedgerPosting.event_key, sa.func.sum(LedgerEntry.amount_fen))
        .join(LedgerEntry, LedgerEntry.posting_id == LedgerPosting.id)
        .group_by(LedgerPosting.id, LedgerPosting.event_key)
        .having(sa.func.sum(LedgerEntry.amount_fen) != 0)
    ).all()
    problems += [f"posting {pid} ({key}) is unbalanced by {total} fen" for pid, key, total in unbalanced]
    entry_counts = (
        sa.select(LedgerEntry.posting_id, sa.func.count().label("n")).group_by(LedgerEntry.posting_id).subquery()
    )
    thin = db.session.execute(
        sa.select(LedgerPosting.id, LedgerPosting.event_key)
        .outerjoin(entry_counts, entry_counts.c.posting_id == LedgerPosting.id)
        .where(sa.func.coalesce(entry_counts.c.n, 0) < 2)
    ).all()
    problems += [f"posting {pid} ({key}) has fewer than two entries" for pid, key in thin]
    zero = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry).where(LedgerEntry.amount_fen == 0))
    if zero:
        problems.append(f"{zero} entries of zero fen")
    negative = db.session.execute(
        sa.select(LedgerAccount, sa.func.sum(LedgerEntry.amount_fen))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.owner_type.in_(NON_NEGATIVE))
        .group_by(LedgerAccount.id)
        .having(sa.func.sum(LedgerEntry.amount_fen) < 0)
    ).all()
    problems += [f"account {acc.label} is negative: {total} fen" for acc, total in negative]
    problems += _line_problems()
    problems += _payout_problems()
    return problems


def _line_problems() -> list[str]:
    """Per line: paid − refunded = what seller, station and centre hold for it, net of reversals."""
    net = (
        sa.select(LedgerEntry.order_line_id, sa.func.sum(LedgerEntry.amount_fen).label("net"))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.owner_type.in_(tuple(PartyType)), LedgerEntry.order_line_id.is_not(None))
        .group_by(LedgerEntry.order_line_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(LineSettlement, OrderLine.amount_fen, OrderLine.refunded_fen, sa.func.coalesce(net.c.net, 0))
        .join(OrderLine, OrderLine.id == LineSettlement.order_line_id)
        .outerjoin(net, net.c.order_line_id == LineSettlement.order_line_id)
    ).all()
    problems = []
    for settlement, amount, refunded, held in rows:
        credited = settlement.seller_fen + settlement.station_fen + settlement.centre_fen
        reversed_ = settlement.reversed_seller_fen + settlement.reversed_station_fen + settlement.reversed_centre_fen
        if credited != amount:
            problems.append(f"line {settlement.order_line_id}: credited {credited} fen of {amount}")
        if held != credited - reversed_ or held != amount - refunded:
            problems.append(
                f"line {settlement.order_line_id}: parties hold {held} fen, "
                f"paid − refunded is {amount - refunded}, credits − reversals {credited - reversed_}"
            )
    return problems


def _payout_problems() -> list[str]:
    """Payout clearing holds exactly the unfinished payouts; every payout has its posting."""
    clearing = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.owner_type == OwnerType.PAYOUT_CLEARING)
    )
    open_total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payout.amount_fen), 0)).where(Payout.status.in_(OPEN_PAYOUT_STATUSES))
    )
    problems = []
    if clearing != open_total:
        problems.append(f"payout clearing holds {clearing} fen but unfinished payouts total {open_total}")
    unposted = db.session.scalars(
        sa.select(Payout.id).where(
            ~sa.exists().where(LedgerPosting.payout_id == Payout.id, LedgerPosting.kind == PostingKind.PAYOUT)
        )
    ).all()
    problems += [f"payout {pid} has no posting" for pid in unposted]
    return problems
