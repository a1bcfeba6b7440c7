"""Demo orders in every state, made through the real shop and payments services.

Every payment and refund goes through the gateway simulator (``demo.gateway``),
so the simulator's bills list exactly the demo's money and `flask payments
reconcile` finds no difference. ``flask demo walk`` pays through the running
app as a buyer's phone would.
"""

from datetime import timedelta

import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db
from core.models import Role, RoleGrant, User
from core.services import grant_role
from demo.gateway import pay_through_simulator, refund_through_simulator
from payments.models import GatewayRefund, Payment
from payments.providers import Channel
from shop.models import Product, ProductStatus, ReviewDecision, Sku
from shop.orders.after_sales import decide_refund, request_refund
from shop.orders.fulfilment import cancel_order, confirm_receipt, expire_overdue_orders, ship_station_lines
from shop.orders.models import Order, OrderStatus, RefundRequest
from shop.orders.placement import place_order
from villages.models import Station

DEMO_BUYERS = (("demo-buyer-zhang", "张女士（演示买家）"), ("demo-buyer-wang", "王先生（演示买家）"))
ADDRESS = {
    "name": "张女士",
    "phone": "13800000001",
    "region_code": "4302",
    "detail": "株洲市天元区示范路1号（演示地址）",
}


def _buyers() -> list[User]:
    buyers = []
    for openid, name in DEMO_BUYERS:
        user = db.session.scalar(sa.select(User).where(User.wechat_openid == openid))
        if user is None:
            user = User(wechat_openid=openid, display_name=name)
            db.session.add(user)
            db.session.flush()
            grant_role(user, Role.BUYER)
        buyers.append(user)
    return buyers


def pay_demo_order(order: Order, channel: str = Channel.WECHAT_JSAPI) -> Payment:
    """The buyer pays the order at the gateway simulator."""
    return pay_through_simulator(db.session.get(User, order.buyer_id), order, channel)


def _skus(station: Station, count: int) -> list[Sku]:
    return list(
        db.session.scalars(
            sa.select(Sku)
            .join(Product)
            .where(
                Product.station_id == station.id, Product.status == ProductStatus.ON_SALE, Sku.is_active, Sku.stock >= 5
            )
            .order_by(Sku.id)
            .limit(count)
        )
    )


def _managers(station: Station) -> User:
    """A user acting for the station (its manager, or the platform admin)."""
    grant = db.session.scalar(sa.select(RoleGrant).where(RoleGrant.station_id == station.id))
    if grant is not None:
        return grant.user
    return db.session.scalar(
        sa.select(User).join(RoleGrant).where(RoleGrant.role == Role.PLATFORM_ADMIN).order_by(User.id)
    )


def seed_orders(manager_station: Station | None) -> dict:
    """Orders in every state (today's); does nothing when its demo buyers exist."""
    if db.session.scalar(sa.select(User.id).where(User.wechat_openid == DEMO_BUYERS[0][0])):
        return {}
    zhang, wang = _buyers()
    stations = [manager_station] if manager_station else []
    stations += list(
        db.session.scalars(
            sa.select(Station)
            .join(Product, Product.station_id == Station.id)
            .where(Product.status == ProductStatus.ON_SALE)
            .distinct()
            .order_by(Station.id)
            .limit(4)
        )
    )
    skus = [sku for station in stations for sku in _skus(station, 2)]
    if len(skus) < 4:
        return {}

    def order(buyer, *picks):
        return place_order(buyer, [{"sku_id": sku.id, "quantity": qty} for sku, qty in picks], ADDRESS)

    made = {}
    made[OrderStatus.PENDING_PAYMENT] = order(zhang, (skus[0], 1))
    expired = order(wang, (skus[1], 1))
    expired.expires_at = utcnow() - timedelta(minutes=1)
    expire_overdue_orders()
    made["cancelled_expired"] = expired
    made["cancelled_by_buyer"] = cancel_order(zhang, order(zhang, (skus[2], 1)).id)
    for label, picks in ((OrderStatus.PAID, [(skus[0], 2)]), ("paid_two_stations", [(skus[0], 1), (skus[-1], 1)])):
        made[label] = order(zhang, *picks)
        pay_demo_order(made[label])
    shipped = order(wang, (skus[1], 1))
    pay_demo_order(shipped, Channel.ALIPAY_WAP)
    station_id = shipped.lines[0].station_id
    ship_station_lines(
        _managers(db.session.get(Station, station_id)), shipped.id, station_id, "中国邮政", "EMS0000000001"
    )
    made[OrderStatus.SHIPPED] = shipped
    completed = order(zhang, (skus[2], 1))
    pay_demo_order(completed)
    station_id = completed.lines[0].station_id
    ship_station_lines(
        _managers(db.session.get(Station, station_id)), completed.id, station_id, "顺丰速运", "SF0000000001"
    )
    confirm_receipt(zhang, completed.id)
    made[OrderStatus.COMPLETED] = completed
    refunding = order(wang, (skus[3], 1))
    pay_demo_order(refunding)
    request_refund(wang, refunding.id, [refunding.lines[0].id], "收到时有破损（演示）")
    made[OrderStatus.REFUNDING] = refunding
    refunded = order(zhang, (skus[3], 1))
    pay_demo_order(refunded)
    request = request_refund(zhang, refunded.id, [refunded.lines[0].id], "不想要了（演示）")
    decide_refund(
        _managers(db.session.get(Station, refunded.lines[0].station_id)), request.id, ReviewDecision.APPROVE, None
    )
    sent = db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == request.id))
    refund_through_simulator(sent)
    made[OrderStatus.REFUNDED] = refunded
    db.session.flush()
    return {label: o.status for label, o in made.items()} | {"refund_requests": _count(RefundRequest)}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
