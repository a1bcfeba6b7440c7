"""Income the ledger credited to sellers, per order line, net of refund reversals."""

import sqlalchemy as sa

from payments.ledger.models import LedgerAccount, LedgerEntry, OwnerType


def poor_household_income_by_line(lines=None):
    """Subquery (order_line_id, income_fen): the sum of entries on seller accounts for each line.

    ``lines`` (a select of order line ids) restricts it to the lines a report counts: summed over the
    whole ledger it read every seller entry of every line ever paid, whatever the period asked.

    Payment splits credit the seller's pending bucket, refunds reverse it, and
    the hold's release moves it from pending to available (nets to zero), so
    the sum is what the seller kept from the line. Reports count it by the
    household category the seller had when the order was placed.
    """
    statement = (
        sa.select(LedgerEntry.order_line_id, sa.func.sum(LedgerEntry.amount_fen).label("income_fen"))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.owner_type == OwnerType.SELLER, LedgerEntry.order_line_id.is_not(None))
        .group_by(LedgerEntry.order_line_id)
    )
    if lines is not None:
        statement = statement.where(LedgerEntry.order_line_id.in_(lines))
    return statement.subquery()
