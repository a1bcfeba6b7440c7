"""结算 as the console shows it: every party's balances in a county at once, batches and their payouts."""

import sqlalchemy as sa

from console.services.regions import children, region_in_scope
from core.auth import ensure_in_scope, scope_for
from core.errors import NotFound
from core.extensions import db
from core.models import Role, User
from payments.ledger.models import (
    Bucket,
    LedgerAccount,
    LedgerEntry,
    PartyType,
    Payout,
    PayoutBatch,
    PayoutMethod,
    PayoutStatus,
)
from villages.models import Centre, Region, RegionLevel, Seller, Station

SETTLERS = (Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)


def settlement_region(user: User, code: str | None) -> tuple[Region, list[Region]]:
    """The county to settle (a platform admin first picks one of the city's counties)."""
    region = region_in_scope(scope_for(user, *SETTLERS), code)
    if region.level == RegionLevel.COUNTY:
        return region, []
    if region.level == RegionLevel.CITY:
        return region, children(region.code)
    return region_in_scope(scope_for(user, *SETTLERS), region.code[:6]), []


def party_balances(county_code: str) -> dict:
    """Pending, available and paid-out money of every seller, station and centre of the county.

    The same figures as ``payments.ledger.queries.owner_balances`` per party, in three
    aggregate queries for the whole county instead of two per party.
    """
    like = f"{county_code}%"
    parties = (
        [
            (PartyType.CENTRE, c.id, c.name, c.payout_alipay_account)
            for c in db.session.scalars(sa.select(Centre).where(Centre.county_code == county_code))
        ]
        + [
            (PartyType.STATION, s.id, s.name, s.payout_alipay_account)
            for s in db.session.scalars(sa.select(Station).where(Station.village_code.like(like)).order_by(Station.id))
        ]
        + [
            (PartyType.SELLER, s.id, f"{s.name}（{s.station.name}）", s.payout_alipay_account)
            for s in db.session.scalars(
                sa.select(Seller).join(Station, Station.id == Seller.station_id).where(Station.village_code.like(like))
            )
        ]
    )
    buckets = {
        (owner_type, owner_id, bucket): total
        for owner_type, owner_id, bucket, total in db.session.execute(
            sa.select(
                LedgerAccount.owner_type,
                LedgerAccount.owner_id,
                LedgerAccount.bucket,
                sa.func.sum(LedgerEntry.amount_fen),
            )
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .where(
                LedgerAccount.owner_type.in_(tuple(PartyType)),
                LedgerAccount.bucket.in_((Bucket.PENDING, Bucket.AVAILABLE)),
            )
            .group_by(LedgerAccount.owner_type, LedgerAccount.owner_id, LedgerAccount.bucket)
        )
    }
    paid = {
        (party_type, party_id): total
        for party_type, party_id, total in db.session.execute(
            sa.select(Payout.party_type, Payout.party_id, sa.func.sum(Payout.amount_fen))
            .where(Payout.status == PayoutStatus.SUCCESS, Payout.region_code.like(like))
            .group_by(Payout.party_type, Payout.party_id)
        )
    }
    rows = []
    for party_type, party_id, name, account in parties:
        row = {
            "owner": f"{party_type}:{party_id}",
            "party_type": party_type,
            "name": name,
            "has_account": bool(account),
            "pending_fen": int(buckets.get((party_type, party_id, Bucket.PENDING), 0)),
            "available_fen": int(buckets.get((party_type, party_id, Bucket.AVAILABLE), 0)),
            "paid_out_fen": int(paid.get((party_type, party_id), 0)),
        }
        if row["pending_fen"] or row["available_fen"] or row["paid_out_fen"]:
            rows.append(row)
    totals = {key: sum(row[key] for row in rows) for key in ("pending_fen", "available_fen", "paid_out_fen")}
    return {"rows": rows, "totals": totals}


def recent_batches(county_code: str, limit: int = 10) -> list[PayoutBatch]:
    return list(
        db.session.scalars(
            sa.select(PayoutBatch)
            .where(PayoutBatch.county_code == county_code)
            .order_by(PayoutBatch.id.desc())
            .limit(limit)
        )
    )


def batch_for(user: User, batch_id: int) -> PayoutBatch:
    """A payout batch of a county the user settles (404 otherwise)."""
    batch = db.session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound("打款批次不存在")
    ensure_in_scope(scope_for(user, *SETTLERS), batch.county_code, hide=True)
    db.session.refresh(batch)  # the transfers run in the background: read their latest state
    for payout in batch.payouts:
        db.session.refresh(payout)
    return batch


def is_finished(batch: PayoutBatch) -> bool:
    """Every Alipay transfer has its answer (bank lines wait for the bank's result file, not for this page)."""
    return all(
        payout.status in (PayoutStatus.SUCCESS, PayoutStatus.FAILED)
        for payout in batch.payouts
        if payout.method == PayoutMethod.ALIPAY
    )
