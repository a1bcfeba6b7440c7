"""Posting to the ledger: balanced entries in the transaction of the event that causes them.

``post`` refuses an unbalanced set and does nothing when the event was already
posted (``event_key`` is unique), so a replayed notification never credits
twice. The functions below turn payments, refunds and money that could not be
applied into postings; ``settlement`` releases holds and ``payouts`` pays out.
"""

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.db import utcnow
from core.extensions import db
from payments.ledger.models import (
    Bucket,
    LedgerAccount,
    LedgerEntry,
    LedgerPosting,
    LineSettlement,
    OwnerType,
    PartyType,
    PostingKind,
)
from payments.ledger.split import Split, line_split_columns, split_refund
from payments.models import GatewayRefund, Payment
from shop.orders.models import LineStatus, Order, OrderLine

log = logging.getLogger(__name__)

PARTIES = tuple(PartyType)


class UnbalancedPosting(ValueError):
    """A posting whose entries do not sum to zero (a bug, never a user error)."""


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount_fen: int
    order_line_id: int | None = None


def account(owner_type: str, owner_id: int = 0, bucket: str = Bucket.MAIN) -> LedgerAccount:
    """The account, created on first use (safe against a concurrent first use)."""
    lookup = sa.select(LedgerAccount).where(
        LedgerAccount.owner_type == owner_type, LedgerAccount.owner_id == owner_id, LedgerAccount.bucket == bucket
    )
    found = db.session.scalar(lookup)
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            found = LedgerAccount(owner_type=owner_type, owner_id=owner_id, bucket=bucket)
            db.session.add(found)
    except IntegrityError:
        found = db.session.scalar(lookup)
    return found


AccountKey = tuple[str, int, str]  # owner_type, owner_id, bucket


def _insert_ignoring_duplicates(table: sa.Table):
    """``INSERT … ON CONFLICT DO NOTHING`` in the session's dialect (PostgreSQL or SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def accounts(keys: set[AccountKey]) -> dict[AccountKey, LedgerAccount]:
    """Many accounts in one statement, the missing ones created (safe against a concurrent first use).

    One ``SELECT`` when every account exists; otherwise one ``INSERT … ON CONFLICT DO NOTHING`` for
    the missing and one more ``SELECT`` for them: a bounded number of statements however many lines.
    """

    def lookup(wanted: set[AccountKey]) -> dict[AccountKey, LedgerAccount]:
        if not wanted:
            return {}
        found = db.session.scalars(
            sa.select(LedgerAccount).where(
                sa.tuple_(LedgerAccount.owner_type, LedgerAccount.owner_id, LedgerAccount.bucket).in_(sorted(wanted))
            )
        )
        return {(record.owner_type, record.owner_id, record.bucket): record for record in found}

    keys = {(str(owner_type), owner_id, str(bucket)) for owner_type, owner_id, bucket in keys}
    resolved = lookup(keys)
    missing = keys - resolved.keys()
    if missing:
        now = utcnow()
        db.session.execute(
            _insert_ignoring_duplicates(LedgerAccount.__table__),
            [
                {"owner_type": owner_type, "owner_id": owner_id, "bucket": bucket, "created_at": now}
                for owner_type, owner_id, bucket in sorted(missing)
            ],
        )
        resolved |= lookup(missing)
    return resolved


def gateway_account(channel: str) -> LedgerAccount:
    return account(OwnerType.GATEWAY, 0, channel)


def party_account(party_type: str, party_id: int, bucket: str) -> LedgerAccount:
    return account(party_type, party_id, bucket)


def post(
    kind: str,
    event_key: str,
    legs: list[Leg],
    *,
    line_legs: sa.Select | None = None,
    line_legs_fen: int = 0,
    **refs,
) -> LedgerPosting | None:
    """Write one balanced posting; None when ``event_key`` was posted before.

    ``line_legs`` selects further legs in the database (``account_id``, ``amount_fen``,
    ``order_line_id``, none of them zero) that together come to ``line_legs_fen``: a large order's
    legs go in with one ``INSERT … SELECT`` rather than a row each.
    """
    if db.session.scalar(sa.select(LedgerPosting.id).where(LedgerPosting.event_key == event_key)) is not None:
        return None
    legs = [leg for leg in legs if leg.amount_fen != 0]
    if any(not isinstance(leg.amount_fen, int) or isinstance(leg.amount_fen, bool) for leg in legs):
        raise UnbalancedPosting(f"{event_key}: amounts must be integer fen")
    if len(legs) + (line_legs is not None) < 2 or sum(leg.amount_fen for leg in legs) + line_legs_fen != 0:
        raise UnbalancedPosting(f"{event_key}: entries {[leg.amount_fen for leg in legs]} do not balance")
    posting = LedgerPosting(kind=kind, event_key=event_key, **refs)
    db.session.add(posting)
    db.session.flush()
    entries = LedgerEntry.__table__
    if line_legs is not None:
        selected = line_legs.subquery()
        db.session.execute(
            entries.insert().from_select(
                ["posting_id", "account_id", "amount_fen", "order_line_id"],
                sa.select(
                    sa.literal(posting.id, sa.Integer),
                    selected.c.account_id,
                    selected.c.amount_fen,
                    selected.c.order_line_id,
                ),
            )
        )
    if legs:
        db.session.execute(
            entries.insert(),
            [
                {
                    "posting_id": posting.id,
                    "account_id": leg.account.id,
                    "amount_fen": leg.amount_fen,
                    "order_line_id": leg.order_line_id,
                }
                for leg in legs
            ],
        )
    return posting


def _party_ids(line: OrderLine | LineSettlement) -> dict[str, int]:
    return {PartyType.SELLER: line.seller_id, PartyType.STATION: line.station_id, PartyType.CENTRE: line.centre_id}


def _amounts(split: Split) -> dict[str, int]:
    return {
        PartyType.SELLER: split.seller_fen,
        PartyType.STATION: split.station_fen,
        PartyType.CENTRE: split.centre_fen,
    }


def credited(settlement: LineSettlement) -> Split:
    return Split(settlement.seller_fen, settlement.station_fen, settlement.centre_fen)


def reversed_so_far(settlement: LineSettlement) -> Split:
    return Split(settlement.reversed_seller_fen, settlement.reversed_station_fen, settlement.reversed_centre_fen)


def _line_splits(order: Order) -> sa.Select:
    """Each counted line of ``order`` with its split (``split.line_split_columns``), in the database."""
    lines = OrderLine.__table__
    seller, station, centre = line_split_columns(lines.c.amount_fen, lines.c.commission_bps, lines.c.service_fee_bps)
    return sa.select(
        lines.c.id.label("line_id"),
        lines.c.seller_id,
        lines.c.station_id,
        lines.c.centre_id,
        seller.label("seller_fen"),
        station.label("station_fen"),
        centre.label("centre_fen"),
    ).where(lines.c.order_id == order.id, lines.c.status != LineStatus.CANCELLED)


def post_payment(payment: Payment, order: Order) -> LedgerPosting | None:
    """Split each paid line between seller, station and centre, into their pending buckets.

    Set-based, so a 2,000-line welfare order posts well within WeChat's 5 s: every account is made
    sure of in one statement, the settlements and the legs are each one ``INSERT … SELECT`` from the
    order's lines, the split worked out by the database (the same rule as ``split_line``).
    """
    lines = [line for line in order.lines if line.status != LineStatus.CANCELLED]
    keys = {(party, _party_ids(line)[party], Bucket.PENDING) for line in lines for party in PARTIES}
    keys.add((OwnerType.GATEWAY, 0, payment.channel))
    lines_fen = sum(line.amount_fen for line in lines)
    surplus = payment.amount_fen - lines_fen
    if surplus:
        keys.add((OwnerType.SUSPENSE, 0, Bucket.MAIN))
    resolved = accounts(keys)
    splits = _line_splits(order).subquery()
    settlements = LineSettlement.__table__
    db.session.execute(
        settlements.insert().from_select(
            [
                "order_line_id",
                "payment_id",
                "seller_id",
                "station_id",
                "centre_id",
                "seller_fen",
                "station_fen",
                "centre_fen",
                "reversed_seller_fen",
                "reversed_station_fen",
                "reversed_centre_fen",
            ],
            sa.select(
                splits.c.line_id,
                sa.literal(payment.id, sa.Integer),
                splits.c.seller_id,
                splits.c.station_id,
                splits.c.centre_id,
                splits.c.seller_fen,
                splits.c.station_fen,
                splits.c.centre_fen,
                sa.literal(0, sa.Integer),
                sa.literal(0, sa.Integer),
                sa.literal(0, sa.Integer),
            )
            .where(~sa.exists().where(settlements.c.order_line_id == splits.c.line_id))
            .order_by(splits.c.line_id),
        )
    )
    ledger_accounts = LedgerAccount.__table__
    per_party = sa.union_all(
        *(
            sa.select(
                splits.c.line_id,
                sa.literal(rank, sa.Integer).label("rank"),
                sa.literal(str(party), sa.String).label("owner_type"),
                splits.c[f"{party}_id"].label("owner_id"),
                splits.c[f"{party}_fen"].label("amount_fen"),
            )
            for rank, party in enumerate(PARTIES)
        )
    ).subquery()
    line_legs = (
        sa.select(
            ledger_accounts.c.id.label("account_id"),
            per_party.c.amount_fen,
            per_party.c.line_id.label("order_line_id"),
        )
        .join_from(
            per_party,
            ledger_accounts,
            sa.and_(
                ledger_accounts.c.owner_type == per_party.c.owner_type,
                ledger_accounts.c.owner_id == per_party.c.owner_id,
                ledger_accounts.c.bucket == str(Bucket.PENDING),
            ),
        )
        .where(per_party.c.amount_fen != 0)
        .order_by(per_party.c.line_id, per_party.c.rank)
    )
    legs: list[Leg] = []
    if surplus:  # the order total and its lines disagree: park the difference, never lose it
        log.error("payment %s: %s fen beyond the order lines, booked to suspense", payment.id, surplus)
        legs.append(Leg(resolved[(OwnerType.SUSPENSE, 0, Bucket.MAIN)], surplus))
    legs.append(Leg(resolved[(OwnerType.GATEWAY, 0, payment.channel)], -payment.amount_fen))
    refs = {"payment_id": payment.id}
    if not lines:
        return post(PostingKind.PAYMENT, f"payment:{payment.id}", legs, **refs)
    return post(
        PostingKind.PAYMENT, f"payment:{payment.id}", legs, line_legs=line_legs, line_legs_fen=lines_fen, **refs
    )


def post_unapplied_payment(payment: Payment) -> LedgerPosting | None:
    """Money arrived for an order that could not take it: hold it in suspense until refunded."""
    legs = [
        Leg(account(OwnerType.SUSPENSE), payment.amount_fen),
        Leg(gateway_account(payment.channel), -payment.amount_fen),
    ]
    return post(PostingKind.UNAPPLIED_PAYMENT, f"unapplied:{payment.id}", legs, payment_id=payment.id)


def lock_line_settlement(line_id: int) -> LineSettlement | None:
    return db.session.scalar(
        sa.select(LineSettlement)
        .where(LineSettlement.order_line_id == line_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def post_refund(refund: GatewayRefund, line_amounts: list[tuple[int, int]]) -> LedgerPosting | None:
    """Reverse each line's split for the refunded amounts (pending during the hold, else available)."""
    key = f"refund:{refund.id}"
    if db.session.scalar(sa.select(LedgerPosting.id).where(LedgerPosting.event_key == key)) is not None:
        return None
    legs: list[Leg] = []
    for line_id, amount in line_amounts:
        settlement = lock_line_settlement(line_id)
        if settlement is None:
            raise ValueError(f"order line {line_id} was never credited")
        reversal = split_refund(credited(settlement), reversed_so_far(settlement), amount)
        bucket = Bucket.PENDING
        if settlement.released_at is not None:  # request_refund refuses these; never expected
            log.error("refund %s reverses line %s after its hold ended", refund.id, line_id)
            bucket = Bucket.AVAILABLE
        for party, value in _amounts(reversal).items():
            legs.append(Leg(party_account(party, _party_ids(settlement)[party], bucket), -value, line_id))
        settlement.reversed_seller_fen += reversal.seller_fen
        settlement.reversed_station_fen += reversal.station_fen
        settlement.reversed_centre_fen += reversal.centre_fen
    total = sum(amount for _, amount in line_amounts)
    if total != refund.amount_fen:
        legs.append(Leg(account(OwnerType.SUSPENSE), refund.amount_fen - total))
    legs.append(Leg(gateway_account(refund.payment.channel), refund.amount_fen))
    return post(PostingKind.REFUND, key, legs, gateway_refund_id=refund.id, payment_id=refund.payment_id)


def post_unapplied_refund(refund: GatewayRefund) -> LedgerPosting | None:
    """An automatic refund of money held in suspense went back to the buyer."""
    amount = refund.amount_fen
    legs = [Leg(account(OwnerType.SUSPENSE), -amount), Leg(gateway_account(refund.payment.channel), amount)]
    refs = {"gateway_refund_id": refund.id, "payment_id": refund.payment_id}
    return post(PostingKind.UNAPPLIED_REFUND, f"refund:{refund.id}", legs, **refs)


def balance(account_record: LedgerAccount | None) -> int:
    if account_record is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0)).where(
            LedgerEntry.account_id == account_record.id
        )
    )


def bucket_balances(owner_type: str, owner_id: int = 0) -> dict[str, int]:
    """Balance of each of an owner's buckets."""
    rows = db.session.execute(
        sa.select(LedgerAccount.bucket, sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.owner_type == owner_type, LedgerAccount.owner_id == owner_id)
        .group_by(LedgerAccount.bucket)
    ).all()
    return dict(rows)
