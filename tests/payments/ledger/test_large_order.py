"""A 2,000-line welfare order's payment notification: applied exactly, in set-based statements.

WeChat waits 5 s for the answer to a notification; applying one used to cost several statements per
line (the line's status, its trail entry, its settlement, three account lookups, three legs), so a
unit's big order timed out and the retry was answered "duplicate". The time is measured by the bench;
here the split is checked to the fen and the statement count is pinned to not grow with the lines.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from payments.applying import apply_notification
from payments.ledger.models import LedgerAccount, LedgerEntry, LedgerPosting, LineSettlement
from payments.ledger.verify import verify_ledger
from payments.models import Payment, PaymentEvent
from payments.opening import new_out_trade_no
from payments.providers import Notification
from shop.models import Product
from shop.orders.models import Order, OrderEvent, OrderLine
from tests import factories

# Three stations under two centres, rates chosen so that most lines round.
STATIONS = (("430225100201", 500, 300), ("430224100201", 450, 275), ("430225100202", 333, 300))


@pytest.fixture
def catalogue(db):
    """One product (one SKU) per station, each with its own seller."""
    skus = []
    for village, service_fee_bps, commission_bps in STATIONS:
        centre = factories.centre(village[:6], commission_bps=commission_bps)
        station = factories.station(village, service_fee_bps=service_fee_bps, centre_record=centre)
        product = factories.product(station, skus=(("箱", 997, 100_000),))
        skus.append(product.skus[0])
    buyer = factories.user(("buyer", None), wechat_openid="openid-welfare")
    _db.session.commit()
    return {"skus": skus, "buyer": buyer}


def unpaid_order(catalogue, lines: int) -> Order:
    """An unpaid order of ``lines`` lines written directly (checkout caps an order far below this)."""
    buyer, skus = catalogue["buyer"], catalogue["skus"]
    prices = [(skus[index % len(skus)].price_fen + index % 7, 1 + index % 13) for index in range(lines)]
    order = Order(
        buyer_id=buyer.id,
        total_fen=sum(price * quantity for price, quantity in prices),
        expires_at=utcnow() + timedelta(minutes=30),
        address_name="工会 王老师",
        address_phone="13812345678",
        address_region_code="4302",
        address_detail="株洲市天元区某单位",
    )
    _db.session.add(order)
    _db.session.flush()
    rows = []
    for index in range(lines):
        sku = skus[index % len(skus)]
        product, station = sku.product, sku.product.station
        price, quantity = prices[index]
        rows.append(
            {
                "order_id": order.id,
                "sku_id": sku.id,
                "product_id": product.id,
                "seller_id": product.seller_id,
                "station_id": station.id,
                "centre_id": station.centre_id,
                "village_code": station.village_code,
                "category_slug": product.category_slug,
                "product_title": product.title,
                "sku_name": sku.name,
                "unit_price_fen": price,
                "quantity": quantity,
                "amount_fen": price * quantity,
                "commission_bps": station.centre.commission_bps,
                "service_fee_bps": station.service_fee_bps,
                "status": "pending_payment",
                "refunded_fen": 0,
            }
        )
    _db.session.execute(sa.insert(OrderLine.__table__), rows)
    _db.session.commit()
    return order


def pending_payment(order: Order) -> Payment:
    payment = Payment(
        order_id=order.id,
        buyer_id=order.buyer_id,
        channel="wechat_jsapi",
        out_trade_no=new_out_trade_no(order.id),
        amount_fen=order.total_fen,
    )
    _db.session.add(payment)
    _db.session.commit()
    return payment


def notify(payment: Payment) -> bool:
    """The verified success notification the gateway sends, applied as the notify view applies it."""
    note = Notification(
        valid=True,
        out_trade_no=payment.out_trade_no,
        transaction_id=f"42000{payment.id:010d}",
        amount_fen=payment.amount_fen,
        paid=True,
    )
    return apply_notification("wechat", note, {"out_trade_no": payment.out_trade_no, "trade_state": "SUCCESS"})


def test_a_2000_line_order_is_paid_and_split_to_the_fen(catalogue):
    order = unpaid_order(catalogue, 2000)
    payment = pending_payment(order)
    sold_before = dict(_db.session.execute(sa.select(Product.id, Product.sales_count)).tuples().all())

    assert notify(payment) is True
    _db.session.commit()  # on PostgreSQL the deferred trigger checks every posting balances here

    _db.session.expire_all()
    order = _db.session.get(Order, order.id)
    assert order.status == "paid" and order.paid_channel == "wechat_jsapi"
    assert {line.status for line in order.lines} == {"paid"}
    trail = _db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)).all()
    line_events = [event for event in trail if event.line_id is not None]
    assert sorted(event.line_id for event in line_events) == sorted(line.id for line in order.lines)
    assert {(event.from_status, event.to_status, event.reason) for event in line_events} == {
        ("pending_payment", "paid", "支付成功（wechat_jsapi）")
    }
    assert [(event.from_status, event.to_status) for event in trail if event.line_id is None] == [
        ("pending_payment", "paid")
    ]

    # Each line's settlement, worked out here independently: centre and station rounded down.
    settlements = {row.order_line_id: row for row in _db.session.scalars(sa.select(LineSettlement))}
    assert settlements.keys() == {line.id for line in order.lines}
    expected: dict[tuple[str, int], int] = {}
    for line in order.lines:
        centre = line.amount_fen * line.commission_bps // 10_000
        station = line.amount_fen * line.service_fee_bps // 10_000
        seller = line.amount_fen - centre - station
        row = settlements[line.id]
        assert (row.seller_fen, row.station_fen, row.centre_fen) == (seller, station, centre)
        assert row.payment_id == payment.id
        for key, amount in ((("seller", line.seller_id), seller), (("station", line.station_id), station)):
            expected[key] = expected.get(key, 0) + amount
        expected[("centre", line.centre_id)] = expected.get(("centre", line.centre_id), 0) + centre

    posting = _db.session.scalar(sa.select(LedgerPosting).where(LedgerPosting.event_key == f"payment:{payment.id}"))
    legs = _db.session.execute(
        sa.select(LedgerAccount.owner_type, LedgerAccount.owner_id, LedgerAccount.bucket, LedgerEntry.amount_fen)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.posting_id == posting.id)
    ).all()
    assert len(legs) == 3 * 2000 + 1
    assert sum(amount for *_, amount in legs) == 0
    credited: dict[tuple[str, int], int] = {}
    for owner_type, owner_id, bucket, amount in legs:
        if owner_type == "gateway":
            assert (bucket, amount) == ("wechat_jsapi", -order.total_fen)
        else:
            assert bucket == "pending"
            credited[(owner_type, owner_id)] = credited.get((owner_type, owner_id), 0) + amount
    assert credited == expected
    assert sum(credited.values()) == order.total_fen
    assert verify_ledger() == []

    sold = {}
    for line in order.lines:
        sold[line.product_id] = sold.get(line.product_id, 0) + line.quantity
    for product_id, quantity in sold.items():
        assert _db.session.get(Product, product_id).sales_count == sold_before[product_id] + quantity

    # The retry WeChat sends when it did not hear back in time changes nothing.
    assert notify(_db.session.get(Payment, payment.id)) is True
    _db.session.commit()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(LedgerPosting)) == 1
    outcomes = _db.session.scalars(sa.select(PaymentEvent.outcome).order_by(PaymentEvent.id)).all()
    assert outcomes == ["applied", "duplicate"]


def test_applying_a_notification_takes_the_same_statements_for_20_lines_as_for_2000(catalogue, count_queries):
    # A first order opens the parties' accounts, so the two measured below find them all.
    notify(pending_payment(unpaid_order(catalogue, 3)))
    _db.session.commit()
    counts = {}
    for lines in (20, 2000):
        payment = pending_payment(unpaid_order(catalogue, lines))
        _db.session.expire_all()  # as in a fresh request: nothing loaded beforehand
        with count_queries() as statements:
            assert notify(payment) is True
            _db.session.flush()
        counts[lines] = len(statements)
    assert counts[20] == counts[2000], counts
    assert counts[2000] <= 25, counts
