"""Village service stations and their manager accounts."""

import sqlalchemy as sa

from core.auth import ensure_in_scope, ensure_overlaps
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, RoleGrant, User
from core.pagination import paginate
from core.services import grant_role, hash_password
from villages.access import county_scope, ensure_station_access, read_scope
from villages.models import Centre, Region, RegionLevel, Station, StationStatus


def get_station(station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound("服务站不存在")
    return station


def _centre_for(village_code: str, centre_id: int | None) -> Centre:
    county = village_code[:6]
    if centre_id is not None:
        centre = db.session.get(Centre, centre_id)
        if centre is None or centre.county_code != county:
            raise ValidationFailed.field("centre_id", "电商中心不存在或不在该县")
        return centre
    centres = db.session.scalars(sa.select(Centre).where(Centre.county_code == county)).all()
    if not centres:
        raise Conflict("该县尚未设立县域电商中心，请先设立中心")
    if len(centres) > 1:
        raise ValidationFailed.field("centre_id", "该县有多个电商中心，请指定 centre_id")
    return centres[0]


def _check_rates(service_fee_bps: int, centre: Centre) -> None:
    """A line cannot give away more than all of itself: fee + commission ≤ 100%."""
    if service_fee_bps + centre.commission_bps > 10000:
        raise ValidationFailed.field(
            "service_fee_bps", f"服务费与县域电商中心佣金（{centre.commission_bps} 基点）之和不能超过 10000 基点"
        )


def add_manager(station: Station, username: str, password: str, display_name: str | None) -> User:
    """Create a station manager account bound to ``station``."""
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ValidationFailed.field("manager.username", "用户名已被使用")
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    grant_role(user, Role.STATION_MANAGER, region_code=station.village_code, station_id=station.id)
    return user


def create_station(actor: User, data: dict) -> Station:
    """Open a station in a village of the actor's county."""
    village = db.session.get(Region, data["village_code"])
    if village is None or village.level != RegionLevel.VILLAGE:
        raise ValidationFailed.field("village_code", "村级行政区代码不存在")
    ensure_in_scope(county_scope(actor), village.code)
    centre = _centre_for(village.code, data.get("centre_id"))
    _check_rates(data["service_fee_bps"], centre)
    station = Station(
        village_code=village.code,
        centre=centre,
        name=data["name"],
        address=data["address"],
        service_fee_bps=data["service_fee_bps"],
    )
    db.session.add(station)
    db.session.flush()
    manager = data.get("manager")
    if manager:
        add_manager(station, manager["username"], manager["password"], manager.get("display_name"))
    return station


def list_stations(actor: User, region: str | None, status: str | None, page: int, per_page: int) -> dict:
    scope = read_scope(actor)
    statement = (
        sa.select(Station)
        .where(scope.filter(Station.village_code), scope.station_filter(Station.id))
        .order_by(Station.id)
    )
    if region:
        ensure_overlaps(scope, region)
        statement = statement.where(Station.village_code.startswith(region, autoescape=True))
    if status:
        statement = statement.where(Station.status == status)
    return paginate(statement, page, per_page)


def station_for_reader(actor: User, station_id: int) -> Station:
    station = get_station(station_id)
    ensure_station_access(read_scope(actor), station)
    return station


def station_for_county_admin(actor: User, station_id: int) -> Station:
    station = get_station(station_id)
    ensure_in_scope(county_scope(actor), station.village_code, hide=True)
    return station


def update_station(actor: User, station_id: int, changes: dict) -> Station:
    station = station_for_county_admin(actor, station_id)
    if "service_fee_bps" in changes:
        _check_rates(changes["service_fee_bps"], station.centre)
    for field in ("name", "address", "service_fee_bps", "payout_alipay_account", "offers_pickup"):
        if field in changes:
            setattr(station, field, changes[field])
    db.session.flush()
    return station


def suspend_station(actor: User, station_id: int, reason: str) -> Station:
    """Suspend a station: it can no longer register sellers or list products."""
    station = station_for_county_admin(actor, station_id)
    if station.status == StationStatus.SUSPENDED:
        raise Conflict("服务站已处于暂停状态")
    station.status, station.suspended_reason = StationStatus.SUSPENDED, reason
    db.session.flush()
    return station


def reactivate_station(actor: User, station_id: int) -> Station:
    station = station_for_county_admin(actor, station_id)
    if station.status == StationStatus.ACTIVE:
        raise Conflict("服务站已在运营")
    station.status, station.suspended_reason = StationStatus.ACTIVE, None
    db.session.flush()
    return station


def ensure_active(station: Station) -> None:
    if station.status != StationStatus.ACTIVE:
        raise Conflict("服务站已暂停，不能办理此业务")


def station_managers(actor: User, station_id: int) -> list[User]:
    """The manager accounts of a station (county admin of its county)."""
    station = station_for_county_admin(actor, station_id)
    return list(
        db.session.scalars(
            sa.select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == Role.STATION_MANAGER, RoleGrant.station_id == station.id)
            .order_by(User.id)
        ).unique()
    )


def set_manager_active(actor: User, station_id: int, user_id: int, active: bool) -> User:
    """Suspend or restore a station manager's account; suspending ends every sign-in at once."""
    managers = {user.id: user for user in station_managers(actor, station_id)}
    user = managers.get(user_id)
    if user is None:
        raise NotFound("该服务站没有这个站长账号")
    if user.has_role(Role.COUNTY_ADMIN, Role.POVERTY_OFFICE, Role.PLATFORM_ADMIN):
        raise Conflict("该账号还有其他管理角色，请由平台管理员处理")
    if user.is_active == active:
        raise Conflict("账号已是正常状态" if active else "账号已停用")
    user.is_active = active
    if not active:
        user.token_version += 1  # revokes API tokens and console sessions
    db.session.flush()
    return user
