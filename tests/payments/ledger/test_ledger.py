"""The settlement ledger: splits on payment, reversals on refund, the hold, verification."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from core.db import utcnow
from core.extensions import db as _db
from payments.applying import apply_success, lock_payment
from payments.ledger.models import LedgerEntry, LedgerPosting
from payments.ledger.postings import Leg, UnbalancedPosting, account, post, post_refund
from payments.ledger.settlement import release_held_funds
from payments.ledger.verify import verify_ledger
from payments.models import GatewayRefund, Payment
from payments.opening import new_out_trade_no
from payments.providers import RefundResult
from payments.refunds import apply_refund_result
from shop.orders.models import Order, OrderLine
from tests import factories
from tests.ledger_helpers import (
    assert_books_balance,
    balances,
    paid_order,
    refund_lines,
    release_after_hold,
    ship_and_confirm,
)
from tests.orders import place


def _ids(ledger_shop):
    return ledger_shop["peach_seller"].id, ledger_shop["peach_station"].id, ledger_shop["peach_station"].centre_id


def test_payment_splits_each_line_into_pending_buckets(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1), (ledger_shop["garlic"], 2)])
    seller, station, centre = _ids(ledger_shop)
    assert balances("seller", seller) == (6256, 0, 0)  # 6800 − 204 − 340
    assert balances("station", station) == (340, 0, 0)  # 5 %
    assert balances("centre", centre) == (204, 0, 0)  # 3 %
    garlic = ledger_shop["garlic_seller"].id
    assert balances("seller", garlic) == (6000 - 180 - 240, 0, 0)
    posting = _db.session.scalar(sa.select(LedgerPosting).where(LedgerPosting.kind == "payment"))
    assert sum(entry.amount_fen for entry in posting.entries) == 0
    gateway = [entry for entry in posting.entries if entry.account.owner_type == "gateway"]
    assert [(entry.account.bucket, entry.amount_fen) for entry in gateway] == [("wechat_jsapi", -order["total_fen"])]
    assert all(entry.amount_fen != 0 for entry in posting.entries)
    assert_books_balance()


def test_a_second_success_for_the_same_payment_credits_nothing(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    payment = _db.session.scalar(sa.select(Payment).where(Payment.order_id == order["id"]))
    assert apply_success(lock_payment(payment.out_trade_no), "TX-again", utcnow()) == "duplicate"
    _db.session.commit()
    assert balances("seller", ledger_shop["peach_seller"].id) == (6256, 0, 0)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(LedgerPosting)) == 1


def test_money_for_an_order_that_cannot_take_it_waits_in_suspense_until_refunded(client, ledger_shop):
    order = place(client, ledger_shop, [(ledger_shop["peach_5"], 1)]).json
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=ledger_shop["buyer_header"]).status_code == 200
    payment = Payment(
        order_id=order["id"],
        buyer_id=ledger_shop["buyer"].id,
        channel="alipay_mini",
        out_trade_no=new_out_trade_no(order["id"]),
        amount_fen=order["total_fen"],
    )
    _db.session.add(payment)
    _db.session.flush()
    assert apply_success(lock_payment(payment.out_trade_no), "TX-late", utcnow()).startswith("refunded_automatically")
    _db.session.commit()
    assert balances("platform") == (0, 0, 0)
    suspense = account("suspense")
    assert _balance(suspense) == order["total_fen"]
    refund = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.payment_id == payment.id))
    apply_refund_result(refund, RefundResult(refund.out_refund_no, "success", refund_id="GW-auto"))
    _db.session.commit()
    assert _balance(suspense) == 0
    assert _balance(account("gateway", 0, "alipay_mini")) == 0
    assert_books_balance()


def _balance(record) -> int:
    return _db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.account_id == record.id)
    )


def test_refund_during_the_hold_comes_out_of_pending_exactly(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1), (ledger_shop["garlic"], 2)])
    peach_line = next(line["id"] for line in order["lines"] if line["station_id"] == ledger_shop["peach_station"].id)
    refund_lines(client, ledger_shop, order["id"], [peach_line], decider="peach_manager")
    seller, station, centre = _ids(ledger_shop)
    assert balances("seller", seller) == (0, 0, 0)
    assert balances("station", station) == (0, 0, 0)
    assert balances("centre", centre) == (0, 0, 0)
    assert balances("seller", ledger_shop["garlic_seller"].id) == (5580, 0, 0)  # the other line is untouched
    assert_books_balance()


def test_partial_refunds_end_at_exactly_zero(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_10"], 1)])  # 12800
    line = _db.session.get(OrderLine, order["lines"][0]["id"])
    payment = _db.session.scalar(sa.select(Payment).where(Payment.order_id == order["id"]))
    for number, amount in enumerate((3333, 3333, 3333, 2801)):
        refund = GatewayRefund(
            payment_id=payment.id, out_refund_no=f"RFP{number}", amount_fen=amount, reason="test", status="success"
        )
        _db.session.add(refund)
        _db.session.flush()
        post_refund(refund, [(line.id, amount)])
        line.refunded_fen += amount
        _db.session.commit()
        assert_books_balance()
    seller, station, centre = _ids(ledger_shop)
    assert balances("seller", seller) == balances("station", station) == balances("centre", centre) == (0, 0, 0)
    with pytest.raises(ValueError, match="exceeds"):
        post_refund(refund.__class__(id=10**6, payment_id=payment.id, amount_fen=1), [(line.id, 1)])


def test_money_becomes_available_only_after_the_hold(client, ledger_shop, app):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    ship_and_confirm(client, ledger_shop, order["id"])
    seller, station, centre = _ids(ledger_shop)
    assert release_held_funds(utcnow() + timedelta(days=6)) == 0
    assert balances("seller", seller) == (6256, 0, 0)
    assert release_held_funds(utcnow() + timedelta(days=app.config["SETTLEMENT_HOLD_DAYS"], seconds=1)) == 1
    _db.session.commit()
    assert balances("seller", seller) == (0, 6256, 0)
    assert balances("station", station) == (0, 340, 0)
    assert balances("centre", centre) == (0, 204, 0)
    assert release_after_hold() == 0  # running it again releases nothing twice
    assert balances("seller", seller) == (0, 6256, 0)
    assert_books_balance()


def test_lines_not_completed_are_not_released(client, ledger_shop):
    paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])  # paid, never shipped
    assert release_after_hold(days=60) == 0


def test_after_sales_refunds_are_refused_once_the_hold_has_ended(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    ship_and_confirm(client, ledger_shop, order["id"])
    line = _db.session.get(OrderLine, order["lines"][0]["id"])
    line.completed_at = utcnow() - timedelta(days=8)
    _db.session.commit()
    refused = client.post(
        "/api/v1/refunds",
        headers=ledger_shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [line.id], "reason": "坏了"},
    )
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "invalid_state"
    assert "已结算" in refused.json["error"]["message"]


def test_after_sales_refunds_are_allowed_during_the_hold(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    ship_and_confirm(client, ledger_shop, order["id"])
    refund_lines(client, ledger_shop, order["id"], [order["lines"][0]["id"]], decider="peach_manager")
    assert balances("seller", ledger_shop["peach_seller"].id) == (0, 0, 0)
    assert release_after_hold() == 0  # a refunded line has nothing to release
    assert_books_balance()


def test_unbalanced_postings_are_refused_in_code(db):
    with pytest.raises(UnbalancedPosting):
        post("test", "test:1", [Leg(account("platform"), 100), Leg(account("suspense"), -99)])
    with pytest.raises(UnbalancedPosting):
        post("test", "test:2", [Leg(account("platform"), 100)])


def _write_unbalanced_posting() -> None:
    posting = LedgerPosting(kind="test", event_key="test:raw")
    _db.session.add(posting)
    _db.session.flush()
    _db.session.add(LedgerEntry(posting_id=posting.id, account_id=account("platform").id, amount_fen=5))
    _db.session.add(LedgerEntry(posting_id=posting.id, account_id=account("suspense").id, amount_fen=-4))
    _db.session.flush()


def test_verify_finds_unbalanced_postings_and_negative_balances(app, db):
    _write_unbalanced_posting()
    problems = verify_ledger()
    assert any("unbalanced by 1 fen" in p for p in problems)
    assert any("suspense/main is negative" in p for p in problems)


def test_ledger_verify_command(app, client, ledger_shop):
    paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    runner = app.test_cli_runner()
    good = runner.invoke(args=["ledger", "verify"])
    assert good.exit_code == 0, good.output
    _write_unbalanced_posting()
    bad = runner.invoke(args=["ledger", "verify"])
    assert bad.exit_code == 1 and "PROBLEM posting" in bad.output


def test_the_database_refuses_changes_to_ledger_rows(client, ledger_shop):
    paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    entry_id = _db.session.scalar(sa.select(LedgerEntry.id).limit(1))
    with pytest.raises(DBAPIError, match="append-only"), _db.session.begin_nested():
        _db.session.execute(sa.update(LedgerEntry).where(LedgerEntry.id == entry_id).values(amount_fen=1))
    with pytest.raises(DBAPIError, match="append-only"), _db.session.begin_nested():
        _db.session.execute(sa.delete(LedgerPosting))


def test_postgresql_checks_each_posting_balances_at_commit(db):
    if _db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the deferred balance trigger exists on PostgreSQL only")
    _write_unbalanced_posting()
    with pytest.raises(DBAPIError, match="unbalanced"):
        _db.session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_order_totals_match_line_credits(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 2), (ledger_shop["garlic"], 1)])
    total = _db.session.get(Order, order["id"]).total_fen
    party = _db.session.scalar(
        sa.select(sa.func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.order_line_id.is_not(None))
    )
    assert party == total


def test_one_refund_of_lines_from_two_stations_reverses_each_split(client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1), (ledger_shop["garlic"], 2)])
    refund = refund_lines(client, ledger_shop, order["id"], [line["id"] for line in order["lines"]])
    assert refund.amount_fen == order["total_fen"]
    for party in ("peach_seller", "garlic_seller"):
        assert balances("seller", ledger_shop[party].id) == (0, 0, 0)
    for station in ("peach_station", "garlic_station"):
        assert balances("station", ledger_shop[station].id) == (0, 0, 0)
        assert balances("centre", ledger_shop[station].centre_id) == (0, 0, 0)
    assert_books_balance()


def test_release_command(app, client, ledger_shop):
    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    ship_and_confirm(client, ledger_shop, order["id"])
    runner = app.test_cli_runner()
    assert runner.invoke(args=["settlements", "release"]).output == "lines released: 0\n"
    later = (utcnow() + timedelta(days=8)).strftime("%Y-%m-%d %H:%M:%S")
    assert runner.invoke(args=["settlements", "release", "--now", later]).output == "lines released: 1\n"
    assert runner.invoke(args=["settlements", "release", "--now", later]).output == "lines released: 0\n"
    assert balances("seller", ledger_shop["peach_seller"].id) == (0, 6256, 0)


def test_ledger_owner_numbers_out_of_range_are_clean_errors(client, db):
    admin = factories.auth_header(factories.user(("platform_admin", None)))
    assert client.get("/api/v1/ledger/balances?owner=seller:²", headers=admin).status_code == 422
    assert client.get(f"/api/v1/ledger/balances?owner=seller:{10**20}", headers=admin).status_code == 422
