"""The public catalogue: the list buyers browse and search, and a product's page."""

import hashlib
from collections.abc import Callable
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from core.errors import NotFound
from core.extensions import db
from core.models import User
from shop.access import can_see_unpublished
from shop.models import Product, ProductStatus
from shop.storage import media_url
from villages.models import Region, Station, StationStatus

SORTS = {
    "newest": (Product.published_at.desc(), Product.id.desc()),
    "price_asc": (Product.min_price_fen.asc(), Product.id.desc()),
    "price_desc": (Product.min_price_fen.desc(), Product.id.desc()),
    "sales": (Product.sales_count.desc(), Product.id.desc()),
}
# The query arguments of the public list; a query with any other argument is not cached.
LIST_ARGS = frozenset({"q", "category", "region", "poverty", "station", "sort", "page", "per_page"})
_FEED_ARGS = frozenset({"page", "per_page", "sort"})


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` escaped (escape character '/')."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def list_cache_key(query) -> str | None:
    """The cache key of a public list page, read straight off the raw query string.

    Every page of every filter, search and sort is cached under the catalogue
    version. The key is taken before any parsing so that a hit skips it; only
    a query that passed validation is ever stored, so a bad one still gets its
    422. The plain home feed keeps readable keys (``feed:<page>:<per_page>``).
    """
    items = list(query.items(multi=True))
    names = [name for name, _ in items]
    if len(set(names)) != len(names) or not set(names) <= LIST_ARGS:
        return None
    if set(names) <= _FEED_ARGS and query.get("sort", "newest") == "newest":
        page, per_page = query.get("page", "1"), query.get("per_page", "20")
        if page.isdigit() and per_page.isdigit():
            return f"feed:{int(page)}:{int(per_page)}"
    canonical = urlencode(sorted(items))
    return "list:" + hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _public_statement() -> sa.Select:
    return (
        sa.select(
            Product.id,
            Product.title,
            Product.min_price_fen,
            Product.cover_image_key,
            Product.poverty_certified,
            Product.sales_count,
            Station.id.label("station_id"),
            Station.name.label("station_name"),
            Region.code.label("village_code"),
            Region.name.label("village_name"),
        )
        .join(Station, Station.id == Product.station_id)
        .join(Region, Region.code == Product.origin_village_code)
        .where(Product.status == ProductStatus.ON_SALE, Station.status == StationStatus.ACTIVE)
    )


def _list_item(row) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "price_fen": row.min_price_fen,
        "cover_image_url": media_url(row.cover_image_key),
        "station": {"id": row.station_id, "name": row.station_name},
        "village": {"code": row.village_code, "name": row.village_name},
        "poverty_certified": row.poverty_certified,
        "sales_count": row.sales_count,
    }


def list_public_products(
    q: str | None = None,
    category: str | None = None,
    region: str | None = None,
    poverty: bool | None = None,
    station: int | None = None,
    sort: str = "newest",
    page: int = 1,
    per_page: int = 20,
) -> dict:
    """One page of on-sale products of active stations: a count and a page query, nothing more."""
    statement = _public_statement()
    if q:
        pattern = like_pattern(q)
        statement = statement.where(
            sa.or_(Product.title.ilike(pattern, escape="/"), Product.description.ilike(pattern, escape="/"))
        )
    if category:
        statement = statement.where(Product.category_slug == category)
    if region:
        statement = statement.where(Product.origin_village_code.startswith(region, autoescape=True))
    if poverty is not None:
        statement = statement.where(Product.poverty_certified.is_(poverty))
    if station is not None:
        statement = statement.where(Product.station_id == station)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    rows = db.session.execute(statement.order_by(*SORTS[sort]).limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [_list_item(row) for row in rows], "page": page, "per_page": per_page, "total": total}


def product_for_viewer(product_id: int, viewer: Callable[[], User | None]) -> tuple[Product, bool]:
    """A product and whether it is public; ``viewer`` (the signed-in user) is only asked when not."""
    product = db.session.scalar(
        sa.select(Product)
        .where(Product.id == product_id)
        .options(selectinload(Product.skus), selectinload(Product.images))
    )
    if product is None:
        raise NotFound("商品不存在")
    if product.is_public:
        return product, True
    if can_see_unpublished(viewer(), product):
        return product, False
    raise NotFound("商品不存在")
