"""银行代发: paying suppliers (货款) and stations (服务费) by the county's bank batch file.

In seller-of-record mode (docs/money.md) the county centre buys the produce
from villagers and pays them for it; most villagers have a bank card and no
Alipay. A party whose bank account is on file is paid by bank:

1. the settlement run moves the party's available balance to payout clearing
   and records a ``bank`` payout (pending), as for Alipay;
2. the county exports the batch's upload file (XLSX or CSV) and loads it into
   its corporate banking; the exported payouts are then ``processing`` (in
   transfer) — exporting again gives the same lines;
3. the county imports the bank's result file: each line is matched by our
   reference and amount; a paid line becomes ``success``, a failed one
   ``failed`` with the bank's reason and its money goes back to the party's
   available balance. Finished payouts never change, so importing the same
   file twice changes nothing, and a payout the file does not mention stays
   in transfer.
"""

import re

import sqlalchemy as sa

from core.auth import scope_for
from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from payments.ledger.bank_files import BankFileError, UploadLine, read_results, upload_csv, upload_xlsx
from payments.ledger.models import (
    Bucket,
    OwnerType,
    PartyType,
    PayeeBankAccount,
    Payout,
    PayoutBatch,
    PayoutMethod,
    PayoutStatus,
    PostingKind,
)
from payments.ledger.postings import Leg, account, party_account, post
from villages.access import ensure_station_access
from villages.models import Seller, Station
from villages.sellers import seller_for_manager

BANK_TRANSFER_ACCOUNT = (OwnerType.GATEWAY, 0, Bucket.BANK_TRANSFER)
# 用途 on the bank line: what the money is for (the same words as the console's payout pages).
PURPOSES = {PartyType.SELLER: "农产品货款", PartyType.STATION: "服务费", PartyType.CENTRE: "服务费"}
# A personal or corporate account number: digits only once spaces are taken out.
ACCOUNT_NO = re.compile(r"\d{8,32}")
MAX_RESULT_BYTES = 5 * 1024 * 1024
FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", upload_xlsx),
    "csv": ("text/csv; charset=utf-8", upload_csv),
}


def bank_account_of(party_type: str, party_id: int) -> PayeeBankAccount | None:
    return db.session.scalar(
        sa.select(PayeeBankAccount).where(
            PayeeBankAccount.party_type == party_type, PayeeBankAccount.party_id == party_id
        )
    )


def bank_accounts_by_party() -> dict[tuple[str, int], PayeeBankAccount]:
    """Every bank account on file, by (party type, party id) (the settlement run reads them once)."""
    return {(a.party_type, a.party_id): a for a in db.session.scalars(sa.select(PayeeBankAccount))}


def _clean(data: dict) -> tuple[str, str, str]:
    number = "".join(data["account_no"].split())
    if not ACCOUNT_NO.fullmatch(number):
        raise ValidationFailed.field("account_no", "银行账号应为8到32位数字")
    if not data.get("consent"):
        raise ValidationFailed.field("consent", "须经收款人本人同意后登记银行账户")
    return data["account_name"].strip(), number, data["bank_name"].strip()


def _record(actor: User, party_type: str, party_id: int, data: dict, existing: PayeeBankAccount | None):
    name, number, bank = _clean(data)
    record = existing or PayeeBankAccount(party_type=party_type, party_id=party_id)
    record.account_name, record.account_no, record.bank_name = name, number, bank
    record.consented_at, record.recorded_by_id, record.updated_at = utcnow(), actor.id, utcnow()
    db.session.add(record)
    db.session.flush()
    return record


def record_seller_bank_account(actor: User, seller_id: int, data: dict) -> PayeeBankAccount:
    """The station records a villager's bank account with her consent; changing one on file is the county's."""
    seller: Seller = seller_for_manager(actor, seller_id)
    existing = bank_account_of(PartyType.SELLER, seller.id)
    if existing is not None:
        # Where a villager's money goes is changed only by the county (as for her Alipay account).
        scope_for(actor, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
    return _record(actor, PartyType.SELLER, seller.id, data, existing)


def record_station_bank_account(actor: User, station_id: int, data: dict) -> PayeeBankAccount:
    """The county records the account a station's 服务费 is paid into."""
    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound("服务站不存在")
    ensure_station_access(scope_for(actor, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN), station)
    return _record(actor, PartyType.STATION, station.id, data, bank_account_of(PartyType.STATION, station.id))


def bank_payout_fields(bank: PayeeBankAccount) -> dict:
    """What a bank payout snapshots of the account at batch time (a later change does not touch it)."""
    return {
        "method": PayoutMethod.BANK,
        "payee_name": bank.account_name[:64],
        "payee_account": bank.account_no,
        "bank_name": bank.bank_name,
    }


def _batch(actor: User, batch_id: int) -> PayoutBatch:
    scope = scope_for(actor, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
    batch = db.session.get(PayoutBatch, batch_id)
    if batch is None or not scope.covers(batch.county_code):
        raise NotFound("打款批次不存在")
    return batch


def _bank_payouts(batch: PayoutBatch, *statuses: str) -> list[Payout]:
    return list(
        db.session.scalars(
            sa.select(Payout)
            .where(Payout.batch_id == batch.id, Payout.method == PayoutMethod.BANK, Payout.status.in_(statuses))
            .order_by(Payout.id)
            .with_for_update()
        )
    )


def export_bank_file(actor: User, batch_id: int, file_format: str) -> tuple[bytes, str, str]:
    """The batch's upload file (its unfinished bank lines); those lines are in transfer from now on."""
    batch = _batch(actor, batch_id)
    payouts = _bank_payouts(batch, PayoutStatus.PENDING, PayoutStatus.PROCESSING)
    if not payouts:
        raise ValidationFailed.field("batch", "该批次没有待银行代发的款项")
    now = utcnow()
    for payout in payouts:
        payout.status = PayoutStatus.PROCESSING
        payout.exported_at = payout.exported_at or now
    lines = [
        UploadLine(p.payee_name, p.payee_account, p.bank_name or "", p.amount_fen, PURPOSES[p.party_type], p.out_biz_no)
        for p in payouts
    ]
    mimetype, write = FORMATS[file_format]
    filename = f"bank-payouts-{batch.county_code}-batch{batch.id}.{file_format}"
    return write(lines), mimetype, filename


def _pay(payout: Payout) -> None:
    payout.status, payout.completed_at, payout.failure_reason = PayoutStatus.SUCCESS, utcnow(), None
    legs = [
        Leg(account(OwnerType.PAYOUT_CLEARING), -payout.amount_fen),
        Leg(account(*BANK_TRANSFER_ACCOUNT), payout.amount_fen),
    ]
    post(PostingKind.PAYOUT_PAID, f"payout_paid:{payout.id}", legs, payout_id=payout.id)


def _fail(payout: Payout, reason: str) -> None:
    payout.status, payout.completed_at = PayoutStatus.FAILED, utcnow()
    payout.failure_reason = (reason or "银行退回")[:200]
    legs = [
        Leg(account(OwnerType.PAYOUT_CLEARING), -payout.amount_fen),
        Leg(party_account(payout.party_type, payout.party_id, Bucket.AVAILABLE), payout.amount_fen),
    ]
    post(PostingKind.PAYOUT_FAILED, f"payout_failed:{payout.id}", legs, payout_id=payout.id)


def import_bank_results(actor: User, batch_id: int, data: bytes, filename: str) -> dict:
    """Apply the bank's result file to the batch's lines in transfer; returns what each line did."""
    batch = _batch(actor, batch_id)
    if len(data) > MAX_RESULT_BYTES:
        raise ValidationFailed.field("file", "回单文件不能超过 5 MB")
    try:
        lines = read_results(data, filename)
    except BankFileError as exc:
        raise ValidationFailed.field("file", str(exc)) from exc
    payouts = {p.out_biz_no: p for p in _bank_payouts(batch, *PayoutStatus)}
    summary = {"paid": 0, "failed": 0, "unchanged": 0, "problems": []}
    for line in lines:
        payout = payouts.get(line.reference)
        problem = _problem(payout, line)
        if problem:
            summary["problems"].append({"row": line.row, "reference": line.reference, "problem": problem})
        elif payout.status != PayoutStatus.PROCESSING:  # finished before: importing again changes nothing
            summary["unchanged"] += 1
        elif line.succeeded:
            _pay(payout)
            summary["paid"] += 1
        else:
            _fail(payout, line.reason)
            summary["failed"] += 1
    summary["in_transfer"] = sum(1 for p in payouts.values() if p.status == PayoutStatus.PROCESSING)
    return summary


def _problem(payout: Payout | None, line) -> str | None:
    """Why a result line cannot be applied, or None."""
    if payout is None:
        return "参考号不属于本批次的银行代发款项"
    if line.amount_fen != payout.amount_fen:
        return "金额与代发金额不符"
    if line.succeeded is None:
        return "无法识别的处理状态"
    if payout.status == PayoutStatus.PENDING:
        return "该笔尚未导出代发文件"
    finished = {PayoutStatus.SUCCESS: True, PayoutStatus.FAILED: False}.get(payout.status)
    if finished is not None and finished != line.succeeded:
        return "与已登记的结果不一致，未改动"
    return None
