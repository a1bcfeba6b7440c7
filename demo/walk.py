"""`flask demo walk`: a buyer orders and pays with every channel through the sandbox.

It talks HTTP to the running app (PUBLIC_BASE_URL) and to the gateway
simulator (SANDBOX_URL), exactly as the mini-program and the buyer's phone
would: WeChat login, checkout, payment, the sandbox cashier, the gateway's
notification back to the app. Start both first with `make run`.
"""

import time
import uuid

import requests

from payments.providers.base import Channel
from shop.orders.models import OrderStatus

CHANNELS = (Channel.WECHAT_JSAPI, Channel.ALIPAY_WAP, Channel.ALIPAY_MINI)
ADDRESS = {"name": "演示买家", "phone": "13800000002", "region_code": "4302", "detail": "株洲市天元区演示路2号"}


class WalkFailed(RuntimeError):
    """A step of the walk did not do what a buyer would expect."""


def _call(method: str, url: str, expected: int, **kwargs) -> dict:
    response = requests.request(method, url, timeout=15, **kwargs)
    if response.status_code != expected:
        raise WalkFailed(f"{method} {url} → {response.status_code}: {response.text[:300]}")
    return response.json() if "json" in response.headers.get("Content-Type", "") else {}


def _login(api: str, channel: str) -> dict:
    if channel == Channel.ALIPAY_MINI:
        tokens = _call("POST", f"{api}/auth/alipay-login", 200, json={"auth_code": "demo-walk-alipay"})
    else:
        tokens = _call("POST", f"{api}/auth/wechat-login", 200, json={"code": "demo-walk-wechat"})
    return {"Authorization": f"Bearer {tokens['token']}"}


def _pick_sku(api: str) -> dict:
    for item in _call("GET", f"{api}/products?per_page=20", 200)["items"]:
        product = _call("GET", f"{api}/products/{item['id']}", 200)
        for sku in product["skus"]:
            if sku["stock"] > 0:
                return {"product": product["title"], **sku}
    raise WalkFailed("no product on sale with stock: run `flask demo seed` first")


def _wait_until_paid(api: str, headers: dict, order_id: int, payment_id: int, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = _call("GET", f"{api}/orders/{order_id}", 200, headers=headers)["status"]
        if status == OrderStatus.PAID:
            return f"{OrderStatus.PAID} (notification)"
        time.sleep(0.2)
    # No notification in time: ask the gateway, as the app does for a pending payment.
    status = _call("GET", f"{api}/payments/{payment_id}", 200, headers=headers)["status"]
    return f"{status} (gateway query)"


def walk(app_base: str, sandbox_base: str, echo=print, wait_seconds: float = 5.0) -> list[dict]:
    """Order and pay once per channel; returns what happened, raises WalkFailed on any surprise."""
    api = app_base.rstrip("/") + "/api/v1"
    sandbox = sandbox_base.rstrip("/")
    _call("GET", f"{app_base.rstrip('/')}/healthz", 200)
    _call("GET", f"{sandbox}/healthz", 200)
    sku = _pick_sku(api)
    results = []
    for channel in CHANNELS:
        headers = _login(api, channel)
        order = _call(
            "POST",
            f"{api}/orders",
            201,
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            json={"items": [{"sku_id": sku["id"], "quantity": 1}], "address": ADDRESS},
        )
        payment = _call("POST", f"{api}/orders/{order['id']}/payments", 201, headers=headers, json={"channel": channel})
        if channel == Channel.ALIPAY_WAP:
            requests.get(payment["params"]["url"], timeout=15)  # the buyer opens the payment page
        paying = {"out_trade_no": payment["out_trade_no"], "channel": channel}
        if channel == Channel.WECHAT_JSAPI:  # the sandbox checks paySign as wx.requestPayment would (v3: RSA, v2: MD5)
            paying["request_payment"] = payment["params"]
        _call("POST", f"{sandbox}/sandbox/pay", 200, json=paying)
        outcome = _wait_until_paid(api, headers, order["id"], payment["id"], wait_seconds)
        if not outcome.startswith(OrderStatus.PAID):
            raise WalkFailed(f"{channel}: order {order['id']} is {outcome}")
        price = f"¥{order['total_fen'] // 100}.{order['total_fen'] % 100:02d}"
        echo(f"{channel:13} order {order['id']:>5}  {sku['product']} {sku['name']}  {price}  → {outcome}")
        results.append({"channel": channel, "order_id": order["id"], "outcome": outcome})
    return results
