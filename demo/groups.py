"""Demo group buying (拼团): one group that succeeded, one that expired and refunded its members.

Both are made through the real services and paid through the gateway
simulator (``demo.gateway``); the expired group's refunds go back through the
channel each member paid with, so the simulator's bills list them too. Run
once: when a group offer exists the step does nothing.
"""

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from demo.gateway import refund_through_simulator
from demo.orders import ADDRESS, _buyers, _managers, _skus, pay_demo_order
from payments.models import GatewayRefund
from payments.providers import Channel
from shop.groups.lifecycle import expire_group
from shop.groups.models import GroupBuy, GroupOffer
from shop.groups.services import create_offer, join_group, open_group
from shop.models import Product, ProductStatus
from shop.orders.models import RefundRequest
from villages.models import Station


def _stations(manager_station: Station | None) -> list[Station]:
    stations = [manager_station] if manager_station else []
    return stations + list(
        db.session.scalars(
            sa.select(Station)
            .join(Product, Product.station_id == Station.id)
            .where(Product.status == ProductStatus.ON_SALE)
            .distinct()
            .order_by(Station.id)
            .limit(4)
        )
    )


def _offer(station: Station, sku, group_size: int) -> GroupOffer:
    """A group price about 15% under the SKU's own, offered by the station."""
    price = max(1, sku.price_fen * 85 // 100)
    return create_offer(_managers(station), sku.product_id, sku.id, price, group_size, 24)


def _group(offer: GroupOffer, members: list[tuple]) -> GroupBuy:
    """The first buyer opens the group and pays, then the others join and pay, each by their channel."""
    (leader, channel), *others = members
    first = open_group(leader, offer.id, 1, ADDRESS)
    pay_demo_order(first.order, channel)
    for buyer, channel in others:
        pay_demo_order(join_group(buyer, first.group_id, 1, ADDRESS).order, channel)
    return db.session.get(GroupBuy, first.group_id)


def seed_groups(manager_station: Station | None) -> dict:
    """Seed once; returns each group's status (empty when already seeded or nothing is on sale)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(GroupOffer)):
        return {}
    skus = [(station, sku) for station in _stations(manager_station) for sku in _skus(station, 2)]
    if len(skus) < 2:
        return {}
    zhang, wang = _buyers()
    succeeded = _group(_offer(*skus[0], 2), [(zhang, Channel.WECHAT_JSAPI), (wang, Channel.ALIPAY_WAP)])
    expired = _group(_offer(*skus[1], 3), [(wang, Channel.WECHAT_JSAPI), (zhang, Channel.ALIPAY_WAP)])
    expired.expires_at = utcnow() - timedelta(minutes=1)  # a day passed and nobody else joined
    expire_group(expired.id)
    refunds = db.session.scalars(
        sa.select(GatewayRefund)
        .join(RefundRequest, RefundRequest.id == GatewayRefund.refund_request_id)
        .where(RefundRequest.order_id.in_([member.order_id for member in expired.members]))
        .order_by(GatewayRefund.id)
    ).all()
    for refund in refunds:
        refund_through_simulator(refund)
    db.session.flush()
    return {"succeeded": succeeded.status, "expired": expired.status, "refunds": len(refunds)}
