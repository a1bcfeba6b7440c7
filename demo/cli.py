"""`flask demo …` commands."""

import click
from flask import current_app
from flask.cli import AppGroup

from core.unit_of_work import unit_of_work
from demo.gateway import DemoGatewayUnavailable, demo_simulator
from demo.seed import database_is_empty, seed_demo_city

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has regions.")
def seed_command(if_empty: bool) -> None:
    """Seed the demo city of 株洲 (idempotent)."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("refusing to seed demo data in production")
    if if_empty and not database_is_empty():
        click.echo("demo: database already seeded, nothing to do")
        return
    # The seed is a script: what normally follows a commit in the background (shipping
    # uploads, messages to sellers) runs inline, while the gateway simulator is still up.
    current_app.config["TASKS_EAGER"] = True
    try:
        with demo_simulator(current_app) as sandbox_url, unit_of_work():
            result = seed_demo_city()
    except DemoGatewayUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"demo: 株洲市 with {result['villages']} demo villages")
    if result.get("stations"):
        click.echo(f"demo: {result['centres']} county centres, {result['stations']} service stations")
    if result.get("catalogue"):
        counts = result["catalogue"]
        click.echo(
            f"demo: {counts['products']} products, {counts['on_sale']} on sale, "
            f"{counts['certified']} certified poverty-alleviation products"
        )
    if result.get("batches"):
        counts = result["batches"]
        click.echo(
            f"demo: {counts['batches']} harvest batches with 合格证 ({counts['tested']} on test reports), "
            f"{counts['monitored']} 监测对象 households, "
            f"{counts['consented']} sellers agreed to be named on trace pages"
        )
    if result.get("history"):
        counts = result["history"]
        click.echo(
            f"demo: the last {counts['months']} months in all {counts['counties']} counties — "
            f"{counts['orders']} orders ({counts['refunds']} refunded), "
            f"{counts['payouts']} payouts (炎陵县, 茶陵县: quarterly), "
            f"{counts['reports']} monthly reports (last month's: one awaiting review, one sent back)"
        )
    if result.get("settlement"):
        counts = result["settlement"]
        click.echo(
            f"demo: {counts['orders']} orders in 炎陵县, {counts['released_lines']} past the settlement hold, "
            f"a payout batch of {counts['payouts']} transfers (pending: run `flask settlements retry-payouts` "
            "with the sandbox up to send them)"
        )
    if result.get("orders"):
        states = sorted(set(result["orders"].values()) - {result["orders"]["refund_requests"]}, key=str)
        click.echo(f"demo: orders in every state ({', '.join(map(str, states))}), paid through the simulator")
    if result.get("orders") or result.get("settlement"):
        click.echo(f"demo: the gateway simulator ({sandbox_url}) kept them in its state file; reconcile with")
        click.echo("      `flask payments reconcile --date YYYY-MM-DD` while `flask sandbox serve` runs")
    if result.get("units"):
        counts = result["units"]
        click.echo(
            f"demo: {counts['units']} units (a county bureau, 株洲市中心医院, a school, its union) with targets, "
            f"{counts['transfer_orders']} canteen orders by bank transfer, a union gift to "
            f"{counts['welfare_recipients']} employees ({counts['welfare_shipped']} shipped)"
        )
    if result.get("presale_pickup"):
        made = result["presale_pickup"]
        own = "a 明前茶 pre-sale (ships 03-25 – 04-10) and " if made.get("own_presale") else ""
        click.echo(
            f"demo: a pre-sale of 炎陵黄桃 ({made['presale_sold']} sold, ships 07-20 – 08-05); {own}"
            f"pickup orders ({', '.join(made['pickups'])}) at the demo manager's station (liu)"
        )
    if result.get("groups"):
        click.echo(
            f"demo: group buying (拼团) — one group {result['groups']['succeeded']}, one {result['groups']['expired']} "
            f"with its {result['groups']['refunds']} members refunded through the channel each paid with"
        )
    click.echo("demo staff accounts (username / password / role):")
    for username, password, role, created in result["staff"]:
        click.echo(f"  {username:10} {password:22} {role}{'' if created else ' (existing)'}")


@demo_cli.command("walk")
@click.option("--app-url", default=None, help="The running app (default PUBLIC_BASE_URL).")
@click.option("--sandbox-url", default=None, help="The gateway simulator (default SANDBOX_URL).")
def walk_command(app_url: str | None, sandbox_url: str | None) -> None:
    """Log in a demo buyer, order and pay with each channel through the sandbox (needs `make run`)."""
    from demo.walk import WalkFailed, walk

    config = current_app.config
    try:
        walk(app_url or config["PUBLIC_BASE_URL"], sandbox_url or config["SANDBOX_URL"], echo=click.echo)
    except (WalkFailed, OSError) as exc:
        raise click.ClickException(f"{exc} — is `make run` running?") from exc
    click.echo("demo walk: every channel paid")
