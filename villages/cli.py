"""`flask regions …` and `flask users …` commands."""

from pathlib import Path

import click
from flask.cli import AppGroup

from core.errors import ValidationFailed
from core.models import STAFF_ROLES, User
from core.unit_of_work import unit_of_work
from villages.regions import RegionImportError, import_regions
from villages.staff import grant_staff_role

regions_cli = AppGroup("regions", help="Administrative regions.")
users_cli = AppGroup("users", help="Staff accounts.")
# The command-line option of each field villages.staff may complain about.
OPTIONS = {"region_code": "region", "station_id": "station"}


@regions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Import regions from a CSV with columns code,name,level,parent_code."""
    try:
        with unit_of_work():
            result = import_regions(path.read_text(encoding="utf-8"))
    except RegionImportError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    click.echo(f"regions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")


def create_staff(username: str, password: str, role: str, region: str | None, station: int | None) -> User:
    """Create a staff user with one grant, or add the grant to an existing one (``villages.staff``)."""
    if role not in STAFF_ROLES:
        raise click.UsageError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < 8:
        raise click.UsageError("password must have at least 8 characters")
    try:
        return grant_staff_role(username, password, role, region, station)
    except ValidationFailed as exc:
        problems = "; ".join(f"--{OPTIONS[name]}: {' '.join(messages)}" for name, messages in exc.details.items())
        raise click.UsageError(problems) from exc


@users_cli.command("create-staff")
@click.argument("username")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--role", required=True, type=click.Choice([role.value for role in STAFF_ROLES]))
@click.option("--region", help="County code for county_admin, city code for poverty_office.")
@click.option("--station", type=int, help="Station id for station_manager.")
def create_staff_command(username, password, role, region, station) -> None:
    """Create a staff account (or add a role to an existing one)."""
    with unit_of_work():
        user = create_staff(username, password, role, region, station)
    click.echo(f"user {user.username} (id {user.id}): roles {', '.join(user.roles)}")
