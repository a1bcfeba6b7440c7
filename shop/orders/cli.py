"""`flask orders expire` and `flask orders auto-confirm`: the periodic jobs of shop/orders/tasks.py, by hand."""

import click
from flask.cli import AppGroup

from shop.orders.tasks import auto_confirm_orders, expire_orders

orders_cli = AppGroup("orders", help="Order housekeeping jobs (Celery beat runs them; these run them now).")


@orders_cli.command("expire")
@click.option("--batch-size", default=100, show_default=True)
def expire_command(batch_size: int) -> None:
    """Cancel unpaid orders past their deadline and release their stock."""
    click.echo(f"orders: {expire_orders(batch_size)} expired")


@orders_cli.command("auto-confirm")
@click.option("--batch-size", default=100, show_default=True)
def auto_confirm_command(batch_size: int) -> None:
    """Complete orders shipped more than ORDER_AUTO_CONFIRM_DAYS ago."""
    click.echo(f"orders: {auto_confirm_orders(batch_size)} confirmed")
