"""Who may read or change what in the villages package (roles → scopes)."""

from core.auth import Scope, ensure_in_scope, scope_for
from core.models import STAFF_ROLES, Role, User

STAFF_READERS = STAFF_ROLES
COUNTY_MANAGERS = (Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN)
SELLER_MANAGERS = (Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.STATION_MANAGER)


def read_scope(user: User) -> Scope:
    return scope_for(user, *STAFF_READERS)


def county_scope(user: User) -> Scope:
    return scope_for(user, *COUNTY_MANAGERS)


def ensure_station_access(scope: Scope, station, *, hide: bool = True) -> None:
    """The station lies in the scope and, for station managers, is theirs."""
    ensure_in_scope(scope, station.village_code, hide=hide)
    if not scope.covers_station(station.id):
        ensure_in_scope(Scope(prefixes=()), station.village_code, hide=hide)
