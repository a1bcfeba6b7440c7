"""Which console areas each role sees: the menu and the role check of each area's views."""

from dataclasses import dataclass

from flask import current_app

from core.models import Role, User
from reports.snapshots import READERS as REPORT_READERS
from shop.access import REVIEWERS
from villages.access import COUNTY_MANAGERS

DASHBOARD_ROLES = (Role.PLATFORM_ADMIN, Role.POVERTY_OFFICE, Role.COUNTY_ADMIN)
COUNTY_ROLES = COUNTY_MANAGERS
REVIEW_ROLES = REVIEWERS
STATION_ROLES = (Role.STATION_MANAGER,)
ORDER_ROLES = (Role.PLATFORM_ADMIN, Role.POVERTY_OFFICE, Role.COUNTY_ADMIN)
REPORT_ROLES = REPORT_READERS
ADMIN_ROLES = (Role.PLATFORM_ADMIN,)


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    area: str  # the blueprint whose pages highlight this item
    roles: tuple[str, ...]


MENU = (
    MenuItem("console.dashboard.index", "console.dashboard", DASHBOARD_ROLES),
    MenuItem("console.station_work.index", "console.station_work", STATION_ROLES),
    MenuItem("console.stations.index", "console.stations", COUNTY_ROLES),
    MenuItem("console.review.queue", "console.review", REVIEW_ROLES),
    MenuItem("console.orders.index", "console.orders", ORDER_ROLES),
    MenuItem("console.settlement.index", "console.settlement", COUNTY_ROLES),
    MenuItem("console.reports.index", "console.reports", REPORT_ROLES),
    MenuItem("console.admin.index", "console.admin", ADMIN_ROLES),
)


def menu_for(user: User | None) -> list[MenuItem]:
    """The areas ``user`` may open, in menu order."""
    if user is None:
        return []
    return [item for item in MENU if user.has_role(*item.roles) and item.endpoint in current_app.view_functions]


def home_endpoint(user: User) -> str:
    """Where a staff member lands after signing in: the first area of their menu."""
    items = menu_for(user)
    return items[0].endpoint if items else "console.auth.login"
