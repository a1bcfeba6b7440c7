"""The demo's money went through the gateway simulator: its bills and our records agree to the fen."""

import socket
from contextlib import contextmanager

import sqlalchemy as sa

from core.clock import BEIJING
from demo.seed import seed_demo_city
from payments.ledger.reconcile import reconcile_day
from payments.models import GatewayRefund, Payment
from payments.providers import GATEWAY_CHANNELS, get_provider
from sandbox import create_sandbox_app
from tests.fakes import serve

THROUGH_A_GATEWAY = Payment.channel.in_(
    [c for channels in GATEWAY_CHANNELS.values() for c in channels]
)  # the units' bank transfers have no gateway bill


def _demo_days(db) -> set:
    paid = db.session.scalars(sa.select(Payment.paid_at).where(Payment.status == "paid", THROUGH_A_GATEWAY))
    refunded = db.session.scalars(sa.select(GatewayRefund.completed_at).where(GatewayRefund.status == "success"))
    return {moment.astimezone(BEIJING).date() for moment in [*paid, *refunded]}


def _assert_reconciles(db) -> None:
    days = _demo_days(db)
    assert days
    billed = 0
    for day in days:
        for report in reconcile_day(day):
            assert report.differences == [], (day, report.gateway, report.differences)
            billed += report.bill_payments
    paid = db.session.scalar(
        sa.select(sa.func.count()).select_from(Payment).where(Payment.status == "paid", THROUGH_A_GATEWAY)
    )
    assert billed == paid


def test_the_demo_reconciles_with_the_simulators_bills(db, demo_gateways):
    seed_demo_city()
    payments = db.session.scalars(sa.select(Payment).where(THROUGH_A_GATEWAY)).all()
    # The last twelve months' (three a month, a refunded one every third month), the orders in every state,
    # the settlement demo's, the union's gift, two pre-sales' (2 + 2) and the pickup (3) orders, the members
    # of two groups (2 + 2).
    assert len(payments) == 12 * 3 + 4 + 6 + 8 + 1 + 7 + 4
    assert {p.channel for p in payments} == {"wechat_jsapi", "alipay_wap", "alipay_mini"}
    assert all(p.status == "paid" and not p.transaction_id.startswith("DEMO") for p in payments)
    assert {p.out_trade_no for p in payments} == set(demo_gateways.state.wechat_trades) | set(
        demo_gateways.state.alipay_trades
    )
    refund = db.session.scalar(
        sa.select(GatewayRefund).where(GatewayRefund.reason == "after_sales").order_by(GatewayRefund.id)
    )
    assert refund.status == "success" and refund.out_refund_no in demo_gateways.state.wechat_refunds
    _assert_reconciles(db)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _aim(app, monkeypatch, base: str) -> None:
    for name, path in (
        ("SANDBOX_URL", ""),
        ("WECHAT_API_BASE_URL", "/wechat-api/"),
        ("WECHAT_PAY_BASE_URL", "/wechat-pay/"),
        ("ALIPAY_SERVER_URL", "/alipay/gateway.do"),
    ):
        monkeypatch.setitem(app.config, name, base + path)


@contextmanager
def _restarted(state_file):
    """`flask sandbox serve` after the seed: a new simulator that loads the state file."""
    simulator = create_sandbox_app({}, state_file=state_file)
    with serve(simulator) as base_url:
        yield simulator.extensions["sandbox"], base_url.rstrip("/")
    simulator.extensions["sandbox"].notifier.stop()


def test_make_run_seeds_through_a_simulator_it_serves_itself_then_the_served_one_reconciles(
    app, db, tmp_path, monkeypatch
):
    """As `make run`: seed with no simulator up (the seed serves one on SANDBOX_URL), then serve and reconcile."""
    state_file = tmp_path / "sandbox-state.json"
    monkeypatch.setenv("SANDBOX_STATE_FILE", str(state_file))
    monkeypatch.setitem(app.config, "TASKS_EAGER", True)
    _aim(app, monkeypatch, f"http://127.0.0.1:{_free_port()}")
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "paid through the simulator" in result.output
    assert state_file.is_file()
    payment = db.session.scalar(sa.select(Payment).where(Payment.channel == "alipay_mini").order_by(Payment.id))
    with _restarted(state_file) as (simulator, base):
        _aim(app, monkeypatch, base)
        trade = get_provider("alipay_mini").query(payment.out_trade_no)  # a trade made before the restart
        assert (trade.status, trade.transaction_id, trade.amount_fen) == (
            "paid",
            payment.transaction_id,
            payment.amount_fen,
        )
        assert simulator.notifier.pending()  # the notifications the app could not receive yet are still owed
        _assert_reconciles(db)
