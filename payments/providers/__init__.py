"""Payment providers chosen by configuration: WeChat Pay v3 (wechatpayv3) or v2 (wechatpy), and Alipay."""

from collections.abc import Mapping
from typing import Any

from flask import current_app

from payments.providers.alipay import AlipayProvider
from payments.providers.base import (
    CHANNELS,
    BillRow,
    GatewayTrade,
    Notification,
    PaymentGatewayError,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    RefundNotification,
    RefundResult,
    TransferResult,
)
from payments.providers.wechat_v2 import WeChatPayV2Provider
from payments.providers.wechat_v3 import WeChatPayV3Provider

__all__ = [
    "CHANNELS",
    "AlipayProvider",
    "BillRow",
    "GatewayTrade",
    "Notification",
    "PaymentGatewayError",
    "PaymentProvider",
    "PaymentRejected",
    "PaymentRequest",
    "RefundNotification",
    "RefundResult",
    "TransferResult",
    "WeChatPayV2Provider",
    "WeChatPayV3Provider",
    "get_alipay",
    "get_provider",
    "get_wechat_pay",
    "notify_url",
    "refund_notify_url",
]

NOTIFY_PATHS = {
    "wechat": "/api/v1/payments/notify/wechat",
    "wechat_v3": "/api/v1/payments/notify/wechat-v3",
    "alipay": "/api/v1/payments/notify/alipay",
}
WECHAT_PAY_VERSIONS = ("v3", "v2")


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return config if config is not None else current_app.config


def get_provider(channel: str, config: Mapping[str, Any] | None = None) -> PaymentProvider:
    """The provider for ``channel`` configured from ``config`` (default: the current app's)."""
    config = _config(config)
    if channel == "wechat_jsapi":
        return get_wechat_pay(config)
    if channel in ("alipay_mini", "alipay_wap"):
        return AlipayProvider(config, channel)
    raise ValueError(f"unknown payment channel: {channel!r}")


def get_wechat_pay(
    config: Mapping[str, Any] | None = None, version: str | None = None
) -> WeChatPayV3Provider | WeChatPayV2Provider:
    """The WeChat Pay provider of ``version`` (default: WECHAT_PAY_VERSION, v3 when unset)."""
    config = _config(config)
    version = version or config.get("WECHAT_PAY_VERSION") or "v3"
    if version == "v3":
        return WeChatPayV3Provider(config)
    if version == "v2":
        return WeChatPayV2Provider(config)
    raise ValueError(f"WECHAT_PAY_VERSION must be one of {WECHAT_PAY_VERSIONS}, not {version!r}")


def get_alipay(config: Mapping[str, Any] | None = None) -> AlipayProvider:
    """The Alipay provider, for transfers, bills and login (not tied to a payment channel)."""
    return AlipayProvider(_config(config), "alipay_wap")


def notify_url(channel: str, config: Mapping[str, Any] | None = None) -> str:
    """The notify URL given to the gateway of ``channel`` (API.md)."""
    config = _config(config)
    gateway = "wechat" if channel.startswith("wechat") else "alipay"
    if gateway == "wechat" and (config.get("WECHAT_PAY_VERSION") or "v3") == "v3":
        gateway = "wechat_v3"
    return config["PUBLIC_BASE_URL"].rstrip("/") + NOTIFY_PATHS[gateway]


def refund_notify_url(config: Mapping[str, Any] | None = None) -> str:
    """Where WeChat Pay reports refund results: v3 sends them to its one notify URL."""
    config = _config(config)
    path = "/api/v1/payments/notify/wechat-refund"
    if (config.get("WECHAT_PAY_VERSION") or "v3") == "v3":
        path = NOTIFY_PATHS["wechat_v3"]
    return config["PUBLIC_BASE_URL"].rstrip("/") + path
