"""Paying villagers, stations and centres their available balances: Alipay transfers, or by bank.

A party with a bank account on file is paid by the county's bank batch file
(``payments.ledger.bank_payouts``); everyone else by Alipay transfer, below.

A batch moves each party's available balance to payout clearing and records a
Payout with its own ``out_biz_no`` in one transaction; the transfers run after
the commit. Before calling the gateway a payout is durably marked
``processing``, so after a crash (between the call and the commit of its
answer) the next attempt first asks the gateway by ``out_biz_no`` and only
sends again, with the same number, when the gateway has never heard of it.
Alipay treats a repeated ``out_biz_no`` as the same transfer, so nobody is
paid twice. A failed transfer returns the money to the party's available
balance with the gateway's reason.
"""

import logging
import secrets

import sqlalchemy as sa

from core.auth import scope_for
from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.faults import fault_after_commit, fault_point
from core.models import Role, User
from core.tasks import run_later
from core.unit_of_work import unit_of_work
from payments.ledger.bank_payouts import bank_accounts_by_party, bank_payout_fields
from payments.ledger.models import (
    OPEN_PAYOUT_STATUSES,
    Bucket,
    LedgerAccount,
    LedgerEntry,
    OwnerType,
    PartyType,
    Payout,
    PayoutBatch,
    PayoutMethod,
    PayoutStatus,
    PostingKind,
)
from payments.ledger.postings import Leg, account, balance, party_account, post
from payments.providers import PaymentGatewayError, PaymentRejected, TransferResult, get_alipay
from payments.providers.base import TransferStatus
from villages.models import Centre, Region, RegionLevel, Seller, Station

log = logging.getLogger(__name__)

# Alipay refuses transfers below 0.10 yuan (EXCEED_LIMIT_SM_MIN_AMOUNT); smaller balances wait.
MIN_PAYOUT_FEN = 10
TRANSFER_ACCOUNT = (OwnerType.GATEWAY, 0, Bucket.ALIPAY_TRANSFER)
FINISHED = (PayoutStatus.SUCCESS, PayoutStatus.FAILED)
# Gateway answers that mean "try again with the same out_biz_no", not a final failure.
RETRYABLE = ("SYSTEM_ERROR", "ACQ.SYSTEM_ERROR")


def new_out_biz_no(party_type: str, party_id: int) -> str:
    return f"PO{utcnow():%Y%m%d}{party_type[:2]}{party_id:08d}{secrets.token_hex(5)}"[:32]


def _county(actor: User, county_code: str) -> Region:
    scope = scope_for(actor, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
    county = db.session.get(Region, county_code)
    if county is None or county.level != RegionLevel.COUNTY:
        raise ValidationFailed.field("county_code", "请填写县（市、区）的行政区划代码")
    if not scope.covers(county_code):
        raise NotFound("该县不在您的管理范围内")
    return county


def _parties(county_code: str) -> list[tuple[str, object, str, int | None]]:
    """(party type, record, region code, station id) of everyone in the county who can be paid."""
    like = f"{county_code}%"
    sellers = db.session.scalars(
        sa.select(Seller).join(Station, Station.id == Seller.station_id).where(Station.village_code.like(like))
    )
    stations = db.session.scalars(sa.select(Station).where(Station.village_code.like(like)))
    centres = db.session.scalars(sa.select(Centre).where(Centre.county_code == county_code))
    return (
        [(PartyType.SELLER, s, s.station.village_code, s.station_id) for s in sellers]
        + [(PartyType.STATION, s, s.village_code, s.id) for s in stations]
        + [(PartyType.CENTRE, c, c.county_code, None) for c in centres]
    )


def _available_by_party() -> dict[tuple[str, int], int]:
    rows = db.session.execute(
        sa.select(LedgerAccount.owner_type, LedgerAccount.owner_id, sa.func.sum(LedgerEntry.amount_fen))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.bucket == Bucket.AVAILABLE)
        .group_by(LedgerAccount.owner_type, LedgerAccount.owner_id)
    ).all()
    return {(owner_type, owner_id): total for owner_type, owner_id, total in rows}


def _lock_account(record: LedgerAccount) -> None:
    db.session.execute(sa.select(LedgerAccount.id).where(LedgerAccount.id == record.id).with_for_update()).scalar_one()


def _has_open_payout(party_type: str, party_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(Payout.id).where(
                Payout.party_type == party_type,
                Payout.party_id == party_id,
                Payout.status.in_(OPEN_PAYOUT_STATUSES),
            )
        )
        is not None
    )


def create_payout(
    batch: PayoutBatch, party_type: str, party, region_code: str, station_id: int | None, bank=None
) -> Payout | None:
    """Move the party's whole available balance to payout clearing; None when there is nothing to pay.

    ``bank``: the party's bank account on file, paid by the bank batch file; else by Alipay transfer.
    """
    available = party_account(party_type, party.id, Bucket.AVAILABLE)
    _lock_account(available)  # a concurrent batch waits here, then sees the balance we leave
    amount = balance(available)
    if amount < MIN_PAYOUT_FEN or _has_open_payout(party_type, party.id):
        return None
    payout = Payout(
        batch_id=batch.id,
        party_type=party_type,
        party_id=party.id,
        region_code=region_code,
        station_id=station_id,
        amount_fen=amount,
        out_biz_no=new_out_biz_no(party_type, party.id),
        **(
            bank_payout_fields(bank)
            if bank is not None
            else {"payee_name": party.name[:64], "payee_account": party.payout_alipay_account}
        ),
    )
    db.session.add(payout)
    db.session.flush()
    legs = [Leg(available, -amount), Leg(account(OwnerType.PAYOUT_CLEARING), amount)]
    post(PostingKind.PAYOUT, f"payout:{payout.id}", legs, payout_id=payout.id)
    return payout


def run_settlement(actor: User, county_code: str, *, send: bool = True) -> dict:
    """Create the county's payout batch and send its transfers (and any unfinished ones) after commit.

    ``send=False`` only records the batch (the demo seed, which runs without the gateway);
    ``flask settlements retry-payouts`` sends what is still pending.
    """
    _county(actor, county_code)
    batch = PayoutBatch(county_code=county_code, created_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    available = _available_by_party()
    banks = bank_accounts_by_party()
    skipped = []
    retried = unfinished_payouts(county_code)
    for party_type, party, region_code, station_id in _parties(county_code):
        if available.get((party_type, party.id), 0) < MIN_PAYOUT_FEN:
            continue
        bank = banks.get((party_type, party.id))
        if bank is None and not getattr(party, "payout_alipay_account", None):
            reason = "未登记银行账户或支付宝收款账户"
            skipped.append({"owner": f"{party_type}:{party.id}", "name": party.name, "reason": reason})
            continue
        create_payout(batch, party_type, party, region_code, station_id, bank)
    db.session.flush()
    fault_after_commit("payout.committed")
    transfers = [p.id for p in batch.payouts if p.method == PayoutMethod.ALIPAY]
    for payout_id in [*retried, *transfers] if send else []:
        run_later(execute_payout, payout_id)
    return {"batch": batch, "skipped": skipped, "retried": len(retried)}


def unfinished_payouts(county_code: str | None = None) -> list[int]:
    """Unfinished Alipay transfers (bank payouts wait for the bank's result file instead)."""
    statement = (
        sa.select(Payout.id)
        .where(Payout.status.in_(OPEN_PAYOUT_STATUSES), Payout.method == PayoutMethod.ALIPAY)
        .order_by(Payout.id)
    )
    if county_code:
        statement = statement.where(Payout.region_code.like(f"{county_code}%"))
    return list(db.session.scalars(statement))


def _lock_payout(payout_id: int) -> Payout | None:
    return db.session.scalar(
        sa.select(Payout).where(Payout.id == payout_id).with_for_update().execution_options(populate_existing=True)
    )


def _ask_or_send(payout_id: int) -> TransferResult | None:
    """The gateway's word on a payout that may have been sent before; send it (again) only if unknown.

    No lock is held across either gateway call: the payout is read (and, before
    a send, durably marked ``processing`` with one more attempt) in short
    transactions of their own. None: nothing to do now (final, or ask again later).
    """
    with unit_of_work():
        payout = _lock_payout(payout_id)
        if payout is None or payout.status in FINISHED or payout.method != PayoutMethod.ALIPAY:
            return None
        sent_before, out_biz_no = payout.attempts > 0, payout.out_biz_no
    if sent_before:
        try:
            result = get_alipay().query_transfer(out_biz_no)
        except PaymentRejected as exc:  # cannot tell whether it was paid: never resend blindly
            log.warning("payout %s: query refused (%s), will ask again", payout_id, exc.gateway_code)
            return None
        if result.status != TransferStatus.NOT_FOUND:
            return result
    with unit_of_work():  # durable before the call: a crash after it leads to a query, not a blind resend
        payout = _lock_payout(payout_id)
        if payout is None or payout.status in FINISHED:
            return None
        payout.status = PayoutStatus.PROCESSING
        payout.attempts += 1
        transfer = (payout.out_biz_no, payout.payee_account, payout.payee_name, payout.amount_fen)
    fault_point("payout.marked_processing")
    remark = f"株洲农村电商结算 {out_biz_no[-10:]}"
    return get_alipay().transfer(*transfer, remark)


def record_transfer_result(payout: Payout, result: TransferResult) -> None:
    """Apply the gateway's answer to a locked payout (final states are never changed)."""
    if payout.status in FINISHED:
        return
    if result.status == TransferStatus.FAILED and not result.reason.startswith(RETRYABLE):
        payout.status, payout.failure_reason, payout.completed_at = PayoutStatus.FAILED, result.reason[:200], utcnow()
        legs = [
            Leg(account(OwnerType.PAYOUT_CLEARING), -payout.amount_fen),
            Leg(party_account(payout.party_type, payout.party_id, Bucket.AVAILABLE), payout.amount_fen),
        ]
        post(PostingKind.PAYOUT_FAILED, f"payout_failed:{payout.id}", legs, payout_id=payout.id)
    elif result.status == TransferStatus.SUCCESS:
        payout.status, payout.completed_at = PayoutStatus.SUCCESS, utcnow()
        payout.gateway_order_id, payout.failure_reason = result.order_id, None
        legs = [
            Leg(account(OwnerType.PAYOUT_CLEARING), -payout.amount_fen),
            Leg(account(*TRANSFER_ACCOUNT), payout.amount_fen),
        ]
        post(PostingKind.PAYOUT_PAID, f"payout_paid:{payout.id}", legs, payout_id=payout.id)
    else:
        payout.status = PayoutStatus.PROCESSING
        if result.reason:
            payout.failure_reason = result.reason[:200]


def execute_payout(payout_id: int) -> None:
    """Send (or check) one payout's transfer and record the answer; commits (a job)."""
    try:
        result = _ask_or_send(payout_id)
    except PaymentRejected as exc:
        result = TransferResult("", TransferStatus.FAILED, reason=f"{exc.gateway_code}: {exc.gateway_message}")
    except PaymentGatewayError:
        log.warning("payout %s: gateway unavailable, will retry", payout_id)
        return
    if result is None:
        return
    fault_point("payout.transferred")
    with unit_of_work():
        payout = _lock_payout(payout_id)
        if payout is not None:
            record_transfer_result(payout, result)
