"""No gateway call inside a transaction: intent is committed first, the answer applied under a fresh lock.

These run on every engine: they watch the session at the moment each gateway
call is made (no transaction open means no row lock and no connection held),
and check that each step re-reads the state it finds after the call. The real
slow-gateway race, with threads and row locks, is in test_slow_gateway.py
(PostgreSQL).
"""

import pytest
import sqlalchemy as sa

import payments.closing
import payments.opening
import payments.refunds
from core.extensions import db as _db
from core.unit_of_work import unit_of_work
from payments.applying import apply_success, lock_payment
from payments.closing import close_open_payments, sync_pending_payments
from payments.models import GatewayRefund, Payment, PaymentEvent
from payments.providers import PaymentGatewayError, PaymentRejected
from payments.providers import get_provider as real_get_provider
from tests.payments.test_payments_flow import _order

WATCHED = ("create", "query", "close", "refund", "query_refund")


class Watched:
    """The real provider, noting for each gateway call whether a transaction was open; hooks can intervene."""

    def __init__(self, real, calls: list, hooks: dict):
        self._real, self._calls, self._hooks = real, calls, hooks

    def __getattr__(self, name):
        attribute = getattr(self._real, name)
        if name not in WATCHED:
            return attribute

        def call(*args, **kwargs):
            self._calls.append(
                (name, args[0] if name != "create" else args[0].out_trade_no, _db.session().in_transaction())
            )
            hook = self._hooks.get(name)
            if hook is not None:
                answer = hook(*args, **kwargs)
                if answer is not None:
                    return answer
            return attribute(*args, **kwargs)

        return call


@pytest.fixture
def watch(monkeypatch, gateway):
    """(calls, hooks): every provider the payment services use is watched."""
    calls, hooks = [], {}

    def provider(channel, config=None):
        return Watched(real_get_provider(channel, config), calls, hooks)

    for module in (payments.opening, payments.closing, payments.refunds):
        monkeypatch.setattr(module, "get_provider", provider)
    return calls, hooks


def _post_payment(client, shop, order_id, channel="wechat_jsapi", **headers):
    return client.post(
        f"/api/v1/orders/{order_id}/payments",
        headers={**shop["buyer_header"], **headers},
        json={"channel": channel},
    )


def _payments(order_id):
    _db.session.expire_all()
    return _db.session.scalars(sa.select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)).all()


def test_opening_commits_the_attempt_before_calling_the_gateway(client, shop, watch):
    calls, hooks = watch
    order = _order(client, shop)
    seen = []

    def create(request):
        seen.append(_db.session.scalar(sa.select(Payment.status).where(Payment.out_trade_no == request.out_trade_no)))
        _db.session.rollback()  # only looked: leave no transaction behind

    hooks["create"] = create
    response = _post_payment(client, shop, order["id"])
    assert response.status_code == 201 and set(response.json["params"]) >= {"paySign", "package"}
    assert calls == [("create", response.json["out_trade_no"], False)]
    assert seen == ["pending"]  # the attempt was already recorded when the gateway was asked


def test_a_gateway_that_cannot_be_reached_leaves_the_attempt_to_be_asked_again_with_the_same_number(
    client, shop, watch
):
    calls, hooks = watch
    order = _order(client, shop)
    hooks["create"] = lambda request: (_ for _ in ()).throw(PaymentGatewayError())
    failed = _post_payment(client, shop, order["id"], **{"Idempotency-Key": "open-1"})
    assert failed.status_code == 502 and failed.json["error"]["code"] == "upstream_unavailable"
    (attempt,) = _payments(order["id"])
    assert (attempt.status, attempt.params) == ("pending", {})
    del hooks["create"]
    retried = _post_payment(client, shop, order["id"], **{"Idempotency-Key": "open-1"})
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert retried.json["out_trade_no"] == attempt.out_trade_no and retried.json["params"]
    replayed = _post_payment(client, shop, order["id"], **{"Idempotency-Key": "open-1"})
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json == retried.json
    assert [number for name, number, _ in calls] == [attempt.out_trade_no] * 2  # one number, asked twice
    assert len(_payments(order["id"])) == 1


def test_an_attempt_the_gateway_refuses_is_failed_and_the_next_request_starts_afresh(client, shop, watch):
    _, hooks = watch
    order = _order(client, shop)
    hooks["create"] = lambda request: (_ for _ in ()).throw(PaymentRejected("SYSTEMERROR", "系统繁忙"))
    refused = _post_payment(client, shop, order["id"])
    assert refused.status_code == 409
    del hooks["create"]
    opened = _post_payment(client, shop, order["id"])
    assert opened.status_code == 201
    first, second = _payments(order["id"])
    assert first.status == "failed" and second.status == "pending" and second.out_trade_no != first.out_trade_no


def test_an_attempt_closed_while_the_gateway_was_asked_is_closed_there_too(client, shop, watch):
    calls, hooks = watch
    order = _order(client, shop)

    def create(request):
        with unit_of_work():  # the order expired meanwhile and the closing job closed the attempt
            lock_payment(request.out_trade_no).status = "closed"

    hooks["create"] = create
    response = _post_payment(client, shop, order["id"])
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"
    (attempt,) = _payments(order["id"])
    assert attempt.status == "closed" and attempt.params == {}
    assert [(name, in_transaction) for name, _, in_transaction in calls] == [("create", False), ("close", False)]


def test_refreshing_asks_outside_a_transaction_and_applies_once_even_if_a_notification_won(
    client,
    shop,
    watch,
    gateway,
):
    calls, hooks = watch
    order = _order(client, shop)
    opened = _post_payment(client, shop, order["id"]).json
    gateway.pay(opened["out_trade_no"])

    def query(out_trade_no):
        with unit_of_work():  # the notification arrives while we are asking
            apply_success(lock_payment(out_trade_no), "4200000000000001", None)

    hooks["query"] = query
    response = client.get(f"/api/v1/payments/{opened['id']}", headers=shop["buyer_header"])
    assert response.status_code == 200 and response.json["status"] == "paid"
    assert calls[-1] == ("query", opened["out_trade_no"], False)
    assert _db.session.scalar(sa.select(Payment.transaction_id).where(Payment.id == opened["id"])) == (
        "4200000000000001"
    )
    outcomes = _db.session.scalars(sa.select(PaymentEvent.outcome).where(PaymentEvent.payment_id == opened["id"]))
    assert list(outcomes) == []  # the re-check found it paid: the query's answer changed nothing


def test_closing_calls_the_gateway_outside_a_transaction_and_skips_what_changed_meanwhile(
    client,
    shop,
    watch,
    gateway,
):
    calls, hooks = watch
    first = _order(client, shop)
    opened = _post_payment(client, shop, first["id"]).json
    close_open_payments(first["id"])
    assert _payments(first["id"])[0].status == "closed"
    assert calls[-1] == ("close", opened["out_trade_no"], False)
    assert gateway.state.wechat_trades[opened["out_trade_no"]].state == "CLOSED"

    second = _order(client, shop)
    racing = _post_payment(client, shop, second["id"]).json
    gateway.pay(racing["out_trade_no"])

    def close(out_trade_no):
        with unit_of_work():  # its notification is applied while the gateway answers "already paid"
            apply_success(lock_payment(out_trade_no), "4200000000000002", None)

    hooks["close"] = close
    close_open_payments(second["id"])
    (payment,) = _payments(second["id"])
    assert payment.status == "paid" and payment.transaction_id == "4200000000000002"
    assert not _db.session.scalar(sa.select(sa.func.count()).select_from(GatewayRefund))


def test_a_refund_counts_its_attempt_before_calling_and_applies_the_answer_under_a_new_lock(
    client,
    shop,
    watch,
    gateway,
):
    calls, hooks = watch
    order = _order(client, shop)
    opened = _post_payment(client, shop, order["id"]).json
    gateway.pay(opened["out_trade_no"])
    gateway.deliver_due()
    attempts_at_call = []

    def refund(out_trade_no, out_refund_no, *args, **kwargs):
        attempts_at_call.append(
            _db.session.scalar(sa.select(GatewayRefund.attempts).where(GatewayRefund.out_refund_no == out_refund_no))
        )
        _db.session.rollback()

    hooks["refund"] = refund
    request = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "坏了"},
    ).json
    decided = client.post(
        f"/api/v1/refunds/{request['id']}/decision", headers=shop["peach_manager"], json={"decision": "approve"}
    )
    assert decided.status_code == 200
    assert [(name, in_transaction) for name, _, in_transaction in calls if name == "refund"] == [("refund", False)]
    assert attempts_at_call == [1]
    sent = _db.session.scalar(sa.select(GatewayRefund))
    assert sent.status == "processing" and sent.attempts == 1


def test_sync_commits_each_payment_on_its_own(client, shop, watch, gateway):
    from datetime import timedelta

    from core.db import utcnow

    _, hooks = watch
    paid, unreachable = _order(client, shop), _order(client, shop)
    paid_payment = _post_payment(client, shop, paid["id"]).json
    other = _post_payment(client, shop, unreachable["id"]).json
    gateway.pay(paid_payment["out_trade_no"])
    for payment in _payments(paid["id"]) + _payments(unreachable["id"]):
        payment.created_at = utcnow() - timedelta(minutes=10)
    _db.session.commit()

    def query(out_trade_no):
        if out_trade_no == other["out_trade_no"]:
            raise PaymentGatewayError()

    hooks["query"] = query
    assert sync_pending_payments(5) == {"checked": 1, "paid": 1, "closed": 0, "errors": 1}
    assert _payments(paid["id"])[0].status == "paid" and _payments(unreachable["id"])[0].status == "pending"
