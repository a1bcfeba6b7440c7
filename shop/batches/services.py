"""Recording batches with their certificate, corrections, closing, revocation, test reports."""

import hashlib
import secrets
import uuid
from datetime import date

import sqlalchemy as sa

from core.auth import ensure_in_scope
from core.clock import beijing_today
from core.db import utcnow
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.pagination import paginate
from shop.access import listing_scope, product_for_lister, review_scope
from shop.batches.models import (
    REQUIRED_COMMITMENTS,
    TESTING_BASES,
    Batch,
    BatchMember,
    BatchStatus,
    Certificate,
    Commitment,
    CommitmentBasis,
    ProducerKind,
    TestReport,
)
from shop.storage import save_in_transaction
from villages.access import ensure_station_access, read_scope
from villages.models import Region, Seller, Station
from villages.stations import ensure_active, get_station

# Trace codes: 10 characters from 32 unambiguous ones (no 0/O, 1/I) ≈ 50 bits, from `secrets`.
TRACE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TRACE_CODE_LENGTH = 10
MAX_REPORT_BYTES = 5 * 1024 * 1024  # within the app's multipart body limit (UPLOAD_MAX_BYTES)
# What a test report may be: a scan (PDF) or a photo; recognised by content, not by the name sent.
REPORT_SIGNATURES = ((b"%PDF-", "application/pdf", "pdf"), (b"\xff\xd8\xff", "image/jpeg", "jpg"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ReportTooLarge(AppError):
    status, code, message = 413, "payload_too_large", "检测报告不能超过 5 MB"

    def __init__(self):
        super().__init__(details={"file": ["检测报告不能超过 5 MB"]})


def new_trace_code() -> str:
    """A fresh code no batch carries yet."""
    while True:
        code = "".join(secrets.choice(TRACE_ALPHABET) for _ in range(TRACE_CODE_LENGTH))
        if db.session.scalar(sa.select(Batch.id).where(Batch.trace_code == code)) is None:
            return code


def _new_certificate_no(batch: Batch, issued_on: date) -> str:
    while True:
        number = f"HG{batch.origin_village_code[:6]}{issued_on:%Y%m%d}{secrets.token_hex(3).upper()}"
        if db.session.scalar(sa.select(Certificate.id).where(Certificate.no == number)) is None:
            return number


def origin_text(village_code: str) -> str:
    """湖南省株洲市…县…镇…村 from the region chain (the province is implied by the city code 43xx)."""
    codes = [village_code[:length] for length in (4, 6, 9, 12)]
    names = dict(db.session.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all())
    return "湖南省" + "".join(names.get(code, "") for code in codes)


def _members(station: Station, seller_ids: list[int]) -> list[Seller]:
    sellers = db.session.scalars(sa.select(Seller).where(Seller.id.in_(seller_ids))).all()
    strangers = sorted(set(seller_ids) - {s.id for s in sellers if s.station_id == station.id})
    if strangers:
        raise ValidationFailed.field("producer", f"合作社成员须为本服务站登记的卖家：{', '.join(map(str, strangers))}")
    return sorted(sellers, key=lambda seller: seller.id)


def _test_report(station: Station, report_id: int | None, basis: str) -> TestReport | None:
    if basis not in TESTING_BASES:
        if report_id is not None:
            raise ValidationFailed(details={"certificate": {"test_report_id": ["承诺依据为质量控制时无需检测报告"]}})
        return None
    report = db.session.get(TestReport, report_id) if report_id is not None else None
    if report is None or report.station_id != station.id:
        message = "依据检测出具的合格证须附本服务站上传的检测报告"
        raise ValidationFailed(details={"certificate": {"test_report_id": [message]}})
    return report


def _commitments(items: list[str]) -> list[str]:
    chosen = [item for item in Commitment if item in set(items)]  # display order, no repeats
    missing = [item for item in REQUIRED_COMMITMENTS if item not in chosen]
    if missing:
        raise ValidationFailed(details={"certificate": {"commitments": [f"必须承诺：{', '.join(missing)}"]}})
    return [item.value for item in chosen]


def _issue_certificate(batch: Batch, data: dict, actor: User, supersedes: Certificate | None) -> Certificate:
    issued_on = data.get("issued_on") or beijing_today()
    if issued_on < batch.harvested_on:
        raise ValidationFailed(details={"certificate": {"issued_on": ["开具日期不能早于采收日期"]}})
    if issued_on > beijing_today():
        raise ValidationFailed(details={"certificate": {"issued_on": ["开具日期不能晚于今天"]}})
    basis = CommitmentBasis(data["basis"])
    report = _test_report(batch.station, data.get("test_report_id"), basis)
    default_producer = batch.cooperative_name if batch.producer_kind == ProducerKind.COOPERATIVE else batch.seller.name
    certificate = Certificate(
        no=_new_certificate_no(batch, issued_on),
        product_name=data.get("product_name") or batch.product.title,
        quantity_text=data.get("quantity_text") or f"{batch.quantity} {batch.unit}",
        producer_name=data.get("producer_name") or default_producer,
        producer_contact=data["producer_contact"],
        origin=origin_text(batch.origin_village_code),
        issued_on=issued_on,
        commitments=_commitments(data["commitments"]),
        basis=basis.value,
        test_report=report,
        supersedes_id=supersedes.id if supersedes else None,
        correction_reason=data.get("correction_reason") if supersedes else None,
        issued_by_id=actor.id,
    )
    batch.certificates.append(certificate)
    return certificate


def record_batch(actor: User, data: dict) -> Batch:
    """A station records a harvest batch of one of its products, with the 合格证 it issues."""
    product = product_for_lister(actor, data["product_id"])
    station = product.station
    ensure_active(station)
    if data["harvested_on"] > beijing_today():
        raise ValidationFailed.field("harvested_on", "采收日期不能晚于今天")
    producer = data.get("producer") or {}
    kind = ProducerKind(producer.get("kind", ProducerKind.SELLER))
    batch = Batch(
        product=product,
        station=station,
        seller=product.seller,
        origin_village_code=product.origin_village_code,
        harvested_on=data["harvested_on"],
        quantity=data["quantity"],
        remaining_quantity=data["quantity"],
        unit=product.unit,
        producer_kind=kind.value,
        status=BatchStatus.OPEN.value,
        scan_count=0,
        trace_code=new_trace_code(),
        created_by_id=actor.id,
    )
    if kind == ProducerKind.COOPERATIVE:
        if not producer.get("cooperative_name"):
            raise ValidationFailed.field("producer", "合作社须填写名称")
        batch.cooperative_name = producer["cooperative_name"]
        batch.members = [BatchMember(seller=seller) for seller in _members(station, producer.get("member_ids", []))]
    _issue_certificate(batch, data["certificate"], actor, None)
    db.session.add(batch)
    db.session.flush()
    return batch


def _batch(batch_id: int) -> Batch:
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("批次不存在")
    return batch


def batch_for_reader(actor: User, batch_id: int) -> Batch:
    """A batch of a station the user may read (its manager, the county, the office, the platform)."""
    batch = _batch(batch_id)
    ensure_station_access(read_scope(actor), batch.station)
    return batch


def batch_for_station(actor: User, batch_id: int) -> Batch:
    """A batch of a station the user lists for."""
    batch = _batch(batch_id)
    ensure_station_access(listing_scope(actor), batch.station)
    return batch


def correct_certificate(actor: User, batch_id: int, data: dict) -> Batch:
    """Issue a corrected certificate that supersedes the one in force (the old one stays, unchanged)."""
    batch = batch_for_station(actor, batch_id)
    if batch.status == BatchStatus.REVOKED:
        raise Conflict("批次已被撤销，不能再开具合格证")
    if not data.get("correction_reason"):
        raise ValidationFailed.field("correction_reason", "更正合格证须说明原因")
    _issue_certificate(batch, data, actor, batch.certificate)
    db.session.flush()
    return batch


def close_batch(actor: User, batch_id: int) -> Batch:
    """The station closes a batch (sold out, spoiled); shipping no longer takes from it."""
    batch = batch_for_station(actor, batch_id)
    if batch.status != BatchStatus.OPEN:
        raise Conflict("只有未关闭的批次可以关闭")
    batch.status, batch.closed_at = BatchStatus.CLOSED.value, utcnow()
    db.session.flush()
    return batch


def revoke_batch(actor: User, batch_id: int, reason: str) -> Batch:
    """The county revokes a batch (e.g. a failed spot check); its trace page then says so."""
    batch = _batch(batch_id)
    ensure_in_scope(review_scope(actor), batch.station.village_code, hide=True)
    if batch.status == BatchStatus.REVOKED:
        raise Conflict("批次已被撤销")
    batch.status = BatchStatus.REVOKED.value
    batch.revoked_at, batch.revoked_by_id, batch.revoked_reason = utcnow(), actor.id, reason
    db.session.flush()
    return batch


def list_batches(actor: User, filters: dict, page: int, per_page: int) -> dict:
    """Batches of the stations in the caller's scope, newest harvest first."""
    scope = read_scope(actor)
    statement = (
        sa.select(Batch)
        .join(Station, Station.id == Batch.station_id)
        .where(scope.filter(Station.village_code), scope.station_filter(Station.id))
        .order_by(Batch.harvested_on.desc(), Batch.id.desc())
    )
    for name in ("product_id", "station_id", "status"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Batch, name) == filters[name])
    return paginate(statement, page, per_page)


def _report_kind(data: bytes) -> tuple[str, str]:
    if data.startswith(PNG_SIGNATURE):
        return "image/png", "png"
    for signature, content_type, extension in REPORT_SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    raise ValidationFailed.field("file", "检测报告须为 PDF、JPEG 或 PNG 文件")


def upload_test_report(actor: User, station_id: int, upload) -> TestReport:
    """Store a station's test report file (kept like the certificates that cite it)."""
    station = get_station(station_id)
    ensure_station_access(listing_scope(actor), station)
    data = upload.stream.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise ReportTooLarge()
    if not data:
        raise ValidationFailed.field("file", "文件为空")
    content_type, extension = _report_kind(data)
    key = f"test-reports/{station.id}/{uuid.uuid4().hex}.{extension}"
    save_in_transaction(key, data, content_type)
    filename = (upload.filename or f"report.{extension}").replace("/", "_")[-120:]
    report = TestReport(
        station_id=station.id,
        key=key,
        filename=filename,
        content_type=content_type,
        byte_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=actor.id,
    )
    db.session.add(report)
    db.session.flush()
    return report


def test_report_for_reader(actor: User, report_id: int) -> TestReport:
    report = db.session.get(TestReport, report_id)
    if report is None:
        raise NotFound("检测报告不存在")
    ensure_station_access(read_scope(actor), get_station(report.station_id))
    return report


test_report_for_reader.__test__ = False  # not a pytest test
