"""WeChat subscribe messages of the order flow, each recorded with its outcome.

Sellers hear that their goods sold; buyers that their pickup order waits at the
station or that a late pre-sale may be cancelled; station managers that a
pre-sale's delivery window ends soon. Background tasks send them after the
commit (``shop.orders.tasks``) and commit the records before asking for a
retry, so running one again skips the people already sent to (or skipped for
good) and sends only what failed.
"""

import logging
from datetime import date

import sqlalchemy as sa
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from core.extensions import db
from core.models import Role, RoleGrant, User
from core.wechat import wechat_client, wechat_configured
from shop.models import Product
from shop.orders.models import (
    BuyerNotification,
    BuyerNotificationKind,
    NotificationStatus,
    Order,
    OrderLine,
    Presale,
    SellerNotification,
)
from villages.models import Seller, Station

log = logging.getLogger(__name__)
K = BuyerNotificationKind
SELLER_PAGE = "pages/seller/index"
TEMPLATES = {
    K.PICKUP_READY: "WECHAT_PICKUP_READY_TEMPLATE_ID",
    K.PRESALE_DUE: "WECHAT_PRESALE_DUE_TEMPLATE_ID",
    K.PRESALE_OVERDUE: "WECHAT_PRESALE_OVERDUE_TEMPLATE_ID",
}
PAGES = {
    K.PICKUP_READY: "pages/order/detail",
    K.PRESALE_DUE: "pages/station/presale",
    K.PRESALE_OVERDUE: "pages/order/detail",
}
SERVED = (NotificationStatus.SENT, NotificationStatus.SKIPPED)


def _deliver(openid: str | None, template: str, data: dict, page: str, *, unbound: str):
    """Send one subscribe message, or say why not: (status, detail); WeChat and network errors are a failure."""
    if not openid:
        return NotificationStatus.SKIPPED, unbound
    if not (wechat_configured() and template):
        return NotificationStatus.SKIPPED, "未配置微信订阅消息模板"
    try:
        wechat_client().wxa.send_subscribe_message(openid, template, data, page)
    except (WeChatClientException, OSError) as exc:
        log.warning("subscribe message (%s) failed: %s", page, type(exc).__name__)
        return NotificationStatus.FAILED, str(getattr(exc, "errmsg", "") or type(exc).__name__)[:200]
    return NotificationStatus.SENT, None


def _title(lines: list[OrderLine]) -> str:
    title = lines[0].product_title if len(lines) == 1 else f"{lines[0].product_title} 等{len(lines)}件"
    return title[:20]


def _day(value: date) -> str:
    return f"{value:%Y年%m月%d日}"


# -- sellers -----------------------------------------------------------------------------------


def _seller_message(order: Order, seller_id: int) -> dict:
    lines = [line for line in order.lines if line.seller_id == seller_id]
    amount = sum(line.amount_fen for line in lines)
    return {
        "character_string1": {"value": str(order.id)},
        "thing2": {"value": _title(lines)},
        "amount3": {"value": f"{amount // 100}.{amount % 100:02d}元"},
        "thing4": {"value": "买家已付款，服务站将尽快发货"},
    }


def notify_sellers_of_paid_order(order_id: int) -> int:
    """Send (or record why not) a subscribe message to each seller of the order not yet served; returns failures."""
    order = db.session.get(Order, order_id)
    if order is None:
        return 0
    done = set(
        db.session.scalars(
            sa.select(SellerNotification.seller_id).where(
                SellerNotification.order_id == order_id, SellerNotification.status.in_(SERVED)
            )
        )
    )
    seller_ids = sorted({line.seller_id for line in order.lines} - done)
    openids = dict(
        db.session.execute(
            sa.select(Seller.id, User.wechat_openid)
            .join(User, User.id == Seller.user_id)
            .where(Seller.id.in_(seller_ids))
        ).all()
    )
    template = current_app.config.get("WECHAT_ORDER_PAID_TEMPLATE_ID", "")
    failures = 0
    for seller_id in seller_ids:
        message = _seller_message(order, seller_id)
        status, detail = _deliver(openids.get(seller_id), template, message, SELLER_PAGE, unbound="卖家尚未绑定微信")
        failures += status == NotificationStatus.FAILED
        db.session.add(SellerNotification(order_id=order.id, seller_id=seller_id, status=status, detail=detail))
    db.session.flush()
    return failures


# -- buyers and station managers ---------------------------------------------------------------


def _send(kind: K, user_ids: list[int], data: dict, *, order_id=None, presale_id=None) -> int:
    """One message per user not yet served; returns the failures."""
    done = set(
        db.session.scalars(
            sa.select(BuyerNotification.user_id).where(
                BuyerNotification.kind == kind,
                BuyerNotification.order_id.is_(None) if order_id is None else BuyerNotification.order_id == order_id,
                BuyerNotification.presale_id.is_(None)
                if presale_id is None
                else BuyerNotification.presale_id == presale_id,
                BuyerNotification.status.in_(SERVED),
            )
        )
    )
    template = current_app.config.get(TEMPLATES[kind], "")
    openids = dict(db.session.execute(sa.select(User.id, User.wechat_openid).where(User.id.in_(user_ids))).all())
    failures = 0
    for user_id in sorted(set(user_ids) - done):
        status, detail = _deliver(openids.get(user_id), template, data, PAGES[kind], unbound="未绑定微信")
        failures += status == NotificationStatus.FAILED
        db.session.add(
            BuyerNotification(
                kind=kind, user_id=user_id, order_id=order_id, presale_id=presale_id, status=status, detail=detail
            )
        )
    db.session.flush()
    return failures


def notify_pickup_ready(order_id: int) -> int:
    """Tell the buyer the goods wait at the pickup station (to collect with the code)."""
    order = db.session.get(Order, order_id)
    if order is None or order.pickup is None:
        return 0
    station = db.session.get(Station, order.pickup.station_id)
    data = {
        "character_string1": {"value": str(order.id)},
        "thing2": {"value": _title(order.lines)},
        "thing3": {"value": station.name[:20]},
        "thing4": {"value": "商品已到站，请凭取货码到服务站自提"},
    }
    return _send(K.PICKUP_READY, [order.buyer_id], data, order_id=order.id)


def station_managers(station_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(RoleGrant.user_id).where(
                RoleGrant.role == Role.STATION_MANAGER, RoleGrant.station_id == station_id
            )
        )
    )


def notify_presale_due(presale_id: int) -> int:
    """Warn the pre-sale's station managers that its delivery window ends soon with lines unshipped."""
    presale = db.session.get(Presale, presale_id)
    if presale is None:
        return 0
    product = db.session.get(Product, presale.product_id)
    data = {
        "thing1": {"value": product.title[:20]},
        "date2": {"value": _day(presale.ships_until)},
        "thing3": {"value": "预售发货期即将结束，请尽快发货"},
    }
    return _send(K.PRESALE_DUE, station_managers(product.station_id), data, presale_id=presale.id)


def notify_presale_overdue(order_id: int) -> int:
    """Tell the buyer the pre-sale was not shipped in its window: the order may be cancelled for a full refund."""
    order = db.session.get(Order, order_id)
    if order is None:
        return 0
    data = {
        "character_string1": {"value": str(order.id)},
        "thing2": {"value": _title(order.lines)},
        "thing3": {"value": "预售未在承诺期内发货，可取消订单全额退款"},
    }
    return _send(K.PRESALE_OVERDUE, [order.buyer_id], data, order_id=order.id)
