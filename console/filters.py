"""Template filters: one for money, one for dates and times, and the API's masking."""

import json
from datetime import date, datetime

from flask import g

from core.clock import BEIJING
from core.pii import mask_account, mask_id_card, mask_middle, mask_phone
from shop.storage import media_url


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


def _form_errors(action: str) -> dict:
    return g.get("form_errors", {}) if g.get("form_action") == action else {}


def _form_values(action: str):
    return g.get("form_values", {}) if g.get("form_action") == action else {}


def register_filters(app) -> None:
    app.add_template_filter(money)
    app.add_template_filter(beijing)
    app.add_template_filter(as_json)
    app.add_template_filter(media_url, "media")
    app.add_template_filter(mask_phone)
    app.add_template_filter(mask_id_card)
    app.add_template_filter(mask_account)
    app.add_template_filter(mask_middle)
    app.add_template_global(_form_errors, "form_errors")
    app.add_template_global(_form_values, "form_values")
