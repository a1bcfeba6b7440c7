"""Reading the ledger: a party's balances, payout lists and the villager's own page, each scoped."""

import re
from datetime import datetime

import sqlalchemy as sa

from core.auth import ensure_overlaps, scope_for
from core.clock import BEIJING
from core.db import utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import STAFF_ROLES, Role, User
from core.pagination import paginate
from core.pii import mask_account
from payments.ledger.models import Bucket, LedgerAccount, LedgerEntry, OwnerType, PartyType, Payout, PayoutStatus
from payments.ledger.postings import bucket_balances
from shop.orders.models import LineStatus, Order, OrderLine
from villages.models import Centre, Seller, Station

STAFF_READERS = STAFF_ROLES
DASHBOARD_PAYOUTS = 20


def parse_owner(owner: str) -> tuple[str, int]:
    """``seller:<id>`` / ``station:<id>`` / ``centre:<id>`` / ``platform`` → (type, id)."""
    if owner == OwnerType.PLATFORM:
        return OwnerType.PLATFORM, 0
    kind, _, number = owner.partition(":")
    if kind not in set(PartyType) or not re.fullmatch(r"[0-9]{1,10}", number) or int(number) > 2**31 - 1:
        raise ValidationFailed.field("owner", "应为 seller:<id>、station:<id>、centre:<id> 或 platform")
    return kind, int(number)


def _party(owner_type: str, owner_id: int):
    """(record, region code, station id) of a party, or 404."""
    model = {PartyType.SELLER: Seller, PartyType.STATION: Station, PartyType.CENTRE: Centre}[owner_type]
    record = db.session.get(model, owner_id)
    if record is None:
        raise NotFound("账户不存在")
    if owner_type == PartyType.SELLER:
        return record, record.station.village_code, record.station_id
    if owner_type == PartyType.STATION:
        return record, record.village_code, record.id
    return record, record.county_code, None


def check_owner_access(actor: User, owner_type: str, owner_id: int) -> None:
    """A seller reads their own; staff read parties inside their scope; the platform's own is for the city."""
    if owner_type == PartyType.SELLER:
        mine = db.session.scalar(sa.select(Seller.id).where(Seller.user_id == actor.id))
        if mine == owner_id:
            return
    if not actor.has_role(*STAFF_READERS):
        raise Forbidden()
    scope = scope_for(actor, *STAFF_READERS)
    if owner_type == OwnerType.PLATFORM:
        if not actor.has_role(Role.PLATFORM_ADMIN, Role.POVERTY_OFFICE):
            raise Forbidden()
        return
    _record, region_code, station_id = _party(owner_type, owner_id)
    if not scope.covers(region_code) or not scope.covers_station(station_id):
        raise NotFound("账户不存在")


def party_balances(parties: list[tuple[str, int]]) -> dict[tuple[str, int], dict]:
    """Pending (in the hold), available (can be paid out) and paid out (transferred) of each party.

    Two aggregate queries however many parties: the API's one owner and the console's whole county alike.
    """
    if not parties:
        return {}
    ids: dict[str, list[int]] = {}
    for party_type, party_id in parties:
        ids.setdefault(party_type, []).append(party_id)
    buckets = {
        (owner_type, owner_id, bucket): int(total)
        for owner_type, owner_id, bucket, total in db.session.execute(
            sa.select(
                LedgerAccount.owner_type,
                LedgerAccount.owner_id,
                LedgerAccount.bucket,
                sa.func.sum(LedgerEntry.amount_fen),
            )
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .where(
                sa.or_(
                    *(
                        sa.and_(LedgerAccount.owner_type == kind, LedgerAccount.owner_id.in_(numbers))
                        for kind, numbers in ids.items()
                    )
                ),
                LedgerAccount.bucket.in_((Bucket.PENDING, Bucket.AVAILABLE)),
            )
            .group_by(LedgerAccount.owner_type, LedgerAccount.owner_id, LedgerAccount.bucket)
        )
    }
    paid = {
        (party_type, party_id): int(total)
        for party_type, party_id, total in db.session.execute(
            sa.select(Payout.party_type, Payout.party_id, sa.func.sum(Payout.amount_fen))
            .where(
                sa.or_(
                    *(sa.and_(Payout.party_type == kind, Payout.party_id.in_(numbers)) for kind, numbers in ids.items())
                ),
                Payout.status == PayoutStatus.SUCCESS,
            )
            .group_by(Payout.party_type, Payout.party_id)
        )
    }
    return {
        (party_type, party_id): {
            "pending_fen": buckets.get((party_type, party_id, Bucket.PENDING), 0),
            "available_fen": buckets.get((party_type, party_id, Bucket.AVAILABLE), 0),
            "paid_out_fen": paid.get((party_type, party_id), 0),
        }
        for party_type, party_id in parties
    }


def owner_balances(owner_type: str, owner_id: int) -> dict:
    """Pending (in the hold), available (can be paid out) and paid out (transferred)."""
    if owner_type == OwnerType.PLATFORM:
        main = bucket_balances(owner_type, owner_id).get(Bucket.MAIN, 0)
        return {"pending_fen": 0, "available_fen": main, "paid_out_fen": 0}
    return party_balances([(owner_type, owner_id)])[(owner_type, owner_id)]


def county_parties(county_code: str) -> list[tuple[str, int, str, str | None]]:
    """(type, id, name, payout account) of the county's centre, its stations and their sellers."""
    like = f"{county_code}%"
    return (
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


def county_balances(county_code: str) -> dict:
    """Every party of the county that holds or was paid money, with its balances, and the county's totals."""
    parties = county_parties(county_code)
    balances = party_balances([(party_type, party_id) for party_type, party_id, _name, _account in parties])
    rows = []
    for party_type, party_id, name, account in parties:
        row = {
            "owner": f"{party_type}:{party_id}",
            "party_type": party_type,
            "name": name,
            "has_account": bool(account),
            **balances[(party_type, party_id)],
        }
        if row["pending_fen"] or row["available_fen"] or row["paid_out_fen"]:
            rows.append(row)
    totals = {key: sum(row[key] for row in rows) for key in ("pending_fen", "available_fen", "paid_out_fen")}
    return {"rows": rows, "totals": totals}


def balances_for(actor: User, owner: str) -> dict:
    """GET /ledger/balances: one owner's balances, if the caller may see them."""
    owner_type, owner_id = parse_owner(owner)
    check_owner_access(actor, owner_type, owner_id)
    if owner_type != OwnerType.PLATFORM:
        _party(owner_type, owner_id)
    return {"owner": owner, **owner_balances(owner_type, owner_id)}


def list_payouts(actor: User, region: str | None, status: str | None, batch_id: int | None, page: int, per_page: int):
    """Payouts under the caller's region (station managers: their station and its sellers), newest first."""
    scope = scope_for(actor, *STAFF_READERS)
    statement = (
        sa.select(Payout)
        .where(scope.filter(Payout.region_code), scope.station_filter(Payout.station_id))
        .order_by(Payout.id.desc())
    )
    if region:
        ensure_overlaps(scope, region)
        statement = statement.where(Payout.region_code.startswith(region, autoescape=True))
    if status:
        statement = statement.where(Payout.status == status)
    if batch_id:
        statement = statement.where(Payout.batch_id == batch_id)
    return paginate(statement, page, per_page)


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(BEIJING).isoformat() if moment else None


def _month_start(now: datetime) -> datetime:
    local = now.astimezone(BEIJING)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def seller_dashboard_sections(seller: Seller, now: datetime | None = None) -> dict:
    """Balances, recent payouts and this month's sales for GET /sellers/me."""
    since = _month_start(now or utcnow())
    orders, units, gmv = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(OrderLine.order_id)),
            sa.func.coalesce(sa.func.sum(OrderLine.quantity), 0),
            sa.func.coalesce(sa.func.sum(OrderLine.amount_fen - OrderLine.refunded_fen), 0),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.seller_id == seller.id,
            Order.paid_at >= since,
            OrderLine.status.not_in((LineStatus.PENDING_PAYMENT, LineStatus.CANCELLED, LineStatus.REFUNDED)),
        )
    ).one()
    payouts = db.session.scalars(
        sa.select(Payout)
        .where(Payout.party_type == PartyType.SELLER, Payout.party_id == seller.id)
        .order_by(Payout.id.desc())
        .limit(DASHBOARD_PAYOUTS)
    )
    return {
        "sales_this_month": {"orders": orders, "units": units, "gmv_fen": gmv},
        "balances": owner_balances(PartyType.SELLER, seller.id),
        "payouts": [
            {
                "id": payout.id,
                "amount_fen": payout.amount_fen,
                "status": payout.status,
                "failure_reason": payout.failure_reason,
                "payee_account": mask_account(payout.payee_account),
                "created_at": _local(payout.created_at),
                "completed_at": _local(payout.completed_at),
            }
            for payout in payouts
        ],
    }
