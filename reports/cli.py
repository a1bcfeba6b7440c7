"""`flask reports verify ID`: recompute a report's digest and show drift, never rewriting it."""

import click
from flask.cli import AppGroup

from core.errors import NotFound
from core.extensions import db
from reports.models import SalesReport
from reports.snapshots import verify_report

reports_cli = AppGroup("reports", help="Monthly sales reports.")


@reports_cli.command("verify")
@click.argument("report_id", type=int)
def verify_command(report_id: int) -> None:
    """Exit 1 if the stored snapshot no longer matches its SM3 digest; list drift either way."""
    report = db.session.get(SalesReport, report_id)
    if report is None:
        raise click.ClickException(str(NotFound("报表不存在")))
    result = verify_report(report)
    click.echo(f"report {report.id} {report.region_code} {report.period} ({report.status}), SM3 {report.digest}")
    click.echo("digest: ok" if result["digest_ok"] else "digest: MISMATCH — the stored snapshot was altered")
    if not result["drift"]:
        click.echo("drift: none — the live figures equal the snapshot")
    for item in result["drift"]:
        click.echo(f"drift: {item['field']}: frozen {item['frozen']} → live {item['live']}")
    if not result["digest_ok"]:
        raise SystemExit(1)
