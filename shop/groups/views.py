"""Group buying API: offers on products, opening and joining groups, a group's page."""

from flask_smorest import Blueprint

from core.auth import authenticated
from core.idempotency import idempotent
from shop.groups import services
from shop.groups.schemas import (
    GroupOfferArgs,
    GroupOfferSchema,
    GroupOrderSchema,
    GroupSchema,
    MemberOrderArgs,
    OpenGroupArgs,
)
from shop.orders.queries import buyer_view

groups_blp = Blueprint("groups", __name__, description="拼团")


def _member_response(member):
    return {"group": services.get_group(member.group_id), "order": buyer_view(member.order)}


@groups_blp.post("/products/<int:product_id>/group-offers")
@authenticated
@groups_blp.arguments(GroupOfferArgs)
@groups_blp.response(201, GroupOfferSchema)
def create_offer(args, product_id, actor):
    """A lister offers a group price on one SKU: N buyers within T hours."""
    return services.create_offer(
        actor, product_id, args["sku_id"], args["price_fen"], args["group_size"], args["hours"]
    )


@groups_blp.get("/products/<int:product_id>/group-offers")
@groups_blp.response(200, GroupOfferSchema(many=True))
def list_offers(product_id):
    """A product's active group offers (public)."""
    return services.public_offers(product_id)


@groups_blp.post("/group-offers/<int:offer_id>/close")
@authenticated
@groups_blp.response(200, GroupOfferSchema)
def close_offer(offer_id, actor):
    """Stop offering the group price; groups already opened run their course."""
    return services.close_offer(actor, offer_id)


@groups_blp.post("/groups")
@authenticated
@idempotent
@groups_blp.arguments(OpenGroupArgs)
@groups_blp.response(201, GroupOrderSchema)
def open_group(args, actor):
    """Open a group: the first buyer's order at the group price; paying it opens the group. Honours Idempotency-Key."""
    member = services.open_group(actor, args["offer_id"], args["quantity"], args["address"])
    return _member_response(member)


@groups_blp.post("/groups/<int:group_id>/join")
@authenticated
@idempotent
@groups_blp.arguments(MemberOrderArgs)
@groups_blp.response(201, GroupOrderSchema)
def join_group(args, group_id, actor):
    """Join a forming group by its share link; 409 group_full / group_closed. Honours Idempotency-Key."""
    member = services.join_group(actor, group_id, args["quantity"], args["address"])
    return _member_response(member)


@groups_blp.get("/groups/<int:group_id>")
@groups_blp.response(200, GroupSchema)
def get_group(group_id):
    """A group's page (public, for the share link): members masked, time left."""
    return services.get_group(group_id)
