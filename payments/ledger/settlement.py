"""The hold: a party's share of a line becomes available SETTLEMENT_HOLD_DAYS after the line completes.

``release_held_funds`` is one batch of a job (``payments.ledger.tasks.release_all``
commits per batch): rows are claimed with SKIP LOCKED so two copies never take
the same line, and a line is released once (``released_at`` is set in the same
transaction as its posting, whose event key is unique).
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.db import utcnow
from core.extensions import db
from payments.ledger.models import Bucket, LineSettlement, PartyType, PostingKind
from payments.ledger.postings import Leg, party_account, post
from shop.orders.models import LineStatus, OrderLine


def hold_cutoff(now: datetime | None = None) -> datetime:
    """Lines completed at or before this moment have served their hold."""
    return (now or utcnow()) - timedelta(days=current_app.config["SETTLEMENT_HOLD_DAYS"])


def release_held_funds(now: datetime | None = None, batch_size: int = 200) -> int:
    """Move one batch of lines past their hold from pending to available; returns how many."""
    now = now or utcnow()
    settlements = db.session.scalars(
        sa.select(LineSettlement)
        .join(OrderLine, OrderLine.id == LineSettlement.order_line_id)
        .where(
            LineSettlement.released_at.is_(None),
            OrderLine.status == LineStatus.COMPLETED,
            OrderLine.completed_at <= hold_cutoff(now),
        )
        .order_by(LineSettlement.order_line_id)
        .limit(batch_size)
        # Lock the order line too: a line a refund request is changing right now is
        # skipped (and re-checked next run) instead of released under it.
        .with_for_update(skip_locked=True, of=(LineSettlement, OrderLine))
        .execution_options(populate_existing=True)
    ).all()
    for settlement in settlements:
        remaining = {
            PartyType.SELLER: (settlement.seller_id, settlement.seller_fen - settlement.reversed_seller_fen),
            PartyType.STATION: (settlement.station_id, settlement.station_fen - settlement.reversed_station_fen),
            PartyType.CENTRE: (settlement.centre_id, settlement.centre_fen - settlement.reversed_centre_fen),
        }
        legs = []
        for party, (party_id, amount) in remaining.items():
            legs.append(Leg(party_account(party, party_id, Bucket.PENDING), -amount, settlement.order_line_id))
            legs.append(Leg(party_account(party, party_id, Bucket.AVAILABLE), amount, settlement.order_line_id))
        if any(leg.amount_fen for leg in legs):
            post(PostingKind.RELEASE, f"release:{settlement.order_line_id}", legs)
        settlement.released_at = now
    db.session.flush()
    return len(settlements)
