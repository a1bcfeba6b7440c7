"""Exact fen ⇄ yuan conversion at the Alipay boundary."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.money import fen_to_yuan, yuan_to_fen


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [
        (1, "0.01"),
        (10, "0.10"),
        (1230, "12.30"),
        (0, "0.00"),
        (100_000_000_00, "100000000.00"),
        (-5, "-0.05"),
    ],
)
def test_fen_to_yuan(fen, yuan):
    assert fen_to_yuan(fen) == yuan


@pytest.mark.parametrize(("yuan", "fen"), [("12.30", 1230), ("12.3", 1230), ("12", 1200), ("0.01", 1), ("0", 0)])
def test_yuan_to_fen(yuan, fen):
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize("bad", ["12.345", "1e3", "", " 1", "1.", ".5", "abc", "-1", "1,00", "NaN", "0.1.2"])
def test_yuan_to_fen_rejects_anything_but_plain_amounts(bad):
    with pytest.raises(ValueError):
        yuan_to_fen(bad)


def test_negative_amounts_only_when_asked():
    assert yuan_to_fen("-0.30", allow_negative=True) == -30


@pytest.mark.parametrize("bad", [1.5, True, "1", None])
def test_fen_to_yuan_takes_ints_only(bad):
    with pytest.raises(TypeError):
        fen_to_yuan(bad)


def test_floats_are_refused_as_yuan():
    with pytest.raises(TypeError):
        yuan_to_fen(12.3)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_round_trip(fen):
    assert yuan_to_fen(fen_to_yuan(fen), allow_negative=True) == fen
