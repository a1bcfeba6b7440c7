"""Payment providers chosen by configuration: WeChat Pay v2 (wechatpy) and Alipay (alipay-sdk-python)."""

from collections.abc import Mapping
from typing import Any

from flask import current_app

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
    "get_alipay",
    "get_provider",
    "notify_url",
]

NOTIFY_PATHS = {Gateway.WECHAT: "/api/v1/payments/notify/wechat", Gateway.ALIPAY: "/api/v1/payments/notify/alipay"}


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return config if config is not None else current_app.config


def get_provider(channel: str, config: Mapping[str, Any] | None = None) -> PaymentProvider:
    """The provider for ``channel`` configured from ``config`` (default: the current app's)."""
    config = _config(config)
    if channel == Channel.WECHAT_JSAPI:
        version = config.get("WECHAT_PAY_VERSION") or "v2"
        if version != "v2":
            raise ValueError(f"WECHAT_PAY_VERSION={version} is not implemented yet; use v2")
        return WeChatPayV2Provider(config)
    if channel in (Channel.ALIPAY_MINI, Channel.ALIPAY_WAP):
        return AlipayProvider(config, Channel(channel))
    raise ValueError(f"unknown payment channel: {channel!r}")


def get_alipay(config: Mapping[str, Any] | None = None) -> AlipayProvider:
    """The Alipay provider, for transfers, bills and login (not tied to a payment channel)."""
    return AlipayProvider(_config(config), Channel.ALIPAY_WAP)


def notify_url(channel: str, config: Mapping[str, Any] | None = None) -> str:
    """The notify URL given to the gateway of ``channel`` (API.md)."""
    return _config(config)["PUBLIC_BASE_URL"].rstrip("/") + NOTIFY_PATHS[Channel(channel).gateway]
