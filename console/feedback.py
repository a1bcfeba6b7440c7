"""Flash messages: a key (its Chinese text is in templates/_macros/messages.html) or a service's own message."""

from flask import flash


def notify(key: str, category: str = "success", **params) -> None:
    """Tell the next page that ``key`` happened (``params`` fill in its text)."""
    flash({"key": key, **params}, category)


def refuse(message: str) -> None:
    """Show a service's refusal (already in Chinese) on the next page."""
    flash({"text": message}, "danger")
