"""`flask ledger verify` and `flask settlements …`: the settlement jobs (Celery beat runs them; these run them now)."""

from datetime import datetime

import click
from flask.cli import AppGroup

from core.db import utcnow
from core.extensions import db
from payments.ledger.tasks import release_all, retry_payouts
from payments.ledger.verify import verify_ledger

ledger_cli = AppGroup("ledger", help="The settlement ledger.")
settlements_cli = AppGroup("settlements", help="Settlement jobs: release holds, retry payouts.")


@ledger_cli.command("verify")
def verify_command() -> None:
    """Check every posting balances and no party balance is negative; exit 1 on any problem."""
    problems = verify_ledger()
    db.session.rollback()
    for problem in problems:
        click.echo(f"PROBLEM {problem}")
    if problems:
        raise SystemExit(1)
    click.echo("ledger: every posting balances, no negative balances")


@settlements_cli.command("release")
@click.option("--now", "now", type=click.DateTime(), default=None, help="Pretend it is this UTC time (demo).")
@click.option("--batch-size", default=200, show_default=True)
def release_command(now: datetime | None, batch_size: int) -> None:
    """Make money available for lines whose hold has ended (safe to run twice, or in parallel)."""
    moment = now.replace(tzinfo=utcnow().tzinfo) if now else None
    click.echo(f"lines released: {release_all(moment, batch_size)}")


@settlements_cli.command("retry-payouts")
def retry_payouts_command() -> None:
    """Query, then if needed resend, every payout the gateway has not settled."""
    click.echo(f"payouts checked: {retry_payouts()}")
