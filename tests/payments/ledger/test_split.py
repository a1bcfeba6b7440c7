"""The split of a line between seller, station and centre, and its reversal on refunds."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.ledger.split import NOTHING, Split, split_line, split_refund


def test_commission_and_fee_are_floored_and_the_seller_gets_the_rest():
    assert split_line(9999, 300, 500) == Split(seller_fen=9201, station_fen=499, centre_fen=299)
    assert split_line(1, 300, 500) == Split(1, 0, 0)
    assert split_line(0, 300, 500) == NOTHING


@pytest.mark.parametrize(("commission", "fee"), [(-1, 0), (0, 10001), (6000, 5000)])
def test_impossible_rates_are_refused(commission, fee):
    with pytest.raises(ValueError):
        split_line(100, commission, fee)


def test_refund_more_than_left_is_refused():
    credited = split_line(100, 300, 500)
    with pytest.raises(ValueError):
        split_refund(credited, NOTHING, 101)


def test_three_thirds_end_at_zero_not_minus_one():
    credited = split_line(100, 3333, 3333)
    reversed_so_far = NOTHING
    for part in (33, 33, 34):
        reversed_so_far = reversed_so_far + split_refund(credited, reversed_so_far, part)
    assert reversed_so_far == credited


amounts = st.integers(min_value=1, max_value=10_000_000)
rates = st.tuples(st.integers(0, 5000), st.integers(0, 5000))


@given(amount=amounts, rates=rates, cuts=st.lists(st.integers(1, 10_000_000), max_size=8))
def test_any_sequence_of_partial_refunds_keeps_every_invariant(amount, rates, cuts):
    credited = split_line(amount, *rates)
    assert credited.total_fen == amount
    assert min(credited.seller_fen, credited.station_fen, credited.centre_fen) >= 0
    reversed_so_far = NOTHING
    refunded = 0
    for cut in cuts:
        refund = min(cut, amount - refunded)
        if refund == 0:
            break
        step = split_refund(credited, reversed_so_far, refund)
        assert step.total_fen == refund
        assert min(step.seller_fen, step.station_fen, step.centre_fen) >= 0
        reversed_so_far = reversed_so_far + step
        refunded += refund
        left = credited - reversed_so_far
        assert min(left.seller_fen, left.station_fen, left.centre_fen) >= 0
        assert left.total_fen == amount - refunded
    final = split_refund(credited, reversed_so_far, amount - refunded)
    assert reversed_so_far + final == credited


def test_the_database_splits_a_line_exactly_as_split_line(db):
    """Payments are split by the database (``line_split_columns``): the same fen as ``split_line``."""
    import random

    import sqlalchemy as sa

    from core.extensions import db as _db
    from payments.ledger.split import line_split_columns

    pick = random.Random(27)
    cases = [(9999, 300, 500), (1, 300, 500), (99 * 999_999, 5000, 5000), (10_000_000, 10_000, 0)]
    cases += [(pick.randint(1, 99 * 100_000), pick.randint(0, 5000), pick.randint(0, 5000)) for _ in range(200)]
    columns = ("amount_fen", "commission_bps", "service_fee_bps")
    values = sa.union_all(
        *(
            sa.select(*(sa.literal(value, sa.Integer).label(name) for value, name in zip(case, columns, strict=True)))
            for case in cases
        )
    ).subquery()
    rows = _db.session.execute(sa.select(*values.c, *line_split_columns(*values.c))).all()
    assert len(rows) == len(cases)
    for amount, commission, fee, seller, station, centre in rows:
        assert Split(seller, station, centre) == split_line(amount, commission, fee), (amount, commission, fee)
