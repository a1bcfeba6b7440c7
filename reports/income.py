"""Income the ledger credited to sellers, per order line, net of refund reversals."""

import sqlalchemy as sa

from payments.ledger.models import LedgerAccount, LedgerEntry, OwnerType


def poor_household_income_by_line():
    """Subquery (order_line_id, income_fen): the sum of entries on seller accounts for each line.

    Payment splits credit the seller's pending bucket, refunds reverse it, and
    the hold's release moves it from pending to available (nets to zero), so
    the sum is what the seller kept from the line. Reports count it by the
    household category the seller had when the order was placed.
    """
    return (
        sa.select(LedgerEntry.order_line_id, sa.func.sum(LedgerEntry.amount_fen).label("income_fen"))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.owner_type == OwnerType.SELLER, LedgerEntry.order_line_id.is_not(None))
        .group_by(LedgerEntry.order_line_id)
        .subquery()
    )
