"""Property-based: random sequences of orders, payments, refunds, completions, releases and payouts.

After every step the books must hold: each posting sums to zero, no party
balance is negative, for every paid line paid − refunded equals what seller,
station and centre hold for it net of reversals, payout clearing equals the
unfinished payouts, and a payout never exceeds the available balance it took.
"""

from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import utcnow
from core.extensions import db as _db
from core.models import User
from payments.ledger import payouts as payouts_module
from payments.ledger.models import LineSettlement, Payout
from payments.ledger.payouts import run_settlement
from payments.ledger.postings import post_refund
from payments.ledger.queries import owner_balances
from payments.ledger.tasks import release_all
from payments.ledger.verify import verify_ledger
from payments.models import GatewayRefund, Payment
from payments.providers import TransferResult
from shop.models import Sku
from shop.orders.models import Order, OrderLine
from tests.ledger_helpers import paid_order, refund_lines, ship_and_confirm

COUNTIES = ("430225", "430224")

placing = st.tuples(
    st.just("order"), st.integers(0, 3), st.integers(0, 3), st.sampled_from(["wechat_jsapi", "alipay_mini"])
)
steps = st.lists(
    st.one_of(
        placing,
        st.tuples(st.just("complete"), st.integers(0, 99)),
        st.tuples(st.just("complete"), st.integers(0, 99)),
        st.tuples(st.just("partial_refund"), st.integers(0, 99), st.integers(1, 20_000)),
        st.tuples(st.just("after_sales"), st.integers(0, 99)),
        st.tuples(st.just("release"), st.sampled_from([0, 3, 8, 30])),
        st.tuples(st.just("payout"), st.booleans()),
    ),
    min_size=3,
    max_size=16,
)


class FakeAlipay:
    """Transfers succeed or fail as the step says; nothing is ever half-done."""

    succeed = True

    def transfer(self, out_biz_no, account, name, amount_fen, remark):
        if self.succeed:
            return TransferResult(out_biz_no, "success", order_id=f"T{out_biz_no}")
        return TransferResult(out_biz_no, "failed", reason="PAYEE_NOT_EXIST: 收款账号不存在")

    def query_transfer(self, out_biz_no):
        return TransferResult(out_biz_no, "not_found")


def _refundable_lines(order_ids: list[int]) -> list[OrderLine]:
    """Lines still in their hold (never released) with money left on them."""
    lines = _db.session.scalars(
        sa.select(OrderLine)
        .join(LineSettlement, LineSettlement.order_line_id == OrderLine.id)
        .where(
            OrderLine.order_id.in_(order_ids or [0]),
            LineSettlement.released_at.is_(None),
            OrderLine.status.in_(("paid", "shipped", "completed")),
            OrderLine.refunded_fen < OrderLine.amount_fen,
        )
        .order_by(OrderLine.id)
    ).all()
    return list(lines)


def _available_snapshot() -> dict[tuple[str, int], int]:
    from payments.ledger.models import LedgerAccount

    owners = _db.session.execute(
        sa.select(LedgerAccount.owner_type, LedgerAccount.owner_id)
        .where(LedgerAccount.bucket == "available")
        .distinct()
    ).all()
    return {(t, i): owner_balances(t, i)["available_fen"] for t, i in owners}


def _refund_part_of_a_line(orders: list[int], step) -> None:
    """A gateway refund of part of one refundable line, booked as the refund path books it."""
    lines = _refundable_lines(orders)
    if not lines:
        return
    line = lines[step[1] % len(lines)]
    amount = 1 + step[2] % (line.amount_fen - line.refunded_fen)
    payment = _db.session.scalar(sa.select(Payment).where(Payment.order_id == line.order_id, Payment.status == "paid"))
    refund = GatewayRefund(
        payment_id=payment.id,
        out_refund_no=f"RFPROP{line.id}x{line.refunded_fen}",
        amount_fen=amount,
        reason="test",
        status="success",
    )
    _db.session.add(refund)
    _db.session.flush()
    post_refund(refund, [(line.id, amount)])
    line.refunded_fen += amount
    _db.session.commit()


def _pay_out_every_county(admin, fake, succeed: bool) -> None:
    """A settlement run in each county: no payout above what was available, each with the transfer's outcome."""
    fake.succeed = succeed
    before = _available_snapshot()
    first_new = (_db.session.scalar(sa.select(sa.func.max(Payout.id))) or 0) + 1
    for county in COUNTIES:
        run_settlement(admin, county)
        _db.session.commit()  # the transfers run after the commit
    for payout in _db.session.scalars(sa.select(Payout).where(Payout.id >= first_new)):
        assert payout.amount_fen == before[(payout.party_type, payout.party_id)]  # never more than available
        assert payout.status == ("success" if succeed else "failed")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=steps)
def test_random_histories_keep_the_books(client, ledger_shop, monkeypatch, script):
    shop = ledger_shop
    for sku in (shop["peach_5"], shop["peach_10"], shop["garlic"]):
        _db.session.get(Sku, sku.id).stock = 1_000_000
    shop["buyer"].alipay_user_id = "2088000000000077"
    for record in (shop["peach_station"], shop["garlic_station"]):
        record.payout_alipay_account = "station@example.com"
        record.centre.payout_alipay_account = "centre@example.com"
    _db.session.commit()
    fake = FakeAlipay()
    monkeypatch.setattr(payouts_module, "get_alipay", lambda: fake)
    admin = _db.session.scalar(sa.select(User).where(User.grants.any(role="platform_admin")))
    orders: list[int] = [paid_order(client, shop, [(shop["peach_5"], 1), (shop["garlic"], 1)])["id"]]
    for step in script:
        kind = step[0]
        if kind == "order":
            _, peaches, garlic, channel = step
            items = [(sku, qty) for sku, qty in ((shop["peach_5"], peaches), (shop["garlic"], garlic)) if qty]
            if items:
                orders.append(paid_order(client, shop, items, channel)["id"])
        elif kind == "complete":
            ready = [oid for oid in orders if all(line.status == "paid" for line in _db.session.get(Order, oid).lines)]
            if ready:
                ship_and_confirm(client, shop, ready[step[1] % len(ready)])
        elif kind == "partial_refund":
            _refund_part_of_a_line(orders, step)
        elif kind == "after_sales":
            lines = _refundable_lines(orders)
            if lines:
                line = lines[step[1] % len(lines)]
                refund_lines(client, shop, line.order_id, [line.id], decider="platform")
        elif kind == "release":
            release_all(utcnow() + timedelta(days=step[1]))
        elif kind == "payout":
            _pay_out_every_county(admin, fake, step[1])
        assert verify_ledger() == [], step
        for owner in _available_snapshot():
            balances = owner_balances(*owner)
            assert balances["pending_fen"] >= 0 and balances["available_fen"] >= 0
