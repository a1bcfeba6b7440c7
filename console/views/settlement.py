"""结算 (county): balances per party, the payout batch run in the background with a refreshing status, failures."""

from flask import Blueprint, Response, redirect, render_template, request, url_for

from console.auth import signed_in_staff, staff_required
from console.feedback import notify
from console.forms import form_page, load_form
from console.menus import COUNTY_ROLES
from console.services import settlement as settlement_queries
from payments.ledger import bank_payouts, payouts
from payments.ledger import queries as ledger_queries
from payments.ledger.models import PayoutStatus
from payments.ledger.schemas import BankFileArgs, SettlementRunArgs

bp = Blueprint("settlement", __name__, url_prefix="/settlement")


@bp.get("/")
@staff_required(*COUNTY_ROLES)
def index():
    """Every party's pending, available and paid-out money; run a batch; recent batches."""
    region, counties = settlement_queries.settlement_region(signed_in_staff(), request.args.get("county"))
    context = {"region": region, "counties": counties}
    if not counties:
        context |= {
            "balances": ledger_queries.county_balances(region.code),
            "batches": settlement_queries.recent_batches(region.code),
            "failed": ledger_queries.list_payouts(signed_in_staff(), region.code, PayoutStatus.FAILED, None, 1, 1)[
                "total"
            ],
        }
    return render_template("settlement/index.html", **context)


@bp.post("/run")
@staff_required(*COUNTY_ROLES)
@form_page(index)
def run():
    """Create the county's payout batch; the Alipay transfers run in the background after it is saved."""
    data = load_form(SettlementRunArgs())
    result = payouts.run_settlement(signed_in_staff(), data["county_code"])
    batch = result["batch"]
    notify("payout_started", batch_id=batch.id, count=len(batch.payouts) + result["retried"])
    return redirect(url_for(".batch", batch_id=batch.id, skipped=len(result["skipped"])))


@bp.get("/batches/<int:batch_id>")
@staff_required(*COUNTY_ROLES)
def batch(batch_id: int):
    """A batch's transfers; the status part refreshes itself until every transfer has finished."""
    record = settlement_queries.batch_for(signed_in_staff(), batch_id)
    return render_template(
        "settlement/batch.html",
        batch=record,
        finished=settlement_queries.is_finished(record),
        skipped=request.args.get("skipped", type=int),
    )


@bp.get("/batches/<int:batch_id>/status")
@staff_required(*COUNTY_ROLES)
def batch_status(batch_id: int):
    """The transfers' table alone (htmx polls it)."""
    record = settlement_queries.batch_for(signed_in_staff(), batch_id)
    return render_template(
        "settlement/_batch_status.html", batch=record, finished=settlement_queries.is_finished(record)
    )


@bp.get("/payouts")
@staff_required(*COUNTY_ROLES)
def failed():
    """Failed transfers with the gateway's reason; their money is back in the party's available balance."""
    region, _ = settlement_queries.settlement_region(signed_in_staff(), request.args.get("county"))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = ledger_queries.list_payouts(signed_in_staff(), region.code, PayoutStatus.FAILED, None, page, 50)
    return render_template("settlement/failed.html", region=region, result=result)


@bp.post("/batches/<int:batch_id>/bank-file")
@staff_required(*COUNTY_ROLES)
@form_page(batch)
def bank_file(batch_id: int):
    """Download the batch's 银行代发 upload file; its lines are in transfer from now on."""
    data = load_form(BankFileArgs())
    content, mimetype, filename = bank_payouts.export_bank_file(signed_in_staff(), batch_id, data["format"])
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/batches/<int:batch_id>/bank-results")
@staff_required(*COUNTY_ROLES)
@form_page(batch)
def bank_results(batch_id: int):
    """Import the bank's result file; each line paid or failed, and what could not be applied is listed."""
    upload = request.files.get("file")
    data = upload.stream.read(bank_payouts.MAX_RESULT_BYTES + 1) if upload else b""
    name = upload.filename if upload else ""
    summary = bank_payouts.import_bank_results(signed_in_staff(), batch_id, data, name or "")
    notify("bank_results", paid=summary["paid"], failed=summary["failed"], unchanged=summary["unchanged"])
    return render_template(
        "settlement/batch.html",
        batch=settlement_queries.batch_for(signed_in_staff(), batch_id),
        finished=True,
        bank_summary=summary,
    )
