"""Exact conversions between integer fen and the yuan strings some gateways speak."""

import re

_YUAN = re.compile(r"(?P<sign>-?)(?P<whole>\d+)(?:\.(?P<cents>\d{1,2}))?")


def fen_to_yuan(fen: int) -> str:
    """1 → "0.01", 1230 → "12.30"; integer arithmetic only."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be an int, not {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def yuan_to_fen(text: str, *, allow_negative: bool = False) -> int:
    """ "12.30" → 1230; rejects floats, exponents, blanks and more than two decimals."""
    if not isinstance(text, str):
        raise TypeError(f"yuan must be a str, not {type(text).__name__}")
    match = _YUAN.fullmatch(text)
    if match is None or (match["sign"] and not allow_negative):
        raise ValueError(f"not a yuan amount with at most two decimals: {text!r}")
    fen = int(match["whole"]) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    return -fen if match["sign"] else fen
