"""Payments fixtures: the gateway simulator on loopback, provider settings aimed at it, a notify receiver."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, request
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from app import configure
from core.config import TestConfig
from payments.providers import PaymentRequest, get_alipay, get_wechat_pay, notify_url
from sandbox import create_sandbox_app
from tests.fakes import serve

TIME_FACTOR = 0.001


@pytest.fixture
def sandbox():
    """A fresh simulator (retry schedule compressed 1000×) served on a free loopback port.

    No dispatcher thread: tests deliver notifications with ``deliver_due`` / ``run_until_settled``.
    """
    app = create_sandbox_app({"SANDBOX_TIME_FACTOR": TIME_FACTOR})
    box = app.extensions["sandbox"]
    with serve(app) as base_url:
        box.base_url = base_url
        yield box
    box.notifier.stop()


def settings_for(
    sandbox_base: str, public_base: str = "http://127.0.0.1:9", wechat_pay_version: str | None = None
) -> dict:
    """TestConfig's settings (the SANDBOX-ONLY credentials) with every gateway base on ``sandbox_base``.

    ``wechat_pay_version``: v2 or v3 (default: TestConfig's, i.e. v3 as in API.md).
    """
    config = configure(TestConfig())  # as create_app sees it: with the sandbox's credentials
    values = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    values.update(
        WECHAT_API_BASE_URL=sandbox_base + "wechat-api/",
        WECHAT_PAY_BASE_URL=sandbox_base + "wechat-pay/",
        ALIPAY_SERVER_URL=sandbox_base + "alipay/gateway.do",
        PUBLIC_BASE_URL=public_base.rstrip("/"),
        PAYMENT_HTTP_TIMEOUT=5,
    )
    if wechat_pay_version:
        values["WECHAT_PAY_VERSION"] = wechat_pay_version
    return values


@dataclass
class Received:
    gateway: str
    body: bytes
    content_type: str
    verdict: object
    status: int


@dataclass
class Receiver:
    """Stands in for the app's notify endpoints: verifies with the provider and acknowledges accordingly."""

    config: dict
    refuse_first: int = 0  # answer 500 to this many notifications before acknowledging
    received: list[Received] = field(default_factory=list)
    base_url: str = ""

    def app(self) -> Flask:
        app = Flask("notify_receiver")

        @app.post("/api/v1/payments/notify/<gateway>")
        def notify(gateway: str):
            body = request.get_data()
            if gateway == "wechat-v3":
                provider = get_wechat_pay(self.config, "v3")
                verdict = provider.parse_event(request.headers, body)
            elif gateway == "wechat-refund":
                provider = get_wechat_pay(self.config, "v2")
                verdict = provider.parse_refund_notification(body)
            else:
                provider = get_wechat_pay(self.config, "v2") if gateway == "wechat" else get_alipay(self.config)
                form = request.form.to_dict() if gateway == "alipay" else None
                verdict = provider.parse_notification(body, request.content_type, form)
            if len(self.received) < self.refuse_first:
                self.received.append(Received(gateway, body, request.content_type or "", verdict, 500))
                return "busy", 500
            reply, status, content_type = provider.ack(verdict.valid)
            self.received.append(Received(gateway, body, request.content_type or "", verdict, status))
            return reply, status, {"Content-Type": content_type}

        return app

    @property
    def verdicts(self) -> list:
        return [r.verdict for r in self.received]


@pytest.fixture
def gateways(sandbox):
    """(settings, receiver): provider settings whose PUBLIC_BASE_URL is a live notify receiver."""
    receiver = Receiver(config={})
    with serve(receiver.app()) as receiver_base:
        receiver.base_url = receiver_base
        receiver.config = settings_for(sandbox.base_url, receiver_base)
        yield receiver.config, receiver


def payment_request(out_trade_no: str, channel: str, config: dict, amount_fen: int = 1230, **payer) -> PaymentRequest:
    """A payment attempt expiring in 30 minutes, with the notify URL of ``channel``."""
    defaults = {
        "wechat_jsapi": {"payer_openid": "sbx_buyer_openid"},
        "alipay_mini": {"payer_alipay_user_id": "2088000000000077"},
        "alipay_wap": {},
    }[channel]
    return PaymentRequest(
        out_trade_no=out_trade_no,
        amount_fen=amount_fen,
        description="炎陵黄桃 5斤装",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
        client_ip="127.0.0.1",
        notify_url=notify_url(channel, config),
        **(payer or defaults),
    )


@pytest.fixture
def gateway(request, app, sandbox, monkeypatch):
    """The app talks to the simulator, and the simulator notifies the app served on loopback.

    Parametrized indirectly with the WeChat Pay API version (default: the app's, v3).
    """
    monkeypatch.setitem(app.config, "WECHAT_PAY_VERSION", getattr(request, "param", app.config["WECHAT_PAY_VERSION"]))
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", sandbox.base_url + "wechat-api/")
    monkeypatch.setitem(app.config, "WECHAT_PAY_BASE_URL", sandbox.base_url + "wechat-pay/")
    monkeypatch.setitem(app.config, "ALIPAY_SERVER_URL", sandbox.base_url + "alipay/gateway.do")
    with serve(app) as base:
        monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", base.rstrip("/"))
        yield sandbox
