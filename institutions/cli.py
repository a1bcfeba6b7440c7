"""`flask units auto-confirm-deliveries`: a plain, restart-safe job (run it hourly)."""

import click
from flask.cli import AppGroup

from core.unit_of_work import run_in_batches
from institutions.deliveries import auto_confirm_deliveries

units_cli = AppGroup("units", help="Unit (institution) housekeeping jobs.")


@units_cli.command("auto-confirm-deliveries")
@click.option("--batch-size", default=100, show_default=True)
def auto_confirm_command(batch_size: int) -> None:
    """Welfare recipients whose parcel left ORDER_AUTO_CONFIRM_DAYS ago count as received."""
    total = run_in_batches(auto_confirm_deliveries, batch_size)  # commits per batch
    click.echo(f"units: recipients of {total} orders confirmed")
