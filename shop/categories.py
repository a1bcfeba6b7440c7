"""The managed category list (the migration seeds the default one)."""

import sqlalchemy as sa

from core.auth import scope_for
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.pagination import paginate
from shop.models import Category


def list_categories(include_inactive: bool, page: int, per_page: int) -> dict:
    """Categories in display order (active ones unless asked otherwise)."""
    statement = sa.select(Category).order_by(Category.sort_order, Category.slug)
    if not include_inactive:
        statement = statement.where(Category.is_active.is_(True))
    return paginate(statement, page, per_page)


def active_category(slug: str, field: str = "category") -> Category:
    """The category a new or edited listing names, or 422."""
    category = db.session.get(Category, slug)
    if category is None or not category.is_active:
        raise ValidationFailed.field(field, "商品分类不存在或已停用")
    return category


def _ensure_unique_name(name: str, slug: str) -> None:
    clash = db.session.scalar(sa.select(Category.slug).where(Category.name == name, Category.slug != slug))
    if clash is not None:
        raise ValidationFailed.field("name", "分类名称已存在")


def create_category(actor: User, data: dict) -> Category:
    """Add a category (platform admins)."""
    scope_for(actor, Role.PLATFORM_ADMIN)
    if db.session.get(Category, data["slug"]) is not None:
        raise ValidationFailed.field("slug", "分类标识已存在")
    _ensure_unique_name(data["name"], data["slug"])
    category = Category(
        slug=data["slug"],
        name=data["name"],
        sort_order=data.get("sort_order", 0),
        is_active=data.get("is_active", True),
    )
    db.session.add(category)
    db.session.flush()
    return category


def update_category(actor: User, slug: str, changes: dict) -> Category:
    """Rename, reorder or (de)activate a category (platform admins); the slug stays."""
    scope_for(actor, Role.PLATFORM_ADMIN)
    category = db.session.get(Category, slug)
    if category is None:
        raise NotFound("商品分类不存在")
    if "name" in changes:
        _ensure_unique_name(changes["name"], slug)
    for field in ("name", "sort_order", "is_active"):
        if field in changes:
            setattr(category, field, changes[field])
    db.session.flush()
    return category
