"""`flask regions …` and `flask users …` commands."""

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from core.extensions import db
from core.models import STAFF_ROLES, Role, User
from core.services import grant_role, hash_password
from core.unit_of_work import unit_of_work
from villages.models import Region, RegionLevel
from villages.regions import RegionImportError, import_regions

regions_cli = AppGroup("regions", help="Administrative regions.")
users_cli = AppGroup("users", help="Staff accounts.")


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


def _check_region(role: str, region: str | None) -> None:
    wanted = {Role.COUNTY_ADMIN: RegionLevel.COUNTY, Role.POVERTY_OFFICE: RegionLevel.CITY}.get(role)
    if wanted is None:
        return
    if not region:
        raise click.UsageError(f"--region is required for {role}")
    found = db.session.get(Region, region)
    if found is None or found.level != wanted:
        raise click.UsageError(f"--region {region} is not a known {wanted} code")


def create_staff(username: str, password: str, role: str, region: str | None, station: int | None) -> User:
    """Create a staff user with one grant, or add the grant to an existing one."""
    if role not in STAFF_ROLES:
        raise click.UsageError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < 8:
        raise click.UsageError("password must have at least 8 characters")
    _check_region(role, region)
    station_id = None
    if role == Role.STATION_MANAGER:
        from villages.stations import station_region_for_manager

        if station is None:
            raise click.UsageError("--station is required for station_manager")
        region, station_id = station_region_for_manager(station), station
    elif role == Role.PLATFORM_ADMIN:
        region = None
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=username, password_hash=hash_password(password))
        db.session.add(user)
        db.session.flush()
    grant_role(user, role, region_code=region, station_id=station_id)
    return user


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
