"""Payment providers chosen by configuration: WeChat Pay v3 (wechatpayv3) or v2 (wechatpy), and Alipay."""

from collections.abc import Mapping
from typing import Any

from flask import current_app

from core.gateway_settings import gateway_active
from payments.providers.alipay import AlipayProvider
from payments.providers.base import (
    CHANNELS,
    GATEWAY_CHANNELS,
    BillRow,
    Channel,
    CloseOutcome,
    Gateway,
    GatewayTrade,
    Notification,
    PaymentGatewayError,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    RefundNotification,
    RefundResult,
    RefundStatus,
    TradeStatus,
    TransferResult,
    TransferStatus,
)
from payments.providers.wechat_v2 import WeChatPayV2Provider
from payments.providers.wechat_v3 import WeChatPayV3Provider

__all__ = [
    "CHANNELS",
    "GATEWAY_CHANNELS",
    "AlipayProvider",
    "BillRow",
    "Channel",
    "CloseOutcome",
    "Gateway",
    "GatewayTrade",
    "Notification",
    "PaymentGatewayError",
    "PaymentProvider",
    "PaymentRejected",
    "PaymentRequest",
    "RefundNotification",
    "RefundResult",
    "RefundStatus",
    "TradeStatus",
    "TransferResult",
    "TransferStatus",
    "WeChatPayV2Provider",
    "WeChatPayV3Provider",
    "channel_active",
    "get_alipay",
    "get_provider",
    "get_wechat_pay",
    "notify_url",
    "refund_notify_url",
]

NOTIFY_PATHS = {Gateway.WECHAT: "/api/v1/payments/notify/wechat", Gateway.ALIPAY: "/api/v1/payments/notify/alipay"}
# WeChat Pay API v3 sends payment and refund results to one URL; v2 sends refunds to their own.
WECHAT_V3_NOTIFY_PATH = "/api/v1/payments/notify/wechat-v3"
WECHAT_V2_REFUND_NOTIFY_PATH = "/api/v1/payments/notify/wechat-refund"
WECHAT_PAY_VERSIONS = ("v3", "v2")


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return config if config is not None else current_app.config


def channel_active(channel: str, config: Mapping[str, Any] | None = None) -> bool:
    """Whether the gateway that serves ``channel`` (in the chosen WeChat Pay version) is fully configured."""
    config = _config(config)
    gateway = Channel(channel).gateway
    if gateway is None:  # bank_transfer: recorded by the county centre, no gateway to configure
        return False
    if gateway is Gateway.WECHAT:
        return gateway_active(config, f"wechat_{_wechat_pay_version(config)}")
    return gateway_active(config, "alipay")


def get_provider(channel: str, config: Mapping[str, Any] | None = None) -> PaymentProvider:
    """The provider for ``channel`` configured from ``config`` (default: the current app's)."""
    config = _config(config)
    if channel == Channel.WECHAT_JSAPI:
        return get_wechat_pay(config)
    if channel in (Channel.ALIPAY_MINI, Channel.ALIPAY_WAP):
        return AlipayProvider(config, Channel(channel))
    raise ValueError(f"unknown payment channel: {channel!r}")


def get_wechat_pay(
    config: Mapping[str, Any] | None = None, version: str | None = None
) -> WeChatPayV3Provider | WeChatPayV2Provider:
    """The WeChat Pay provider of ``version`` (default: WECHAT_PAY_VERSION, v3 when unset)."""
    config = _config(config)
    version = version or _wechat_pay_version(config)
    if version == "v3":
        return WeChatPayV3Provider(config)
    if version == "v2":
        return WeChatPayV2Provider(config)
    raise ValueError(f"WECHAT_PAY_VERSION must be one of {WECHAT_PAY_VERSIONS}, not {version!r}")


def get_alipay(config: Mapping[str, Any] | None = None) -> AlipayProvider:
    """The Alipay provider, for transfers, bills and login (not tied to a payment channel)."""
    return AlipayProvider(_config(config), Channel.ALIPAY_WAP)


def notify_url(channel: str, config: Mapping[str, Any] | None = None) -> str:
    """The notify URL given to the gateway of ``channel`` (API.md)."""
    config = _config(config)
    if Channel(channel).gateway is Gateway.WECHAT and _wechat_pay_version(config) == "v3":
        return config["PUBLIC_BASE_URL"].rstrip("/") + WECHAT_V3_NOTIFY_PATH
    return config["PUBLIC_BASE_URL"].rstrip("/") + NOTIFY_PATHS[Channel(channel).gateway]


def refund_notify_url(config: Mapping[str, Any] | None = None) -> str:
    """Where WeChat Pay reports refund results: v3 sends them to its one notify URL."""
    config = _config(config)
    path = WECHAT_V3_NOTIFY_PATH if _wechat_pay_version(config) == "v3" else WECHAT_V2_REFUND_NOTIFY_PATH
    return config["PUBLIC_BASE_URL"].rstrip("/") + path


def _wechat_pay_version(config: Mapping[str, Any]) -> str:
    return config.get("WECHAT_PAY_VERSION") or "v3"
