"""统一社会信用代码 (unified social credit code) and its GB 32100-2015 check character.

18 characters: registration authority (1), organisation type (1), administrative
division (6), organisation code (9, itself with a GB 11714 check character) and
the check character. The alphabet is the digits and 21 capital letters without
I, O, Z, S, V; character ``i`` (0-based) weighs ``3**i mod 31``; the check
character is the one whose value is ``(31 - Σ value × weight mod 31) mod 31``.
"""

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
_SHAPE = re.compile(rf"[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}")


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    return (value or "").strip().upper()


def is_credit_code(value: str) -> bool:
    """18 characters of the standard's alphabet, a 6-digit division and the right check character."""
    code = normalise_credit_code(value)
    return bool(_SHAPE.fullmatch(code)) and check_character(code[:17]) == code[17]
