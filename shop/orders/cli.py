"""`flask orders expire` and `flask orders auto-confirm`: plain, restart-safe jobs."""

import click
from flask.cli import AppGroup

from core.extensions import db
from shop.orders.fulfilment import auto_confirm_shipped_orders, expire_overdue_orders

orders_cli = AppGroup("orders", help="Order housekeeping jobs (run them from cron or a scheduler).")


def _run_in_batches(job, batch_size: int) -> int:
    total = 0
    while True:
        done = job(batch_size=batch_size)
        db.session.commit()
        total += done
        if done < batch_size:
            return total


@orders_cli.command("expire")
@click.option("--batch-size", default=100, show_default=True)
def expire_command(batch_size: int) -> None:
    """Cancel unpaid orders past their deadline and release their stock."""
    click.echo(f"orders: {_run_in_batches(expire_overdue_orders, batch_size)} expired")


@orders_cli.command("auto-confirm")
@click.option("--batch-size", default=100, show_default=True)
def auto_confirm_command(batch_size: int) -> None:
    """Complete orders shipped more than ORDER_AUTO_CONFIRM_DAYS ago."""
    click.echo(f"orders: {_run_in_batches(auto_confirm_shipped_orders, batch_size)} confirmed")
