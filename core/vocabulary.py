"""Closed sets of values that people read: each member carries its one Chinese label.

``PAID = "paid", "待发货"`` defines the code ``"paid"`` (what the database, the
API and every comparison use) and the label every reader sees: console pages,
exports, documents and the API docs all take it from here.
"""

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A StrEnum whose members are ``CODE = "code", "标签"``; the member is the plain code string."""

    label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def label_of(vocabulary: type[LabelledEnum], value: str | None, default: str = "—") -> str:
    """The label of ``value`` in ``vocabulary``; an unknown value shows as itself, an empty one as ``default``."""
    if value is None or value == "":
        return default
    try:
        return vocabulary(value).label
    except ValueError:
        return str(value)
