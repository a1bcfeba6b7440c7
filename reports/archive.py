"""Report exports as files: the approved (signed) report is archived in storage and downloads as that file.

Drafts and submitted reports are drawn afresh on each download. Once the poverty
office approves a report, its XLSX and CSV are rendered in the same transaction
and kept in storage (``shop.storage``: local disk or S3-compatible), so every
instance serves the same bytes the officials signed off, without a shared disk,
even after the live figures behind the trend chart move on. Keys sit under
``exports/``, which ``/media/`` never serves: the only way in is the
authenticated export endpoint.
"""

from flask import Response

from core.extensions import db
from reports import charts, exports
from reports.models import ReportStatus, SalesReport
from shop.storage import save_in_transaction, storage
from villages.models import Region

PREFIX = "exports/"
MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def file_name(report: SalesReport, fmt: str) -> str:
    return f"report-{report.region_code}-{report.period}-v{report.version}.{fmt}"


def archive_key(report: SalesReport, fmt: str) -> str:
    """One key per version and digest: a regenerated report (new version) never overwrites a signed file."""
    return f"{PREFIX}reports/{report.region_code}/{report.period}/v{report.version}-{report.digest[:16]}.{fmt}"


def render(report: SalesReport, fmt: str) -> bytes:
    if fmt == "csv":
        return exports.to_csv(report)
    region = db.session.get(Region, report.region_code)
    return exports.to_xlsx(report, charts.monthly_series(region, report.period, 12))


def archive(report: SalesReport) -> None:
    """Store the approved report's files; removed again if the approval's transaction rolls back."""
    for fmt, mimetype in MIMETYPES.items():
        save_in_transaction(archive_key(report, fmt), render(report, fmt), mimetype)


def download(report: SalesReport, fmt: str) -> Response:
    """The export as an attachment: the archived file of an approved report, a fresh one otherwise."""
    if report.status != ReportStatus.APPROVED:
        response = Response(render(report, fmt), mimetype=MIMETYPES[fmt])
    else:
        key = archive_key(report, fmt)
        if not storage().exists(key):  # approved before exports were archived, or the file was lost
            storage().save(key, render(report, fmt), MIMETYPES[fmt])
        response = storage().response(key)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name(report, fmt)}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response
