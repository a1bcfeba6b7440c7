"""Settlement API: balances, the county payout batch and the payout list."""

from flask_smorest import Blueprint

from core.auth import login_required, require_user
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
@login_required
@ledger_blp.arguments(BalanceArgs, location="query")
@ledger_blp.response(200, BalanceSchema)
def balances(args):
    """Pending, available and paid-out money of a seller, station, centre or the platform (scoped)."""
    return ledger_queries.balances_for(require_user(), args["owner"])


@ledger_blp.post("/settlements/run")
@idempotent
@ledger_blp.arguments(SettlementRunArgs)
@ledger_blp.response(201, PayoutBatchSchema)
@login_required
def run_settlement(args):
    """Create a county's payout batch; the Alipay transfers run after it is saved (county admin)."""
    return payouts.run_settlement(require_user(), args["county_code"])


@ledger_blp.get("/payouts")
@login_required
@ledger_blp.arguments(PayoutQueryArgs, location="query")
@ledger_blp.response(200, page_schema(PayoutSchema, "PayoutPage"))
def list_payouts(args):
    """Payouts under the caller's region with status, failure reason and dates, newest first."""
    return ledger_queries.list_payouts(
        require_user(), args.get("region"), args.get("status"), args.get("batch_id"), args["page"], args["per_page"]
    )
