"""Upload shipping information of WeChat-paid parcels (发货信息管理).

WeChat holds the settlement of mini-program payments for physical goods until
the merchant says what was shipped. wechatpy has no wrapper for
``wxa/sec/order/upload_shipping_info``; the pinned client's authenticated
``_post`` calls it against WECHAT_API_BASE_URL. Each attempt is recorded;
failures never block shipping and are retried by ``flask payments retry-uploads``.

The order is identified by WeChat Pay's ``transaction_id`` (v2 and v3 give the
same number), else by merchant number + ``out_trade_no``. A parcel the buyer
collects at a station is uploaded as ``logistics_type`` 4 (用户自提), without a
carrier or tracking number.
"""

import logging

import sqlalchemy as sa
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from core.clock import BEIJING
from core.db import utcnow
from core.extensions import db
from core.models import User
from core.pii import mask_phone
from core.tasks import run_later
from core.unit_of_work import unit_of_work
from core.wechat import wechat_client
from payments.models import LogisticsType, Payment, PaymentStatus, ShippingUpload, ShippingUploadStatus
from payments.providers import Channel
from shop.orders.models import LineStatus, Order, OrderLine, Shipment

log = logging.getLogger(__name__)
# WeChat's express company codes for the carriers stations use.
EXPRESS_CODES = {
    "顺丰": "SF",
    "中通": "ZTO",
    "圆通": "YTO",
    "韵达": "YD",
    "申通": "STO",
    "邮政": "EMS",
    "EMS": "EMS",
    "京东": "JD",
    "极兔": "JTSD",
    "德邦": "DBL",
}
MAX_ATTEMPTS = 10


def express_code(carrier: str) -> str:
    return next((code for name, code in EXPRESS_CODES.items() if name in carrier), carrier[:20])


def queue_upload(order: Order, shipment: Shipment, logistics_type: LogisticsType = LogisticsType.EXPRESS) -> None:
    """Record the upload for a WeChat-paid order's shipment and send it after commit."""
    if order.paid_channel != Channel.WECHAT_JSAPI:
        return
    payment = db.session.scalar(
        sa.select(Payment)
        .where(Payment.order_id == order.id, Payment.status == PaymentStatus.PAID)
        .order_by(Payment.paid_at)
    )
    if payment is None or payment.channel != Channel.WECHAT_JSAPI:
        return
    upload = ShippingUpload(
        shipment_id=shipment.id, payment_id=payment.id, logistics_type=LogisticsType(logistics_type)
    )
    db.session.add(upload)
    db.session.flush()
    run_later(upload_shipping_info, upload.id)


def item_description(lines: list[OrderLine]) -> str:
    """What is in the parcel, each line with the batch it came from and, for a pre-sale, the delivery window
    promised at checkout (WeChat allows 120 characters)."""
    items = [
        f"{line.product_title}×{line.quantity}"
        + (f"（批次{line.batch.trace_code}）" if line.batch else "")
        + (f"（预售，{line.ships_from:%m-%d}至{line.ships_until:%m-%d}发货）" if line.presale_id else "")
        for line in lines
    ]
    return "、".join(items)[:120]


def shipping_payload(upload: ShippingUpload) -> dict:
    """The request body WeChat documents for one parcel."""
    payment = db.session.get(Payment, upload.payment_id)
    shipment = db.session.get(Shipment, upload.shipment_id)
    order = db.session.get(Order, shipment.order_id)
    lines = db.session.scalars(sa.select(OrderLine).where(OrderLine.shipment_id == shipment.id)).all()
    all_shipped = all(line.status not in (LineStatus.PAID, LineStatus.PENDING_PAYMENT) for line in order.lines)
    several_parcels = len({line.station_id for line in order.lines}) > 1
    order_key = (
        {"order_number_type": 2, "transaction_id": payment.transaction_id}
        if payment.transaction_id
        else {
            "order_number_type": 1,
            "mchid": current_app.config["WECHAT_PAY_MCH_ID"],
            "out_trade_no": payment.out_trade_no,
        }
    )
    parcel = {"item_desc": item_description(lines)}
    if upload.logistics_type == LogisticsType.EXPRESS:
        parcel |= {
            "tracking_no": shipment.tracking_no,
            "express_company": express_code(shipment.carrier),
            "contact": {"receiver_contact": mask_phone(order.address_phone)},
        }
    payload = {
        "order_key": order_key,
        "logistics_type": int(upload.logistics_type),
        "delivery_mode": 2 if several_parcels else 1,
        "shipping_list": [parcel],
        "upload_time": utcnow().astimezone(BEIJING).isoformat(timespec="milliseconds"),
        "payer": {"openid": db.session.get(User, order.buyer_id).wechat_openid},
    }
    if several_parcels:
        payload["is_all_delivered"] = all_shipped
    return payload


def _lock_upload(upload_id: int) -> ShippingUpload | None:
    return db.session.scalar(
        sa.select(ShippingUpload)
        .where(ShippingUpload.id == upload_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def upload_shipping_info(upload_id: int) -> None:
    """One attempt to upload; the outcome is recorded either way (a background job, no lock across the call)."""
    with unit_of_work():
        upload = _lock_upload(upload_id)
        if upload is None or upload.status == ShippingUploadStatus.UPLOADED:
            return
        upload.attempts += 1
        payload = shipping_payload(upload)
    error = None
    try:
        client = wechat_client()
        client.post("wxa/sec/order/upload_shipping_info", data=payload, api_base_url=client.base_url)
    except (WeChatClientException, OSError) as exc:
        error = str(getattr(exc, "errmsg", "") or type(exc).__name__)[:200]
    with unit_of_work():
        upload = _lock_upload(upload_id)
        if upload is None or upload.status == ShippingUploadStatus.UPLOADED:
            return
        if error is None:
            upload.status, upload.uploaded_at, upload.last_error = ShippingUploadStatus.UPLOADED, utcnow(), None
        else:
            upload.last_error = error
            upload.status = (
                ShippingUploadStatus.FAILED if upload.attempts >= MAX_ATTEMPTS else ShippingUploadStatus.PENDING
            )
            log.warning("shipping upload %s failed (attempt %s)", upload.id, upload.attempts)


def pending_uploads() -> list[int]:
    return list(
        db.session.scalars(sa.select(ShippingUpload.id).where(ShippingUpload.status == ShippingUploadStatus.PENDING))
    )
