"""Who may list, review or see which products (roles → scopes, via core.auth)."""

from core.auth import Scope, ensure_in_scope, scope_for
from core.errors import NotFound
from core.extensions import db
from core.models import Role, User
from shop.models import Product
from villages.access import STAFF_READERS, ensure_station_access

# Station managers list for their own station; county and platform admins may step in.
LISTING_MANAGERS = (Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.STATION_MANAGER)
REVIEWERS = (Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN)


def listing_scope(user: User) -> Scope:
    """Where ``user`` may list and edit products."""
    return scope_for(user, *LISTING_MANAGERS)


def review_scope(user: User) -> Scope:
    """Where ``user`` may review and certify products."""
    return scope_for(user, *REVIEWERS)


def get_product(product_id: int) -> Product:
    """The product, or 404."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("商品不存在")
    return product


def _ensure_product_access(scope: Scope, product: Product) -> None:
    # A product buyers can see exists for everyone, so 403 reveals nothing; otherwise 404.
    ensure_station_access(scope, product.station, hide=not product.is_public)


def product_for_lister(user: User, product_id: int) -> Product:
    """A product of a station the user lists for (its manager, its county, the platform)."""
    product = get_product(product_id)
    _ensure_product_access(listing_scope(user), product)
    return product


def product_for_reviewer(user: User, product_id: int) -> Product:
    """A product in the reviewer's county (the county of the product's station)."""
    product = get_product(product_id)
    ensure_in_scope(review_scope(user), product.station.village_code, hide=not product.is_public)
    return product


def can_see_unpublished(user: User | None, product: Product) -> bool:
    """Staff in scope, and the villager whose product it is, see it whatever its status."""
    if user is None:
        return False
    if product.seller.user_id == user.id:
        return True
    if not user.has_role(*STAFF_READERS):
        return False
    scope = scope_for(user, *STAFF_READERS)
    return scope.covers(product.station.village_code) and scope.covers_station(product.station_id)
