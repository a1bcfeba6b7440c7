"""The demo pays through the gateway simulator: every demo test gets one of its own."""

import pytest
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat


@pytest.fixture(autouse=True)
def demo_gateways(app, sandbox, monkeypatch):
    """SANDBOX_URL and every gateway setting point at this test's simulator (served on loopback)."""
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())  # its access tokens are its own
    base = sandbox.base_url.rstrip("/")
    monkeypatch.setitem(app.config, "SANDBOX_URL", base)
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", base + "/wechat-api/")
    monkeypatch.setitem(app.config, "WECHAT_PAY_BASE_URL", base + "/wechat-pay/")
    monkeypatch.setitem(app.config, "ALIPAY_SERVER_URL", base + "/alipay/gateway.do")
    return sandbox
