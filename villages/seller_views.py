"""Sellers: the station's villagers, their personal data, bind codes, and the villager's own page."""

from flask import request
from flask_smorest import Blueprint

from core.auth import authenticated
from core.openapi import may_answer
from core.pagination import page_schema
from villages import sellers
from villages.schemas import (
    BindArgs,
    MySellerPageSchema,
    NameConsentArgs,
    RevealArgs,
    SellerPatchArgs,
    SellerPersonalDataSchema,
    SellerQueryArgs,
    SellerSchema,
    SellerSearchArgs,
    SellerWithCodeSchema,
)

_SELLER_PAGE = page_schema(SellerSchema, "SellerPage")

sellers_blp = Blueprint("sellers", __name__, description="卖家")


def with_bind_code(pair):
    """A seller with the bind code just issued (shown once, never stored in clear)."""
    seller, code = pair
    seller.bind_code = code
    return seller


@sellers_blp.get("/sellers")
@authenticated
@sellers_blp.arguments(SellerQueryArgs, location="query")
@sellers_blp.response(200, _SELLER_PAGE)
def list_sellers(args, actor):
    """Sellers in scope, optionally of one station (personal data masked)."""
    return sellers.list_sellers(actor, args.get("station_id"), None, args["page"], args["per_page"])


@sellers_blp.post("/sellers/search")
@authenticated
@sellers_blp.arguments(SellerSearchArgs)
@sellers_blp.response(200, _SELLER_PAGE)
def search_sellers(args, actor):
    """Find sellers in scope by exact phone number; a POST, so the number stays out of access logs."""
    return sellers.list_sellers(actor, args.get("station_id"), args["phone"], args["page"], args["per_page"])


@sellers_blp.get("/sellers/<int:seller_id>")
@authenticated
@sellers_blp.response(200, SellerSchema)
def get_seller(seller_id, actor):
    """One seller, personal data masked."""
    return sellers.seller_for_reader(actor, seller_id)


@sellers_blp.patch("/sellers/<int:seller_id>")
@authenticated
@sellers_blp.arguments(SellerPatchArgs)
@sellers_blp.response(200, SellerSchema)
def patch_seller(changes, seller_id, actor):
    """Correct a seller's details (their station or county)."""
    return sellers.update_seller(actor, seller_id, changes)


@sellers_blp.post("/sellers/<int:seller_id>/personal-data")
@authenticated
@sellers_blp.arguments(RevealArgs)
@sellers_blp.response(200, SellerPersonalDataSchema)
def reveal_personal_data(args, seller_id, actor):
    """Full personal data for the seller's own station or county; each call is audited."""
    return sellers.reveal_personal_data(actor, seller_id, args.get("reason"))


@sellers_blp.post("/sellers/<int:seller_id>/bind-code")
@authenticated
@sellers_blp.response(200, SellerWithCodeSchema)
def reissue_bind_code(seller_id, actor):
    """A new bind code for a seller who has not bound WeChat yet (the old one stops working)."""
    return with_bind_code(sellers.reissue_bind_code(actor, seller_id))


@sellers_blp.post("/sellers/bind")
@authenticated
@sellers_blp.arguments(BindArgs)
@sellers_blp.response(200, SellerSchema)
@may_answer(sellers_blp, 429)  # wrong codes slow down (core.throttle)
def bind_seller(args, actor):
    """Bind the signed-in WeChat user to a seller with the station's bind code."""
    return sellers.bind_seller(actor, args["bind_code"], request.remote_addr)


@sellers_blp.get("/sellers/me")
@authenticated
@sellers_blp.response(200, MySellerPageSchema)
def my_seller_page(actor):
    """The villager's own page: profile, products, sales this month, balances."""
    return sellers.my_seller_page(actor)


@sellers_blp.put("/sellers/me/name-consent")
@authenticated
@sellers_blp.arguments(NameConsentArgs)
@sellers_blp.response(200, SellerSchema)
def set_name_consent(args, actor):
    """The villager agrees (or no longer agrees) to be shown as 李** on trace pages."""
    return sellers.set_own_name_consent(actor, args["show_name_on_trace"])
