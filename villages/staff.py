"""Staff accounts: platform admins create them, bound to their county, city or station, and suspend them."""

import sqlalchemy as sa

from core.auth import scope_for
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import STAFF_ROLES, Role, RoleGrant, User
from core.pagination import paginate
from core.services import grant_role, hash_password
from villages.models import Region, RegionLevel, Station

# The level of region each scoped role is bound to (station managers: their station's village).
ROLE_LEVELS = {Role.COUNTY_ADMIN: RegionLevel.COUNTY, Role.POVERTY_OFFICE: RegionLevel.CITY}


def list_staff(actor: User, page: int, per_page: int) -> dict:
    """Every account holding a staff role, oldest first (platform admins)."""
    scope_for(actor, Role.PLATFORM_ADMIN)
    staff_ids = sa.select(RoleGrant.user_id).where(RoleGrant.role.in_(STAFF_ROLES))
    return paginate(sa.select(User).where(User.id.in_(staff_ids)).order_by(User.id), page, per_page)


def staff_binding(role: str, region_code: str | None, station_id: int | None) -> tuple[str | None, int | None]:
    """Where a role is bound: (region code, station id); a station manager to their station's village."""
    if role == Role.PLATFORM_ADMIN:
        return None, None
    if role == Role.STATION_MANAGER:
        station = db.session.get(Station, station_id) if station_id else None
        if station is None:
            raise ValidationFailed.field("station_id", "请填写存在的服务站编号")
        return station.village_code, station.id
    region = db.session.get(Region, region_code or "")
    if region is None or region.level != ROLE_LEVELS[role]:
        raise ValidationFailed.field("region_code", f"请填写{ROLE_LEVELS[role].label}的行政区划代码")
    return region.code, None


def _new_account(username: str, password: str, display_name: str | None) -> User:
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def create_staff_account(actor: User, data: dict) -> User:
    """A new staff account with one role, bound to its county, city or station (platform admins)."""
    scope_for(actor, Role.PLATFORM_ADMIN)
    if db.session.scalar(sa.select(User.id).where(User.username == data["username"])) is not None:
        raise ValidationFailed.field("username", "用户名已被使用")
    region_code, station_id = staff_binding(data["role"], data.get("region_code"), data.get("station_id"))
    user = _new_account(data["username"], data["password"], data.get("display_name"))
    grant_role(user, data["role"], region_code=region_code, station_id=station_id)
    return user


def grant_staff_role(username: str, password: str, role: str, region_code: str | None, station_id: int | None) -> User:
    """The operator's way in (``flask users create-staff``, the demo seed): create the account or add the role."""
    region_code, station_id = staff_binding(role, region_code, station_id)
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        user = _new_account(username, password, None)
    grant_role(user, role, region_code=region_code, station_id=station_id)
    return user


def set_staff_active(actor: User, user_id: int, active: bool) -> User:
    """Suspend (every API token and console session ends at once) or restore an account."""
    scope_for(actor, Role.PLATFORM_ADMIN)
    user = db.session.get(User, user_id)
    if user is None or not user.has_role(*STAFF_ROLES):
        raise NotFound("账号不存在")
    if user.id == actor.id:
        raise Conflict("不能停用自己的账号")
    if user.is_active == active:
        raise Conflict("账号已是正常状态" if active else "账号已停用")
    user.is_active = active
    if not active:
        user.token_version += 1
    db.session.flush()
    return user
