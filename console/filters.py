"""Template filters: one for money, one for dates and times, the API's masking, and the enums' labels."""

import json
from datetime import date, datetime

from flask import g

from core.clock import BEIJING
from core.models import Role
from core.pii import mask_account, mask_id_card, mask_middle, mask_phone
from core.vocabulary import label_of
from payments.ledger.models import PartyType, PayoutStatus
from payments.providers import Channel
from reports.models import ReportAction, ReportStatus
from shop.models import ProductStatus, ReviewAction, ReviewDecision
from shop.orders.models import OrderStatus, RefundRequestStatus
from shop.storage import media_url
from villages.models import HouseholdCategory, RegionLevel, StationStatus, WorkerKind

# The vocabularies templates name: ``value|label("order")`` reads the member's label, and
# each enum is a template global so that pages compare with ``ProductStatus.ON_SALE``.
VOCABULARIES = {
    "role": Role,
    "product": ProductStatus,
    "review_action": ReviewAction,
    "order": OrderStatus,
    "refund": RefundRequestStatus,
    "payout": PayoutStatus,
    "party": PartyType,
    "channel": Channel,
    "report": ReportStatus,
    "report_action": ReportAction,
    "station": StationStatus,
    "level": RegionLevel,
    "household": HouseholdCategory,
    "worker_kind": WorkerKind,
}


def money(fen: int | None) -> str:
    """Fen as yuan: 123450 → ¥1,234.50 (negative: -¥1.00)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def beijing(moment: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime shown in Asia/Shanghai (a date as it is)."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return moment.astimezone(BEIJING).strftime(fmt)
    return moment.strftime("%Y-%m-%d")


def as_json(value) -> str:
    """For data-* attributes: JSON (escaped by autoescape when put in an attribute)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def label(value: str | None, kind: str) -> str:
    """The Chinese label of ``value`` in the vocabulary named ``kind`` (an unknown code shows as itself)."""
    return label_of(VOCABULARIES[kind], value)


def _form_errors(action: str) -> dict:
    return g.get("form_errors", {}) if g.get("form_action") == action else {}


def _form_values(action: str):
    return g.get("form_values", {}) if g.get("form_action") == action else {}


def register_filters(app) -> None:
    app.add_template_filter(money)
    app.add_template_filter(beijing)
    app.add_template_filter(as_json)
    app.add_template_filter(label)
    for vocabulary in (*VOCABULARIES.values(), ReviewDecision):
        app.add_template_global(vocabulary, vocabulary.__name__)
    app.add_template_filter(media_url, "media")
    app.add_template_filter(mask_phone)
    app.add_template_filter(mask_id_card)
    app.add_template_filter(mask_account)
    app.add_template_filter(mask_middle)
    app.add_template_global(_form_errors, "form_errors")
    app.add_template_global(_form_values, "form_values")
