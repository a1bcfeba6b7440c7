"""The mini-program's 小程序购物订单 (order centre): where WeChat sends a buyer who taps an order.

After a WeChat payment WeChat lists the order under 我 → 订单与卡包 → 小程序购物订单
with the JSAPI order's ``description``; its 「前往小程序」 button opens the path set
here once per mini-program (``flask payments order-detail-path``), with
``${商品订单号}`` replaced by the payment's ``out_trade_no``. Shipping shown there
comes from ``upload_shipping_info`` (payments.shipping_info).
"""

from wechatpy.exceptions import WeChatClientException

from core.wechat import wechat_client

PLACEHOLDER = "${商品订单号}"
DEFAULT_PATH = "pages/order/detail?out_trade_no=" + PLACEHOLDER


class OrderDetailPathRefused(ValueError):
    """The path is unusable, or WeChat refused it (its errcode in the message)."""


def update_order_detail_path(path: str = DEFAULT_PATH) -> None:
    """POST wxa/sec/order/update_order_detail_path to WECHAT_API_BASE_URL (needs the order-centre agreement)."""
    if PLACEHOLDER not in path or path.startswith("/"):
        raise OrderDetailPathRefused(f"the path must be relative and contain {PLACEHOLDER}")
    client = wechat_client()
    try:
        client.post("wxa/sec/order/update_order_detail_path", data={"path": path}, api_base_url=client.base_url)
    except WeChatClientException as exc:
        raise OrderDetailPathRefused(f"WeChat refused the path: {exc.errcode} {exc.errmsg}") from exc
