"""Tell sellers their goods sold: a WeChat subscribe message per seller, after the commit."""

import logging

import sqlalchemy as sa
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from core.extensions import db
from core.models import User
from core.wechat import wechat_client, wechat_configured
from shop.orders.models import NotificationStatus, Order, SellerNotification
from villages.models import Seller

log = logging.getLogger(__name__)
ORDER_PAGE = "pages/seller/index"


def _message(order: Order, seller_id: int) -> dict:
    lines = [line for line in order.lines if line.seller_id == seller_id]
    title = lines[0].product_title if len(lines) == 1 else f"{lines[0].product_title} 等{len(lines)}件"
    amount = sum(line.amount_fen for line in lines)
    return {
        "character_string1": {"value": str(order.id)},
        "thing2": {"value": title[:20]},
        "amount3": {"value": f"{amount // 100}.{amount % 100:02d}元"},
        "thing4": {"value": "买家已付款，服务站将尽快发货"},
    }


def notify_sellers_of_paid_order(order_id: int) -> int:
    """Send (or record why not) one subscribe message to each bound seller of the order; returns the failures.

    Safe to run again (a retry, a redelivered task): sellers already sent to, or
    skipped for good, are left alone.
    """
    order = db.session.get(Order, order_id)
    if order is None:
        return 0
    done = set(
        db.session.scalars(
            sa.select(SellerNotification.seller_id).where(
                SellerNotification.order_id == order_id,
                SellerNotification.status.in_((NotificationStatus.SENT, NotificationStatus.SKIPPED)),
            )
        )
    )
    seller_ids = sorted({line.seller_id for line in order.lines} - done)
    failures = 0
    openids = dict(
        db.session.execute(
            sa.select(Seller.id, User.wechat_openid)
            .join(User, User.id == Seller.user_id)
            .where(Seller.id.in_(seller_ids))
        ).all()
    )
    template = current_app.config.get("WECHAT_ORDER_PAID_TEMPLATE_ID", "")
    for seller_id in seller_ids:
        openid = openids.get(seller_id)
        if not openid:
            status, detail = NotificationStatus.SKIPPED, "卖家尚未绑定微信"
        elif not (wechat_configured() and template):
            status, detail = NotificationStatus.SKIPPED, "未配置微信订阅消息模板"
        else:
            try:
                wechat_client().wxa.send_subscribe_message(openid, template, _message(order, seller_id), ORDER_PAGE)
                status, detail = NotificationStatus.SENT, None
            except (WeChatClientException, OSError) as exc:
                log.warning("subscribe message for order %s failed: %s", order_id, type(exc).__name__)
                status, detail = NotificationStatus.FAILED, str(getattr(exc, "errmsg", "") or type(exc).__name__)[:200]
                failures += 1
        db.session.add(SellerNotification(order_id=order.id, seller_id=seller_id, status=status, detail=detail))
    db.session.commit()
    return failures
