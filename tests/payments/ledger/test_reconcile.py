"""`flask payments reconcile`: the sandbox's daily bills against payments, refunds and the ledger."""

import sqlalchemy as sa

from core.clock import beijing_now
from core.db import utcnow
from core.extensions import db as _db
from payments.ledger.reconcile import reconcile_day
from payments.models import GatewayRefund, Payment
from tests.ledger_helpers import assert_books_balance, balances
from tests.orders import place


def _open(client, shop, items, channel: str) -> dict:
    order = place(client, shop, items).json
    opened = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop["buyer_header"], json={"channel": channel}
    )
    assert opened.status_code == 201, opened.json
    return opened.json


def _pay_through_the_gateway(client, shop, sandbox, items, channel: str, *, learn: bool = True) -> dict:
    """Open the payment at the sandbox, pay it there, and (unless ``learn`` is off) hear about it by query."""
    payment = _open(client, shop, items, channel)
    sandbox.pay(payment["out_trade_no"], channel)
    if learn:
        refreshed = client.get(f"/api/v1/payments/{payment['id']}", headers=shop["buyer_header"])
        assert refreshed.json["status"] == "paid", refreshed.json
    return payment


def _refund_through_the_gateway(client, shop, payment: dict) -> GatewayRefund:
    order = client.get(f"/api/v1/orders/{payment['order_id']}", headers=shop["buyer_header"]).json
    asked = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "坏果"},
    ).json
    decided = client.post(
        f"/api/v1/refunds/{asked['id']}/decision", headers=shop["platform"], json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.json
    return _db.session.scalar(
        sa.select(GatewayRefund)
        .where(GatewayRefund.refund_request_id == asked["id"])
        .execution_options(populate_existing=True)
    )


def _reconcile(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["payments", "reconcile", "--date", beijing_now().date().isoformat()])
    return result.exit_code, result.output


def test_bills_match_payments_refunds_and_the_ledger(app, client, ledger_shop, app_on_sandbox):
    shop = ledger_shop
    shop["buyer"].alipay_user_id = "2088000000000077"
    _db.session.commit()
    _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi")
    paid = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["garlic"], 2)], "alipay_mini")
    refund = _refund_through_the_gateway(client, shop, paid)
    assert (refund.status, refund.attempts, refund.failure_reason) == ("success", 1, None)  # Alipay answers at once
    assert balances("seller", shop["garlic_seller"].id) == (0, 0, 0)
    assert_books_balance()
    code, output = _reconcile(app)
    assert code == 0, output
    assert "wechat: bill 1 payments 6800 fen, 0 refunds 0 fen; 0 differences" in output
    assert "alipay: bill 1 payments 6000 fen, 1 refunds 6000 fen; 0 differences" in output


def test_a_payment_we_never_heard_of_is_reported(app, client, ledger_shop, app_on_sandbox):
    shop = ledger_shop
    _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi")
    missed = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["garlic"], 1)], "wechat_jsapi", learn=False)
    code, output = _reconcile(app)
    assert code == 1
    assert "status" in output and missed["out_trade_no"] in output and "本地为 pending" in output
    (report, _alipay) = reconcile_day(beijing_now().date())
    assert [(d.kind, d.reference) for d in report.differences] == [("status", missed["out_trade_no"])]


def test_a_payment_missing_from_the_bill_is_reported(app, client, ledger_shop, app_on_sandbox):
    shop = ledger_shop
    known = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi")
    payment = _db.session.get(Payment, known["id"])
    payment.out_trade_no = "ZZ_NOT_AT_THE_GATEWAY"  # as if our record were of a trade the gateway never had
    _db.session.commit()
    (report, _alipay) = reconcile_day(beijing_now().date())
    kinds = sorted(d.kind for d in report.differences)
    assert kinds == ["missing_in_bill", "missing_in_records"]


def test_a_payment_marked_paid_without_its_posting_is_reported(app, client, ledger_shop, app_on_sandbox):
    shop = ledger_shop
    opened = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi", learn=False)
    payment = _db.session.get(Payment, opened["id"])
    payment.status, payment.paid_at = "paid", utcnow()  # a bug that bypassed apply_success
    _db.session.commit()
    (report, _alipay) = reconcile_day(beijing_now().date())
    assert [(d.kind, d.detail) for d in report.differences] == [("ledger", "支付未记账")]


def test_an_amount_difference_is_reported(app, client, ledger_shop, app_on_sandbox):
    shop = ledger_shop
    opened = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi")
    payment = _db.session.get(Payment, opened["id"])
    payment.amount_fen += 1  # our record drifted from what the gateway took
    _db.session.commit()
    (report, _alipay) = reconcile_day(beijing_now().date())
    assert sorted(d.kind for d in report.differences) == ["amount", "ledger"]
    assert "账单 6800 分，本地 6801 分" in [d.detail for d in report.differences]


def test_an_unreachable_gateway_is_a_difference_not_a_crash(app, ledger_shop, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_PAY_BASE_URL", "http://127.0.0.1:9/wechat-pay/")
    monkeypatch.setitem(app.config, "ALIPAY_SERVER_URL", "http://127.0.0.1:9/alipay/gateway.do")
    code, output = _reconcile(app)
    assert code == 1 and output.count("bill_unavailable") == 2


def test_reconciling_costs_the_same_queries_for_one_or_many_bill_rows(
    app, client, ledger_shop, app_on_sandbox, count_queries
):
    shop = ledger_shop
    shop["buyer"].alipay_user_id = "2088000000000077"
    _db.session.commit()
    first = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi")
    _refund_through_the_gateway(
        client, shop, _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["garlic"], 1)], "alipay_mini")
    )
    with count_queries() as few:
        reports = reconcile_day(beijing_now().date())
    assert [len(report.differences) for report in reports] == [0, 0]
    for _ in range(3):
        _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["peach_5"], 1)], "wechat_jsapi")
        paid = _pay_through_the_gateway(client, shop, app_on_sandbox, [(shop["garlic"], 1)], "alipay_mini")
        _refund_through_the_gateway(client, shop, paid)
    with count_queries() as many:
        reports = reconcile_day(beijing_now().date())
    assert [(report.bill_payments, report.bill_refunds) for report in reports] == [(4, 0), (4, 4)]
    assert [len(report.differences) for report in reports] == [0, 0]
    assert first["out_trade_no"]
    # Per gateway: payments, their postings, our day's payments, refunds, their postings, our day's refunds.
    assert len(many) == len(few) <= 12
