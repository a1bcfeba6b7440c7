"""Request and response schemas for group offers and groups."""

from marshmallow import Schema, fields, validate

from core.db import utcnow
from core.fields import LocalDateTime, enum_string
from shop.groups.models import MAX_GROUP_HOURS, MAX_GROUP_SIZE, MIN_GROUP_SIZE, GroupStatus, MemberStatus
from shop.groups.services import share_path
from shop.groups.states import LIVE_MEMBERS
from shop.orders.schemas import AddressArgs, OrderSchema

MAX_GROUP_QUANTITY = 10


class GroupOfferArgs(Schema):
    sku_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    price_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    group_size = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=MIN_GROUP_SIZE, max=MAX_GROUP_SIZE)
    )
    hours = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_GROUP_HOURS))


class GroupOfferSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    sku_id = fields.Integer()
    sku_name = fields.String(attribute="sku.name")
    price_fen = fields.Integer()
    # The SKU's own price, for "单买价" beside the group price.
    regular_price_fen = fields.Integer(attribute="sku.price_fen")
    group_size = fields.Integer()
    hours = fields.Integer()
    is_active = fields.Boolean()
    created_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)


class MemberOrderArgs(Schema):
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=MAX_GROUP_QUANTITY))
    address = fields.Nested(AddressArgs, required=True)


class OpenGroupArgs(MemberOrderArgs):
    offer_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


def masked_name(member) -> str:
    """李** — a buyer without a display name shows as 微信用户."""
    name = (member.buyer.display_name or "").strip()
    return name[:1] + "**" if name else "微信用户"


class GroupMemberSchema(Schema):
    name_masked = fields.Function(masked_name)
    is_leader = fields.Boolean()
    status = enum_string(MemberStatus)
    joined_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)


def _seconds_left(group) -> int | None:
    if group.expires_at is None:
        return None
    if group.status != GroupStatus.FORMING:
        return 0
    return max(0, int((group.expires_at - utcnow()).total_seconds()))


class GroupSchema(Schema):
    id = fields.Integer()
    status = enum_string(GroupStatus)
    product_id = fields.Integer()
    product_title = fields.String(attribute="sku.product.title")
    sku_id = fields.Integer()
    sku_name = fields.String(attribute="sku.name")
    price_fen = fields.Integer()
    regular_price_fen = fields.Integer(attribute="sku.price_fen")
    group_size = fields.Integer()
    hours = fields.Integer()
    paid_members = fields.Function(lambda group: sum(m.status == MemberStatus.PAID for m in group.members))
    places_left = fields.Function(
        lambda group: max(0, group.group_size - sum(m.status in LIVE_MEMBERS for m in group.members))
    )
    opened_at = LocalDateTime(allow_none=True)
    expires_at = LocalDateTime(allow_none=True)
    seconds_left = fields.Function(_seconds_left, allow_none=True)
    succeeded_at = LocalDateTime(allow_none=True)
    expired_at = LocalDateTime(allow_none=True)
    share_path = fields.Function(share_path)
    # Members holding or having held a place; those who dropped out unpaid are not shown.
    members = fields.Function(
        lambda group: GroupMemberSchema(many=True).dump(
            [m for m in group.members if m.status != MemberStatus.CANCELLED]
        )
    )


class GroupOrderSchema(Schema):
    """What opening or joining returns: the group and the member's order to pay."""

    group = fields.Nested(GroupSchema)
    order = fields.Nested(OrderSchema)
