"""`flask payments …`: catch missed notifications, retry refunds and shipping uploads, reconcile bills."""

import click
from flask.cli import AppGroup

from core.extensions import db
from payments.ledger.reconcile import reconcile_day
from payments.order_centre import DEFAULT_PATH, OrderDetailPathRefused, update_order_detail_path
from payments.tasks import retry_refunds, retry_uploads, sync_payments

payments_cli = AppGroup("payments", help="Payment housekeeping (Celery beat runs them; these run them now).")


@payments_cli.command("sync")
@click.option("--older-than", "older_than", default=5, show_default=True, help="Minutes a payment has been pending.")
def sync_command(older_than: int) -> None:
    """Query every payment pending longer than N minutes and apply the gateway's answer."""
    counts = sync_payments(older_than)
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@payments_cli.command("retry-refunds")
def retry_refunds_command() -> None:
    """Send or re-check refunds the gateway has not confirmed yet."""
    click.echo(f"refunds checked: {retry_refunds()}")


@payments_cli.command("retry-uploads")
def retry_uploads_command() -> None:
    """Upload shipping information that WeChat has not accepted yet."""
    click.echo(f"shipping uploads tried: {retry_uploads()}")


@payments_cli.command("reconcile")
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Beijing date.")
def reconcile_command(day) -> None:
    """Compare each gateway's bill for the day with payments, refunds and the ledger; exit 1 on differences."""
    reports = reconcile_day(day.date())
    db.session.rollback()
    differences = 0
    for report in reports:
        click.echo(
            f"{report.gateway}: bill {report.bill_payments} payments {report.paid_fen} fen, "
            f"{report.bill_refunds} refunds {report.refunded_fen} fen; {len(report.differences)} differences"
        )
        for item in report.differences:
            click.echo(f"  {item.kind:20} {item.reference:32} {item.detail}")
        differences += len(report.differences)
    if differences:
        raise SystemExit(1)


@payments_cli.command("order-detail-path")
@click.option("--path", default=DEFAULT_PATH, show_default=True, help="Mini-program page; must contain ${商品订单号}.")
def order_detail_path_command(path: str) -> None:
    """Tell WeChat which mini-program page shows an order from 小程序购物订单 (run once per mini-program)."""
    try:
        update_order_detail_path(path)
    except (OrderDetailPathRefused, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"order detail path set: {path}")
