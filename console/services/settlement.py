"""结算 as the console shows it: the county to settle, its batches and their payouts.

The balances come from ``payments.ledger.queries.county_balances``, the API's own rule.
"""

import sqlalchemy as sa

from console.services.regions import children, region_in_scope
from core.auth import ensure_in_scope, scope_for
from core.errors import NotFound
from core.extensions import db
from core.models import Role, User
from payments.ledger.models import (
    PayoutBatch,
    PayoutMethod,
    PayoutStatus,
)
from villages.models import CODE_LENGTHS, Region, RegionLevel

SETTLERS = (Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)


def settlement_region(user: User, code: str | None) -> tuple[Region, list[Region]]:
    """The county to settle (a platform admin first picks one of the city's counties)."""
    region = region_in_scope(scope_for(user, *SETTLERS), code)
    if region.level == RegionLevel.COUNTY:
        return region, []
    if region.level == RegionLevel.CITY:
        return region, children(region.code)
    return region_in_scope(scope_for(user, *SETTLERS), region.code[: CODE_LENGTHS[RegionLevel.COUNTY]]), []


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
