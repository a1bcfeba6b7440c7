"""Group offers, opening and joining groups: each member places one order at the group price."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.validators import normalise_phone
from shop.access import get_product, product_for_lister
from shop.groups.models import GroupBuy, GroupMember, GroupOffer, GroupStatus, MemberStatus
from shop.groups.states import LIVE_MEMBERS
from shop.orders.models import Order, OrderStatus
from shop.orders.placement import _check_on_sale, _check_unpaid_holdings, _load_skus, _snapshot, reserve_stock
from shop.orders.quota import open_presales
from shop.orders.states import InvalidState, append_order_event
from villages.models import Region, Village

# The mini-program page a group's share link opens.
SHARE_PAGE = "/pages/group/detail"


class GroupFull(Conflict):
    code, message = "group_full", "该拼团人数已满"


class GroupClosed(Conflict):
    code, message = "group_closed", "该拼团已结束或尚未开团，不能参团"


def share_path(group: GroupBuy) -> str:
    """The mini-program path (with the group id) that a member shares."""
    return f"{SHARE_PAGE}?id={group.id}"


def create_offer(actor: User, product_id: int, sku_id: int, price_fen: int, group_size: int, hours: int) -> GroupOffer:
    """A lister offers a group price on one SKU of a product (one active offer per SKU)."""
    product = product_for_lister(actor, product_id)
    sku = next((sku for sku in product.skus if sku.id == sku_id and sku.is_active), None)
    if sku is None:
        raise ValidationFailed.field("sku_id", "该商品没有这个规格")
    if price_fen >= sku.price_fen:
        raise ValidationFailed.field("price_fen", f"拼团价须低于单买价（{sku.price_fen} 分）")
    if db.session.scalar(sa.select(GroupOffer.id).where(GroupOffer.sku_id == sku_id, GroupOffer.is_active)):
        raise InvalidState("该规格已有拼团优惠，请先关闭原优惠")
    offer = GroupOffer(
        product_id=product.id,
        sku_id=sku.id,
        price_fen=price_fen,
        group_size=group_size,
        hours=hours,
        created_by_id=actor.id,
    )
    db.session.add(offer)
    db.session.flush()
    return offer


def close_offer(actor: User, offer_id: int) -> GroupOffer:
    """Stop offering the group price; groups already opened run their course."""
    offer = db.session.get(GroupOffer, offer_id)
    if offer is None:
        raise NotFound("拼团优惠不存在")
    product_for_lister(actor, offer.product_id)
    if offer.is_active:
        offer.is_active, offer.closed_at = False, utcnow()
    return offer


def public_offers(product_id: int) -> list[GroupOffer]:
    """A product's active group offers (only for a product buyers can see)."""
    product = get_product(product_id)
    if not product.is_public:
        raise NotFound("商品不存在")
    return list(
        db.session.scalars(
            sa.select(GroupOffer)
            .where(GroupOffer.product_id == product_id, GroupOffer.is_active)
            .order_by(GroupOffer.id)
        )
    )


def _place_member_order(buyer: User, group: GroupBuy, quantity: int, address: dict, deadline: datetime | None):
    """Check out one SKU at the group price, reserving its stock (as ``shop.orders.placement`` does).

    A SKU sold under a pre-sale takes the pre-sale's quota instead of stock and
    the line carries its delivery window, as every checkout does. A joiner's
    order is due no later than the group's own deadline, so no unpaid order of a
    group outlives it.
    """
    if db.session.get(Region, address["region_code"]) is None:
        raise ValidationFailed(details={"address": {"region_code": ["收货地区代码不存在"]}})
    quantities = {group.sku_id: quantity}
    skus = _load_skus([group.sku_id])
    _check_on_sale(quantities, skus)
    now = utcnow()
    _check_unpaid_holdings(buyer, quantities, now)
    presales = open_presales(skus, now)
    reserve_stock(quantities, presales)
    sku = skus[group.sku_id]
    village = sku.product.origin_village_code
    poverty = set(
        db.session.scalars(sa.select(Village.code).where(Village.code == village, Village.is_poverty_village))
    )
    line = _snapshot(sku, quantity, poverty, presales.get(group.sku_id))
    line.unit_price_fen, line.amount_fen = group.price_fen, group.price_fen * quantity
    expires_at = now + timedelta(minutes=current_app.config["ORDER_PAYMENT_TIMEOUT_MINUTES"])
    order = Order(
        buyer_id=buyer.id,
        total_fen=line.amount_fen,
        expires_at=min(expires_at, deadline) if deadline else expires_at,
        address_name=address["name"],
        address_phone=normalise_phone(address["phone"]),
        address_region_code=address["region_code"],
        address_detail=address["detail"],
        lines=[line],
        created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    append_order_event(order, None, None, OrderStatus.PENDING_PAYMENT, buyer, f"拼团下单（团 {group.id}）")
    return order


def open_group(buyer: User, offer_id: int, quantity: int, address: dict) -> GroupMember:
    """The first buyer's order at the group price; the group opens when it is paid."""
    offer = db.session.get(GroupOffer, offer_id)
    if offer is None or not offer.is_active:
        raise NotFound("拼团优惠不存在或已结束")
    group = GroupBuy(
        offer_id=offer.id,
        product_id=offer.product_id,
        sku_id=offer.sku_id,
        leader_id=buyer.id,
        price_fen=offer.price_fen,
        group_size=offer.group_size,
        hours=offer.hours,
    )
    db.session.add(group)
    db.session.flush()
    order = _place_member_order(buyer, group, quantity, address, None)
    member = GroupMember(group_id=group.id, order_id=order.id, buyer_id=buyer.id, is_leader=True)
    db.session.add(member)
    db.session.flush()
    return member


def lock_group(group_id: int) -> GroupBuy:
    """The group, row-locked for the rest of the transaction; taken after any of its orders' locks."""
    group = db.session.scalar(
        sa.select(GroupBuy)
        .where(GroupBuy.id == group_id)
        .with_for_update(of=GroupBuy)  # not the joined SKU: PostgreSQL refuses FOR UPDATE on an outer join
        .execution_options(populate_existing=True)
    )
    if group is None:
        raise NotFound("拼团不存在")
    return group


def join_group(buyer: User, group_id: int, quantity: int, address: dict) -> GroupMember:
    """Join a forming group by its share link: one place per buyer, never more than N places.

    The places are counted under the group's row lock, so concurrent joiners
    queue and the (N+1)th is refused with 409 ``group_full``. A place is held
    by an unpaid order until that order is paid, cancelled or expires.
    """
    group = lock_group(group_id)
    now = utcnow()
    if group.status != GroupStatus.FORMING or group.expires_at <= now:
        raise GroupClosed()
    db.session.refresh(group, ["members"])
    live = [member for member in group.members if member.status in LIVE_MEMBERS]
    if any(member.buyer_id == buyer.id for member in live):
        raise InvalidState("您已参加这个拼团")
    if len(live) >= group.group_size:
        raise GroupFull(details={"group_size": group.group_size})
    order = _place_member_order(buyer, group, quantity, address, group.expires_at)
    member = GroupMember(group_id=group.id, order_id=order.id, buyer_id=buyer.id, status=MemberStatus.JOINED)
    db.session.add(member)
    db.session.flush()
    return member


def get_group(group_id: int) -> GroupBuy:
    group = db.session.get(GroupBuy, group_id)
    if group is None:
        raise NotFound("拼团不存在")
    return group
