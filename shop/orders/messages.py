"""Subscribe messages of the order flow to buyers and station managers, each recorded with its outcome.

Sent by background tasks after the commit (``shop.orders.tasks``); running one
again skips the people already sent to (or skipped for good).
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
from shop.orders.models import BuyerNotification, BuyerNotificationKind, NotificationStatus, Order, Presale
from villages.models import Station

log = logging.getLogger(__name__)
K = BuyerNotificationKind
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
                BuyerNotification.status.in_((NotificationStatus.SENT, NotificationStatus.SKIPPED)),
            )
        )
    )
    template = current_app.config.get(TEMPLATES[kind], "")
    openids = dict(db.session.execute(sa.select(User.id, User.wechat_openid).where(User.id.in_(user_ids))).all())
    failures = 0
    for user_id in sorted(set(user_ids) - done):
        openid = openids.get(user_id)
        if not openid:
            status, detail = NotificationStatus.SKIPPED, "未绑定微信"
        elif not (wechat_configured() and template):
            status, detail = NotificationStatus.SKIPPED, "未配置微信订阅消息模板"
        else:
            try:
                wechat_client().wxa.send_subscribe_message(openid, template, data, PAGES[kind])
                status, detail = NotificationStatus.SENT, None
            except (WeChatClientException, OSError) as exc:
                log.warning("%s message failed: %s", kind, type(exc).__name__)
                status, detail = NotificationStatus.FAILED, str(getattr(exc, "errmsg", "") or type(exc).__name__)[:200]
                failures += 1
        db.session.add(
            BuyerNotification(
                kind=kind, user_id=user_id, order_id=order_id, presale_id=presale_id, status=status, detail=detail
            )
        )
    db.session.flush()
    return failures


def _title(order: Order) -> str:
    lines = order.lines
    title = lines[0].product_title if len(lines) == 1 else f"{lines[0].product_title} 等{len(lines)}件"
    return title[:20]


def _day(value: date) -> str:
    return f"{value:%Y年%m月%d日}"


def notify_pickup_ready(order_id: int) -> int:
    """Tell the buyer the goods wait at the pickup station (to collect with the code)."""
    order = db.session.get(Order, order_id)
    if order is None or order.pickup is None:
        return 0
    station = db.session.get(Station, order.pickup.station_id)
    data = {
        "character_string1": {"value": str(order.id)},
        "thing2": {"value": _title(order)},
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
        "thing2": {"value": _title(order)},
        "thing3": {"value": "预售未在承诺期内发货，可取消订单全额退款"},
    }
    return _send(K.PRESALE_OVERDUE, [order.buyer_id], data, order_id=order.id)
