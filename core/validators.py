"""Validators for Chinese mobile numbers and resident ID numbers (GB 11643-1999)."""

import re
from datetime import date

from marshmallow import ValidationError

_MOBILE = re.compile(r"1[3-9]\d{9}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalise_phone(value: str) -> str:
    """Strip spaces, dashes and a +86 / 86 prefix."""
    digits = re.sub(r"[\s-]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def is_mobile(value: str) -> bool:
    return bool(_MOBILE.fullmatch(value or ""))


def id_card_check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_id_card(value: str) -> bool:
    """An 18-character resident ID: digits, a real birth date, the right check digit."""
    value = (value or "").upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    return id_card_check_digit(value[:17]) == value[17]


def validate_mobile(value: str) -> None:
    if not is_mobile(normalise_phone(value)):
        raise ValidationError("手机号格式不正确，应为11位中国大陆手机号")


def validate_id_card(value: str) -> None:
    if not is_id_card(value):
        raise ValidationError("身份证号码无效（长度、出生日期或校验位不正确）")
