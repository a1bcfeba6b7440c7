"""An approved report's exports are archived in storage and download as that file (local disk and S3)."""

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from core.extensions import db as _db
from payments.models import GatewayRefund
from payments.providers import RefundResult
from payments.refunds import apply_refund_result
from reports import archive
from reports.models import SalesReport
from shop.orders.after_sales import decide_refund, request_refund
from shop.storage import storage
from tests import factories
from tests.reports.test_reports import month  # noqa: F401 - the hand-built October
from tests.shop.test_storage_s3 import BUCKET, s3_app, s3_server  # noqa: F401 - moto's S3 on loopback

BODY = {"region": "430225", "period": "2026-10"}


def _approved(client, month) -> SalesReport:  # noqa: F811 - the fixture's value
    rid = client.post("/api/v1/reports", headers=month["county"], json=BODY).json["id"]
    client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"])
    answer = client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"})
    assert answer.json["status"] == "approved"
    return _db.session.get(SalesReport, rid)


def _export(client, report_id: int, fmt: str, headers: dict | None = None):
    """Status, headers and body of a download (a stored file is streamed: close the response)."""
    with client.get(f"/api/v1/reports/{report_id}/export?format={fmt}", headers=headers) as answer:
        return answer.status_code, answer.headers, answer.data


def _summary(body: bytes) -> dict:
    book = load_workbook(io.BytesIO(body))
    return {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}


def _late_refund_of_the_tea(month) -> None:  # noqa: F811
    first = month["first"]
    tea_line = next(line for line in first.lines if line.product_title == "炎陵红茶")
    refund = request_refund(first.buyer, first.id, [tea_line.id], "迟到的退款")
    decide_refund(factories.user(("platform_admin", None)), refund.id, "approve", None)
    _db.session.commit()
    sent = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == refund.id))
    apply_refund_result(sent, RefundResult(sent.out_refund_no, "success", refund_id="R-late"))
    _db.session.commit()


def test_approval_archives_both_files_and_downloads_serve_them_after_the_live_figures_move(client, month):  # noqa: F811
    report = _approved(client, month)
    keys = {fmt: archive.archive_key(report, fmt) for fmt in ("xlsx", "csv")}
    assert all(key.startswith("exports/reports/430225/2026-10/v1-") for key in keys.values())
    assert all(storage().exists(key) for key in keys.values())

    status, headers, first = _export(client, report.id, "xlsx", month["office"])
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="report-430225-2026-10-v1.xlsx"'
    assert headers["Cache-Control"] == "private, no-cache"
    assert first == storage().load(keys["xlsx"])
    assert _summary(first)["状态"] == "已审核通过" and _summary(first)["销售额（元）"] == 186

    _late_refund_of_the_tea(month)  # the live October drops to 136 yuan; the signed file does not
    assert _export(client, report.id, "xlsx", month["county"])[2] == first
    csv_body = _export(client, report.id, "csv", month["county"])[2]
    assert csv_body == storage().load(keys["csv"]) and "186.00" in csv_body.decode("utf-8-sig")


def test_drafts_are_drawn_afresh_and_nothing_is_stored_until_approval(client, month):  # noqa: F811
    rid = client.post("/api/v1/reports", headers=month["county"], json=BODY).json["id"]
    draft = client.get(f"/api/v1/reports/{rid}/export?format=xlsx", headers=month["county"])
    assert draft.status_code == 200 and _summary(draft.data)["状态"] == "草稿"
    report = _db.session.get(SalesReport, rid)
    assert not storage().exists(archive.archive_key(report, "xlsx"))


def test_an_export_is_not_public_media(client, month):  # noqa: F811
    report = _approved(client, month)
    key = archive.archive_key(report, "xlsx")
    assert storage().exists(key)
    assert client.get(f"/media/{key}").status_code == 404
    assert client.get(f"/api/v1/reports/{report.id}/export?format=xlsx").status_code == 401
    assert (
        client.get(f"/api/v1/reports/{report.id}/export?format=xlsx", headers=month["other_county"]).status_code == 404
    )


def test_a_report_approved_before_archiving_is_archived_at_its_first_download(client, month):  # noqa: F811
    report = _approved(client, month)
    key = archive.archive_key(report, "csv")
    storage().delete(key)
    status, _, body = _export(client, report.id, "csv", month["county"])
    assert status == 200 and storage().load(key) == body


def test_a_failed_approval_leaves_no_file_behind(client, month, monkeypatch):  # noqa: F811
    rid = client.post("/api/v1/reports", headers=month["county"], json=BODY).json["id"]
    client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"])
    report = _db.session.get(SalesReport, rid)
    keys = [archive.archive_key(report, fmt) for fmt in ("xlsx", "csv")]
    real_render = archive.render

    def csv_fails(report, fmt):
        if fmt == "csv":
            raise OSError("disk full")
        return real_render(report, fmt)

    monkeypatch.setattr(archive, "render", csv_fails)
    failed = client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"})
    assert failed.status_code == 500 and failed.json["error"]["code"] == "internal_error"
    _db.session.rollback()
    assert not any(storage().exists(key) for key in keys)  # the xlsx written first went with the rollback
    assert _db.session.get(SalesReport, rid).status == "submitted"


def test_on_s3_the_signed_file_lives_in_the_bucket(client, month, s3_app):  # noqa: F811
    report = _approved(client, month)
    key = archive.archive_key(report, "xlsx")
    stored = s3_app.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    status, headers, body = _export(client, report.id, "xlsx", month["office"])
    assert status == 200 and body == stored
    assert headers["Content-Disposition"].endswith('v1.xlsx"')
    assert client.get(f"/media/{key}").status_code == 404
