"""The demo pays through the gateway simulator, so every demo payment is on the simulator's bills.

`make run` seeds before it starts `flask sandbox serve`. When no simulator
answers at ``SANDBOX_URL``, ``demo_simulator`` serves one there itself for the
duration of the seed, keeping its state in the file `flask sandbox serve` loads
next (``instance/sandbox-state.json``, see ``sandbox.persistence``): the
trades, refunds and the notifications still owed to the app survive into the
simulator that `make run` starts. When one already answers (a running
`make run`, or a test's), the seed uses it.

Each payment is opened with the real provider, paid at the simulator as a
buyer would (``POST /sandbox/pay``) and applied from the gateway's answer to a
query, as `flask payments sync` would apply a missed notification (the app is
not running yet; the notification reaches it later and is a duplicate by
then). The seed is a script that runs alone, in one transaction: unlike a
request or a job (``core.unit_of_work``) it may call a gateway with rows locked.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from flask import Flask, current_app
from werkzeug.serving import make_server

from core.clock import beijing_now
from core.models import User
from payments.applying import apply_query, lock_payment
from payments.ledger.models import Payout, PayoutStatus
from payments.ledger.payouts import record_transfer_result
from payments.models import GatewayRefund, GatewayRefundStatus, Payment, PaymentStatus
from payments.opening import record_attempt
from payments.providers import Channel, get_alipay, get_provider
from payments.providers.base import RefundStatus
from payments.refunds import apply_refund_result
from sandbox import create_sandbox_app
from sandbox.cli import PathOnlyRequestHandler
from sandbox.persistence import default_state_file
from shop.orders.models import Order

TIMEOUT = 15
GATEWAY_SETTINGS = ("WECHAT_PAY_BASE_URL", "WECHAT_API_BASE_URL", "ALIPAY_SERVER_URL")


class DemoGatewayUnavailable(RuntimeError):
    """The demo cannot pay through the simulator (sandbox off, or none reachable and none can be started)."""


def shares_our_clock(base_url: str) -> bool:
    """Whether the simulator reads this process's clock (served here, or by a test): set back, it answers so."""
    try:
        said = datetime.fromisoformat(requests.get(base_url.rstrip("/") + "/healthz", timeout=2).json()["now"])
    except (requests.RequestException, ValueError, KeyError):
        return False
    return abs(said - beijing_now()) < timedelta(minutes=5)


def simulator_answers(base_url: str) -> bool:
    try:
        return requests.get(base_url.rstrip("/") + "/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def _check_sandbox_settings(config) -> str:
    base = config["SANDBOX_URL"].rstrip("/")
    if not config.get("PAYMENT_SANDBOX"):
        raise DemoGatewayUnavailable("the demo pays through the gateway simulator: set PAYMENT_SANDBOX=1")
    elsewhere = [name for name in GATEWAY_SETTINGS if not str(config.get(name) or "").startswith(base)]
    if elsewhere:  # never let demo payments reach a real gateway
        raise DemoGatewayUnavailable(f"{', '.join(elsewhere)} must point at the simulator ({base})")
    return base


@contextmanager
def demo_simulator(app: Flask) -> Iterator[str]:
    """The simulator at SANDBOX_URL: the one that answers, else one served here (persisted) until the block ends."""
    base = _check_sandbox_settings(app.config)
    if simulator_answers(base):
        yield base
        return
    address = urlsplit(base)
    if address.hostname not in ("127.0.0.1", "localhost") or not address.port:
        raise DemoGatewayUnavailable(f"no gateway simulator answers at {base}; start `flask sandbox serve`")
    simulator = create_sandbox_app(app.config, state_file=default_state_file(app.instance_path))
    try:
        server = make_server(
            address.hostname, address.port, simulator, threaded=True, request_handler=PathOnlyRequestHandler
        )
    except OSError as exc:
        raise DemoGatewayUnavailable(f"cannot serve the gateway simulator at {base}: {exc}") from exc
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)
        simulator.extensions["sandbox"].save()


def pay_through_simulator(buyer: User, order: Order, channel: str) -> Payment:
    """Open a payment, pay it at the simulator as the buyer, and apply the gateway's answer."""
    payment, gateway_request = record_attempt(buyer, order.id, channel)
    provider = get_provider(channel)
    payment.params = provider.create(gateway_request)
    if channel == Channel.ALIPAY_WAP:  # the trade exists once the buyer opens the payment page
        requests.get(payment.params["url"], timeout=TIMEOUT).raise_for_status()
    paid = requests.post(
        current_app.config["SANDBOX_URL"].rstrip("/") + "/sandbox/pay",
        json={"out_trade_no": payment.out_trade_no, "channel": channel},
        timeout=TIMEOUT,
    )
    if paid.status_code != 200:
        raise DemoGatewayUnavailable(f"the simulator did not take the payment: {paid.text[:200]}")
    locked = lock_payment(payment.out_trade_no)
    apply_query(locked, provider.query(payment.out_trade_no))
    if locked.status != PaymentStatus.PAID:
        raise DemoGatewayUnavailable(f"payment {payment.out_trade_no} is {locked.status} after paying it")
    return locked


def refund_through_simulator(refund: GatewayRefund) -> None:
    """Send an approved refund through the gateway the order was paid with and apply the outcome."""
    payment = refund.payment
    provider = get_provider(payment.channel)
    refund.attempts += 1
    numbers = (payment.out_trade_no, refund.out_refund_no, payment.amount_fen, refund.amount_fen)
    result = provider.refund(*numbers, "售后退款")
    if result.status == RefundStatus.PROCESSING:  # WeChat only says "accepted": ask for the outcome
        result = provider.query_refund(payment.out_trade_no, refund.out_refund_no)
    apply_refund_result(refund, result)
    if refund.status != GatewayRefundStatus.SUCCESS:
        raise DemoGatewayUnavailable(f"refund {refund.out_refund_no} is {refund.status}")


def transfer_through_simulator(payout: Payout) -> None:
    """Send a recorded payout's Alipay transfer to the simulator and apply the answer (as `execute_payout` does)."""
    payout.status, payout.attempts = PayoutStatus.PROCESSING, payout.attempts + 1
    numbers = (payout.out_biz_no, payout.payee_account, payout.payee_name, payout.amount_fen)
    record_transfer_result(payout, get_alipay().transfer(*numbers, f"株洲农村电商结算 {payout.out_biz_no[-10:]}"))
    if payout.status != PayoutStatus.SUCCESS:
        raise DemoGatewayUnavailable(f"payout {payout.out_biz_no} is {payout.status}: {payout.failure_reason}")
