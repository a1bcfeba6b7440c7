"""Settlement API: balances, the county payout batch and the payout list."""

from flask import Response
from flask_smorest import Blueprint

from core.auth import authenticated
from core.idempotency import idempotent
from core.pagination import page_schema
from payments.ledger import bank_payouts, payouts
from payments.ledger import queries as ledger_queries
from payments.ledger.schemas import (
    BalanceArgs,
    BalanceSchema,
    BankAccountArgs,
    BankAccountSchema,
    BankFileArgs,
    BankResultSchema,
    BankResultUploadArgs,
    PayoutBatchSchema,
    PayoutQueryArgs,
    PayoutSchema,
    SettlementRunArgs,
)

ledger_blp = Blueprint("ledger", __name__, description="结算：余额、打款批次与打款记录")


@ledger_blp.get("/ledger/balances")
@authenticated
@ledger_blp.arguments(BalanceArgs, location="query")
@ledger_blp.response(200, BalanceSchema)
def balances(args, actor):
    """Pending, available and paid-out money of a seller, station, centre or the platform (scoped)."""
    return ledger_queries.balances_for(actor, args["owner"])


@ledger_blp.post("/settlements/run")
@authenticated
@idempotent
@ledger_blp.arguments(SettlementRunArgs)
@ledger_blp.response(201, PayoutBatchSchema)
def run_settlement(args, actor):
    """Create a county's payout batch; the Alipay transfers run after it is saved (county admin)."""
    return payouts.run_settlement(actor, args["county_code"])


@ledger_blp.get("/payouts")
@authenticated
@ledger_blp.arguments(PayoutQueryArgs, location="query")
@ledger_blp.response(200, page_schema(PayoutSchema, "PayoutPage"))
def list_payouts(args, actor):
    """Payouts under the caller's region with status, failure reason and dates, newest first."""
    return ledger_queries.list_payouts(
        actor, args.get("region"), args.get("status"), args.get("batch_id"), args["page"], args["per_page"]
    )


@ledger_blp.put("/sellers/<int:seller_id>/bank-account")
@authenticated
@ledger_blp.arguments(BankAccountArgs)
@ledger_blp.response(200, BankAccountSchema)
def put_seller_bank_account(args, seller_id, actor):
    """Record the bank card a villager is paid into, with her consent (her station; a change: the county)."""
    return bank_payouts.record_seller_bank_account(actor, seller_id, args)


@ledger_blp.put("/stations/<int:station_id>/bank-account")
@authenticated
@ledger_blp.arguments(BankAccountArgs)
@ledger_blp.response(200, BankAccountSchema)
def put_station_bank_account(args, station_id, actor):
    """Record the account a station's 服务费 is paid into (county admin)."""
    return bank_payouts.record_station_bank_account(actor, station_id, args)


@ledger_blp.post("/payout-batches/<int:batch_id>/bank-file")
@authenticated
@ledger_blp.arguments(BankFileArgs, location="query")
@ledger_blp.response(200, content_type="application/octet-stream")
def bank_file(args, batch_id, actor):
    """The batch's 银行代发 upload file (XLSX or CSV); its lines are in transfer from now on (county admin)."""
    data, mimetype, filename = bank_payouts.export_bank_file(actor, batch_id, args["format"])
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@ledger_blp.post("/payout-batches/<int:batch_id>/bank-results")
@authenticated
@ledger_blp.arguments(BankResultUploadArgs, location="files")
@ledger_blp.response(200, BankResultSchema)
def bank_results(args, batch_id, actor):
    """Import the bank's result file: each line paid or failed (money back to available); twice changes nothing."""
    upload = args["file"]
    return bank_payouts.import_bank_results(
        actor, batch_id, upload.stream.read(bank_payouts.MAX_RESULT_BYTES + 1), upload.filename or ""
    )
