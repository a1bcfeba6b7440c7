"""How an order line's money divides between seller, station and county centre.

Exact integer arithmetic in fen. On payment the centre takes
floor(line × commission_bps / 10000), the station floor(line × service_fee_bps /
10000) and the seller the remainder, so rounding always favours the villager.
Refunds reverse the split proportionally, again rounding in the seller's
favour, never reversing more than a party was credited, and a line refunded in
full always ends at exactly zero for everyone, however many partial refunds
it took.
"""

from dataclasses import dataclass

import sqlalchemy as sa

BPS = 10_000


@dataclass(frozen=True)
class Split:
    seller_fen: int
    station_fen: int
    centre_fen: int

    @property
    def total_fen(self) -> int:
        return self.seller_fen + self.station_fen + self.centre_fen

    def __sub__(self, other: "Split") -> "Split":
        return Split(
            self.seller_fen - other.seller_fen,
            self.station_fen - other.station_fen,
            self.centre_fen - other.centre_fen,
        )

    def __add__(self, other: "Split") -> "Split":
        return Split(
            self.seller_fen + other.seller_fen,
            self.station_fen + other.station_fen,
            self.centre_fen + other.centre_fen,
        )


NOTHING = Split(0, 0, 0)


def split_line(amount_fen: int, commission_bps: int, service_fee_bps: int) -> Split:
    """The credit of each party when a line of ``amount_fen`` is paid."""
    if amount_fen < 0:
        raise ValueError("amount must not be negative")
    if not (0 <= commission_bps <= BPS and 0 <= service_fee_bps <= BPS and commission_bps + service_fee_bps <= BPS):
        raise ValueError("rates must be 0–10000 bps and together at most 10000")
    centre = amount_fen * commission_bps // BPS
    station = amount_fen * service_fee_bps // BPS
    return Split(seller_fen=amount_fen - centre - station, station_fen=station, centre_fen=centre)


def line_split_columns(amount_fen, commission_bps, service_fee_bps) -> tuple:
    """``split_line`` as SQL expressions over columns (seller, station, centre), for set-based posting.

    The same rule: centre and station rounded down (integer division of non-negative integers, in
    64 bits), the seller the remainder. The rates are checked by the order lines' constraints.
    """
    amount = sa.cast(amount_fen, sa.BigInteger)
    centre = amount * commission_bps // BPS
    station = amount * service_fee_bps // BPS
    return amount - centre - station, station, centre


def split_refund(credited: Split, reversed_so_far: Split, refund_fen: int) -> Split:
    """What to take back from each party for a refund of ``refund_fen``.

    ``credited`` is the line's original split and ``reversed_so_far`` the sum of
    earlier reversals. The result is never negative, never takes a party below
    zero, sums to ``refund_fen``, and the refund that completes the line takes
    exactly what is left.
    """
    remaining = credited - reversed_so_far
    if refund_fen < 0 or refund_fen > remaining.total_fen:
        raise ValueError(f"refund of {refund_fen} fen exceeds the {remaining.total_fen} fen left on the line")
    if refund_fen == remaining.total_fen:
        return remaining
    total = credited.total_fen
    seller = min(credited.seller_fen * refund_fen // total, remaining.seller_fen)
    station = min(credited.station_fen * refund_fen // total, remaining.station_fen)
    centre = refund_fen - seller - station
    if centre > remaining.centre_fen:  # push the excess back onto station, then seller
        excess = centre - remaining.centre_fen
        centre = remaining.centre_fen
        extra_station = min(excess, remaining.station_fen - station)
        station += extra_station
        seller += excess - extra_station
    return Split(seller_fen=seller, station_fen=station, centre_fen=centre)
