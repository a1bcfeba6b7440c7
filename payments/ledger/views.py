"""Settlement API: balances, the county payout batch and the payout list."""

from flask_smorest import Blueprint

from core.auth import authenticated
from core.idempotency import idempotent
from core.pagination import page_schema
from payments.ledger import payouts
from payments.ledger import queries as ledger_queries
from payments.ledger.schemas import (
    BalanceArgs,
    BalanceSchema,
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
