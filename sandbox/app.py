"""The simulator as one object (state + notifier + paying) and the Flask app that serves it."""

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, jsonify

from core.clock import beijing_now
from payments.providers.base import Channel, Gateway, TradeStatus
from sandbox import alipay_gateway, cashier, persistence, wechat_api, wechat_pay, wechat_pay_v3
from sandbox.notifications import (
    ALIPAY_CONTENT_TYPE,
    V3_VARIANTS,
    VARIANTS,
    WECHAT_CONTENT_TYPE,
    WECHAT_V3_CONTENT_TYPE,
    alipay_payment_body,
    wechat_payment_body,
    wechat_refund_body,
    wechat_v3_headers,
    wechat_v3_payment_body,
    wechat_v3_refund_body,
)
from sandbox.notifier import WECHAT_V3, Delivery, Notifier
from sandbox.settings import SandboxSettings
from sandbox.signing import v3_signature_valid, wechat_sign
from sandbox.state import (
    AlipayTrade,
    SandboxError,
    SandboxState,
    WeChatRefund,
    WeChatTrade,
    digits,
    wechat_transaction_id,
)

MAX_BODY_BYTES = 1024 * 1024


class Sandbox:
    """The gateways: what they know, what they owe the notify URLs, and the buyer's "pay" button.

    With a ``state_file`` everything it knows is loaded from that file at start
    and written back after every change (``sandbox.persistence``); without one
    it lives in memory only (tests).
    """

    def __init__(
        self,
        settings: SandboxSettings,
        clock: Callable[[], float] = time.time,
        state_file: str | Path | None = None,
    ):
        self.settings = settings
        self.state = SandboxState()
        self.notifier = Notifier(settings.time_factor, clock)
        # v3 notifications are signed again at every sending (a fresh Wechatpay-Timestamp).
        self.notifier.signers[WECHAT_V3] = lambda body: wechat_v3_headers(settings, body)
        self.base_url: str | None = None  # where it is served, when someone knows (tests, the CLI)
        self.state_file = Path(state_file) if state_file else None
        if self.state_file is not None:
            persistence.load(self.state_file, self.state, self.notifier)
            self.notifier.on_change = self.save

    def save(self) -> None:
        """Write everything to the state file (no-op without one)."""
        if self.state_file is None:
            return
        with self.state.lock:
            persistence.save(self.state_file, self.state, self.notifier)

    def slow_down(self) -> None:
        """Answer a payment-gateway call only after the configured latency (POST /sandbox/latency)."""
        delay = self.state.latency_seconds
        if delay > 0:
            time.sleep(delay)

    # -- paying ------------------------------------------------------------------------------

    def _locate(self, out_trade_no: str, channel: str | None) -> WeChatTrade | AlipayTrade:
        with self.state.lock:
            wechat = self.state.wechat_trades.get(out_trade_no)
            alipay = self.state.alipay_trade(out_trade_no, None) or self.state.alipay_trade(None, out_trade_no)
        if channel == Channel.WECHAT_JSAPI or (channel is None and wechat is not None):
            trade = wechat
        elif channel in (Channel.ALIPAY_MINI, Channel.ALIPAY_WAP, None):
            trade = alipay
        else:
            raise SandboxError(400, f"未知的支付渠道：{channel}")
        if trade is None:
            raise SandboxError(404, "交易不存在（支付宝手机网站支付需先打开支付链接）")
        return trade

    def pay_requested(self, request_payment: Mapping[str, str]) -> dict[str, Any]:
        """What the WeChat client does when the buyer confirms wx.requestPayment: find the prepay, check, pay."""
        package = str(request_payment.get("package") or "")
        with self.state.lock:
            trade = next((t for t in self.state.wechat_trades.values() if package == f"prepay_id={t.prepay_id}"), None)
        if trade is None:
            raise SandboxError(404, "预支付交易不存在（package 无效）")
        return self.pay(trade.out_trade_no, Channel.WECHAT_JSAPI, request_payment=request_payment)

    def pay(
        self,
        out_trade_no: str,
        channel: str | None = None,
        *,
        ignore_expiry: bool = False,
        request_payment: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The buyer pays: the trade succeeds and its notification is queued (sent at once if dispatching).

        ``request_payment``: the wx.requestPayment parameters, checked like the WeChat client does.
        ``ignore_expiry``: pay even after time_expire (to test paid-after-expiry handling).
        """
        trade = self._locate(out_trade_no, channel)
        now = beijing_now()
        with self.state.lock:
            if isinstance(trade, WeChatTrade):
                self._check_wechat_payable(trade, now, ignore_expiry, request_payment)
                trade.state, trade.time_end = "SUCCESS", now
                trade.transaction_id = wechat_transaction_id()
                gateway, content_type, body = self._wechat_payment(trade, "genuine")
                url, transaction_id = trade.notify_url, trade.transaction_id
            else:
                expired = trade.time_expire is not None and now > trade.time_expire
                if trade.status != "WAIT_BUYER_PAY" or (expired and not ignore_expiry):
                    raise SandboxError(409, "交易已支付、已关闭或已过期")
                trade.status, trade.paid_at = "TRADE_SUCCESS", now
                if not (trade.buyer_id or trade.buyer_open_id):  # a wap buyer logs in at the cashier
                    trade.buyer_id = "2088" + digits(12)
                body, url = alipay_payment_body(self.settings, trade), trade.notify_url
                gateway, content_type, transaction_id = Gateway.ALIPAY, ALIPAY_CONTENT_TYPE, trade.trade_no
        delivery = None
        if url:
            delivery = self.notifier.enqueue(gateway, "payment", trade.out_trade_no, url, body, content_type)
        self.save()
        return {
            "out_trade_no": trade.out_trade_no,
            "status": TradeStatus.PAID,
            "transaction_id": transaction_id,
            "delivery_id": delivery.id if delivery else None,
        }

    def _check_wechat_payable(self, trade: WeChatTrade, now, ignore_expiry: bool, request_payment) -> None:
        if trade.state != "NOTPAY":
            raise SandboxError(409, "订单已支付或已关闭")
        if trade.time_expire is not None and now > trade.time_expire and not ignore_expiry:
            raise SandboxError(409, "订单已过期")
        if request_payment is None:
            return
        signed = {
            "appId": self.settings.wechat_appid,
            "timeStamp": request_payment.get("timeStamp"),
            "nonceStr": request_payment.get("nonceStr"),
            "package": request_payment.get("package"),
            "signType": request_payment.get("signType"),
        }
        sign_type = "RSA" if trade.api_version == "v3" else "MD5"
        if signed["package"] != f"prepay_id={trade.prepay_id}" or signed["signType"] != sign_type:
            raise SandboxError(400, "package 或 signType 与预支付交易不符")
        if trade.api_version == "v3":  # RSA-SHA256 with the merchant's API key over appId, timeStamp, nonceStr, package
            parts = [str(signed[name]) for name in ("appId", "timeStamp", "nonceStr", "package")]
            pay_sign = str(request_payment.get("paySign") or "")
            if not v3_signature_valid(self.settings.v3_merchant_public_key, pay_sign, *parts):
                raise SandboxError(400, "支付验证签名失败（paySign）")
        elif request_payment.get("paySign") != wechat_sign(signed, self.settings.mch_key):
            raise SandboxError(400, "支付验证签名失败（paySign）")

    def _wechat_payment(self, trade: WeChatTrade, variant: str) -> tuple[str, str, bytes]:
        """(gateway, content type, body) of a payment notification in the API the trade was opened with."""
        if trade.api_version == "v3":
            return WECHAT_V3, WECHAT_V3_CONTENT_TYPE, wechat_v3_payment_body(self.settings, trade, variant)
        return Gateway.WECHAT, WECHAT_CONTENT_TYPE, wechat_payment_body(self.settings, trade, variant)

    def notify_wechat_refund(self, refund: WeChatRefund) -> Delivery:
        """Queue the encrypted refund notification (v3: REFUND.SUCCESS / ABNORMAL / CLOSED)."""
        if refund.api_version == "v3":
            body = wechat_v3_refund_body(self.settings, refund)
            gateway, content_type = WECHAT_V3, WECHAT_V3_CONTENT_TYPE
        else:
            body, gateway, content_type = wechat_refund_body(self.settings, refund), Gateway.WECHAT, WECHAT_CONTENT_TYPE
        return self.notifier.enqueue(
            gateway, "refund", refund.out_trade_no, refund.notify_url or "", body, content_type
        )

    # -- test hooks --------------------------------------------------------------------------

    def send_variant(self, out_trade_no: str, kind: str, channel: str | None = None) -> Delivery:
        """Post one extra notification for a paid trade at once: duplicate, forged, tampered_amount, …

        v3 trades take ``V3_VARIANTS`` (forged, unknown_serial, stale_timestamp, tampered_ciphertext, …).
        """
        trade = self._locate(out_trade_no, channel)
        v3 = isinstance(trade, WeChatTrade) and trade.api_version == "v3"
        allowed = V3_VARIANTS if v3 else VARIANTS
        if kind not in allowed:
            raise SandboxError(400, f"未知的通知类型：{kind}（可选 {', '.join(allowed)}）")
        headers = None
        with self.state.lock:
            if isinstance(trade, WeChatTrade):
                if trade.transaction_id is None:
                    raise SandboxError(409, "交易尚未支付")
                body_variant = kind if kind in ("wrong_amount", "wrong_appid", "tampered_ciphertext") else "genuine"
                if not v3:
                    body_variant = kind if kind != "duplicate" else "genuine"
                gateway, content_type, body = self._wechat_payment(trade, body_variant)
            else:
                if trade.paid_at is None:
                    raise SandboxError(409, "交易尚未支付")
                gateway, content_type = Gateway.ALIPAY, ALIPAY_CONTENT_TYPE
                body = alipay_payment_body(self.settings, trade, kind if kind != "duplicate" else "genuine")
        if kind == "duplicate":
            original = next(
                (d for d in self.notifier.deliveries if d.out_trade_no == out_trade_no and d.kind == "payment"),
                None,
            )
            body = original.body if original else body
        if not trade.notify_url:
            raise SandboxError(409, "该交易没有 notify_url")
        if v3:  # signed now; the header variants are signed wrongly on purpose
            headers = wechat_v3_headers(self.settings, body, kind)
        return self.notifier.send_once(
            gateway, kind, trade.out_trade_no, trade.notify_url, body, content_type, headers=headers
        )

    def deliver_due(self, now: float | None = None) -> list[Delivery]:
        """Send the notifications due at ``now`` (default: the clock)."""
        return self.notifier.deliver_due(now)

    def recorded(self, service: str | None = None) -> list:
        with self.state.lock:
            return [r for r in self.state.requests if service is None or r.service == service]


def create_sandbox_app(
    config: Mapping[str, Any] | None = None,
    *,
    start_dispatcher: bool = False,
    state_file: str | Path | None = None,
) -> Flask:
    """The simulator's WSGI app; ``app.extensions["sandbox"]`` is its Sandbox (kept in ``state_file`` if given)."""
    app = Flask("sandbox", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False
    sandbox = Sandbox(SandboxSettings.from_config(config), state_file=state_file)
    app.extensions["sandbox"] = sandbox
    for blueprint in (wechat_pay.bp, wechat_pay_v3.bp, alipay_gateway.bp, wechat_api.bp, cashier.bp):
        app.register_blueprint(blueprint)

    @app.after_request
    def remember(response):
        # Any call may have changed what the gateways know (a trade opened, an
        # access token issued, a wap trade created by a browser GET): keep it.
        sandbox.save()
        return response

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", sandbox=True, now=beijing_now().isoformat())  # its clock: a seed checks it

    if start_dispatcher:
        sandbox.notifier.start()
    return app
