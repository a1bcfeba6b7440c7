"""Batches and certificates (stations, counties), label sheets, test reports; the public trace page."""

from flask import Response, render_template
from flask_smorest import Blueprint

from core.auth import authenticated
from core.errors import NotFound
from core.extensions import limiter
from core.openapi import may_answer
from core.pagination import page_schema
from shop.batches import labels, services, trace
from shop.batches.models import BatchStatus
from shop.batches.schemas import (
    BatchArgs,
    BatchDetailSchema,
    BatchQueryArgs,
    BatchSchema,
    CorrectionArgs,
    LabelArgs,
    RevokeBatchArgs,
    TestReportFileArgs,
    TestReportSchema,
    TestReportUploadArgs,
    TraceSchema,
)
from shop.storage import storage

batches_blp = Blueprint(
    "batches", __name__, description="生产批次、承诺达标合格证、标签与溯源", template_folder="templates"
)
trace_page_blp = Blueprint(
    "trace_page", __name__, description="溯源页面（扫码打开，无需登录）", template_folder="templates"
)

# Scans are public: enough for a market stall, too few to walk the code space.
TRACE_LIMIT = "120 per minute"


@batches_blp.post("/batches")
@authenticated
@batches_blp.arguments(BatchArgs)
@batches_blp.response(201, BatchDetailSchema)
def record_batch(args, actor):
    """Record a harvest batch of a product with the 承诺达标合格证 issued for it (station manager)."""
    return services.record_batch(actor, args)


@batches_blp.get("/batches")
@authenticated
@batches_blp.arguments(BatchQueryArgs, location="query")
@batches_blp.response(200, page_schema(BatchSchema, "BatchPage"))
def list_batches(args, actor):
    """Batches of the stations in the caller's region, newest harvest first."""
    return services.list_batches(actor, args, args["page"], args["per_page"])


@batches_blp.get("/batches/<int:batch_id>")
@authenticated
@batches_blp.response(200, BatchDetailSchema)
def get_batch(batch_id, actor):
    """One batch with every certificate issued for it."""
    return services.batch_for_reader(actor, batch_id)


@batches_blp.post("/batches/<int:batch_id>/certificates")
@authenticated
@batches_blp.arguments(CorrectionArgs)
@batches_blp.response(201, BatchDetailSchema)
def correct_certificate(args, batch_id, actor):
    """Issue a corrected certificate; it supersedes the one in force, which is kept unchanged."""
    return services.correct_certificate(actor, batch_id, args)


@batches_blp.post("/batches/<int:batch_id>/close")
@authenticated
@batches_blp.response(200, BatchDetailSchema)
def close_batch(batch_id, actor):
    """Close a batch (sold out, spoiled): shipping no longer takes from it."""
    return services.close_batch(actor, batch_id)


@batches_blp.post("/batches/<int:batch_id>/revoke")
@authenticated
@batches_blp.arguments(RevokeBatchArgs)
@batches_blp.response(200, BatchDetailSchema)
def revoke_batch(args, batch_id, actor):
    """Revoke a batch (county admin); its trace page says so and no labels are printed."""
    return services.revoke_batch(actor, batch_id, args["reason"])


@batches_blp.get("/batches/<int:batch_id>/labels.pdf")
@authenticated
@batches_blp.arguments(LabelArgs, location="query")
@batches_blp.response(200, content_type="application/pdf")
@may_answer(batches_blp, 409)  # a revoked batch's labels are not printed
def label_sheets(args, batch_id, actor):
    """A4 sheets of 合格证 labels with the trace QR code (8 per sheet; ``count`` labels)."""
    batch = services.batch_for_reader(actor, batch_id)
    body = labels.labels_pdf(batch, args.get("count"))
    name = f"hegezheng-{batch.id}.pdf"
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@batches_blp.get("/batches/<int:batch_id>/qr.svg")
@authenticated
@batches_blp.response(200, content_type="image/svg+xml")
def qr_code(batch_id, actor):
    """The batch's trace QR code as SVG (for other label layouts)."""
    batch = services.batch_for_reader(actor, batch_id)
    return Response(labels.qr_svg(batch.trace_url), mimetype="image/svg+xml")


@batches_blp.post("/test-reports")
@authenticated
@batches_blp.arguments(TestReportUploadArgs, location="query")
@batches_blp.arguments(TestReportFileArgs, location="files")
@batches_blp.response(201, TestReportSchema)
def upload_test_report(args, files, actor):
    """Upload a test report (PDF, JPEG or PNG ≤ 5 MB) to cite in a certificate issued on testing."""
    return services.upload_test_report(actor, args["station_id"], files["file"])


@batches_blp.get("/test-reports/<int:report_id>")
@authenticated
@batches_blp.response(200, content_type="application/octet-stream")
def download_test_report(report_id, actor):
    """The test report file (staff of its station, county or city)."""
    report = services.test_report_for_reader(actor, report_id)
    return storage().response(report.key)


@batches_blp.get("/trace/<code>")
@limiter.limit(TRACE_LIMIT)
@batches_blp.response(200, TraceSchema)
def trace_json(code):
    """Public trace answer for a label's code (counts one scan); unknown code → 404."""
    return trace.trace_answer(trace.count_scan(code))


@trace_page_blp.get("/t/<code>")
@limiter.limit(TRACE_LIMIT)
@trace_page_blp.response(200, content_type="text/html")
@trace_page_blp.alt_response(404, description="未知的标签码：给人看的页面", content_type="text/html")
def trace_page(code):
    """The page a 合格证 label's QR code opens: origin, certificate and who benefits (counts one scan)."""
    try:
        answer = trace.trace_answer(trace.count_scan(code))
    except NotFound:
        return Response(render_template("batches/trace_unknown.html"), status=404, mimetype="text/html")
    return Response(render_template("batches/trace.html", t=answer, BatchStatus=BatchStatus), mimetype="text/html")
