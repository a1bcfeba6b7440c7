"""The simulator's in-memory state: trades, refunds, transfers and recorded calls, behind one lock."""

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.clock import beijing_now


class SandboxError(Exception):
    """A cashier or test-hook request the simulator refuses (HTTP status, zh-CN message)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def digits(count: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def wechat_transaction_id() -> str:
    """28 digits, like 4200001234202401011234567890."""
    return "42000" + beijing_now().strftime("%Y%m%d") + digits(15)


def wechat_prepay_id() -> str:
    return "wx" + beijing_now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)


def alipay_trade_no() -> str:
    return beijing_now().strftime("%Y%m%d") + "22001" + digits(15)


@dataclass
class WeChatTrade:
    out_trade_no: str
    prepay_id: str
    total_fee: int
    body: str
    openid: str
    notify_url: str
    trade_type: str
    time_expire: datetime | None
    created_at: datetime
    state: str = "NOTPAY"  # NOTPAY, SUCCESS, REFUND, CLOSED
    transaction_id: str | None = None
    time_end: datetime | None = None
    refunded_fee: int = 0
    shipping_uploads: int = 0
    api_version: str = "v2"  # the API it was opened with: its notifications speak the same


@dataclass
class WeChatRefund:
    out_refund_no: str
    out_trade_no: str
    transaction_id: str
    refund_id: str
    total_fee: int
    refund_fee: int
    status: str  # PROCESSING, SUCCESS (v3 also ABNORMAL, CLOSED)
    created_at: datetime
    success_time: datetime | None = None
    notify_url: str | None = None
    api_version: str = "v2"


@dataclass
class AlipayTrade:
    out_trade_no: str
    trade_no: str
    total_fen: int
    subject: str
    channel: str  # alipay_mini or alipay_wap
    notify_url: str | None
    time_expire: datetime | None
    created_at: datetime
    buyer_id: str | None = None
    buyer_open_id: str | None = None
    status: str = "WAIT_BUYER_PAY"  # WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_CLOSED
    paid_at: datetime | None = None
    refunded_fen: int = 0


@dataclass
class AlipayRefund:
    out_trade_no: str
    out_request_no: str
    trade_no: str
    refund_fen: int
    reason: str
    created_at: datetime


@dataclass
class Transfer:
    out_biz_no: str
    order_id: str
    pay_fund_order_id: str
    amount_fen: int
    account: str
    name: str
    status: str
    created_at: datetime


@dataclass
class RecordedRequest:
    """One call the simulator received (tests read these)."""

    service: str  # wechat_pay, alipay or wechat_api
    path: str
    method: str
    params: Mapping[str, Any]
    at: datetime


@dataclass
class SandboxState:
    """Everything the simulator remembers; take ``lock`` around every read-modify-write."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    wechat_trades: dict[str, WeChatTrade] = field(default_factory=dict)
    wechat_refunds: dict[str, WeChatRefund] = field(default_factory=dict)
    alipay_trades: dict[str, AlipayTrade] = field(default_factory=dict)
    alipay_refunds: dict[tuple[str, str], AlipayRefund] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    requests: list[RecordedRequest] = field(default_factory=list)
    subscribe_messages: list[dict] = field(default_factory=list)
    shipping_uploads: list[dict] = field(default_factory=list)
    order_detail_path: str | None = None  # set by wxa/sec/order/update_order_detail_path
    bill_tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    # WeChat Pay v3 bill download tokens: token → (day, bill_type, expires at).
    wechat_bill_tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    # Test knob: how WeChat Pay v3 refunds end (SUCCESS, ABNORMAL or CLOSED).
    wechat_refund_outcome: str = "SUCCESS"
    # Test knobs: balances below which refunds (WeChat NOTENOUGH) and transfers fail; None = unlimited.
    wechat_balance_fen: int | None = None
    alipay_balance_fen: int | None = None

    def record(self, service: str, path: str, method: str, params: Mapping[str, Any]) -> None:
        with self.lock:
            self.requests.append(RecordedRequest(service, path, method, dict(params), beijing_now()))

    def wechat_trade_by_transaction(self, transaction_id: str) -> WeChatTrade | None:
        with self.lock:
            return next((t for t in self.wechat_trades.values() if t.transaction_id == transaction_id), None)

    def alipay_trade(self, out_trade_no: str | None, trade_no: str | None) -> AlipayTrade | None:
        with self.lock:
            if out_trade_no:
                return self.alipay_trades.get(out_trade_no)
            return next((t for t in self.alipay_trades.values() if t.trade_no == trade_no), None)
