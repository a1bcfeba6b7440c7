"""The contract's list envelope: ?page=&per_page= → {items, page, per_page, total}."""

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from core.extensions import db
from core.fields import use_chinese_messages

use_chinese_messages()  # before any schema in the app builds its validators

MAX_PER_PAGE = 100


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item_schema, name: str) -> type[Schema]:
    """A schema class for one page of ``item_schema`` items."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
        },
        name=name,
    )


def paginate(statement: sa.Select, page: int, per_page: int, *, scalars: bool = True) -> dict:
    """Run ``statement`` for one page and count its total (two queries)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page))
    items = rows.scalars().all() if scalars else rows.all()
    return {"items": items, "page": page, "per_page": per_page, "total": total or 0}
