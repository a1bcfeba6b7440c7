"""Log lines: one JSON object each (or plain text in development), with the request id, and no personal data.

Every request gets an id (the caller's ``X-Request-ID`` when it sent a sane
one, else a new one) that is echoed on the response, stamped on every log line
written while the request runs, and handed to the background tasks it enqueues
(``core.tasks``), whose log lines carry it too.

Personal data stays out of logs by construction (log ids, never names, phones,
addresses or openids; SQL parameters are hidden, and so are the result rows that
SQLAlchemy logs at DEBUG, decrypted); ``PersonalDataFilter`` masks
mobile and ID-card numbers that slip into a message anyway.
"""

import contextvars
import logging
import re
import sys
import uuid

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# A caller's id is echoed only when it is short and plain (it ends up in log lines and headers).
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Mobile numbers (11 digits starting 1[3-9]) and resident ID numbers (17 digits + check digit), not inside longer runs.
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
_ID_CARD = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_HANDLER_NAME = "zhuzhou"


def current_request_id() -> str | None:
    """The id of the request (or of the request that enqueued the running task), if any."""
    return _request_id.get()


def bind_request_id(value: str | None) -> contextvars.Token:
    """Make ``value`` the id of what runs next in this context (returns the token to reset it)."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex


def mask_personal_data(text: str) -> str:
    """Mask mobile and ID-card numbers in a piece of text."""
    text = _MOBILE.sub(r"\1****\2", text)
    return _ID_CARD.sub(r"\1********\2", text)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class PersonalDataFilter(logging.Filter):
    """Masks phone and ID-card numbers in the rendered message (a safety net, not the policy)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class ResultRowFilter(logging.Filter):
    """Drops SQLAlchemy's DEBUG result rows: they hold decrypted personal data (parameters are hidden already)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.DEBUG
            and record.name.startswith("sqlalchemy.engine")
            and isinstance(record.msg, str)
            and record.msg.startswith("Row ")
        )


_QUERY = re.compile(r"\?[^\s\"']*")


class OutgoingQueryFilter(logging.Filter):
    """Drops query strings from urllib3's DEBUG lines of outgoing requests (WeChat's carry the app secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("urllib3") and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_QUERY.sub("", arg) if isinstance(arg, str) else arg for arg in args)
        return True


class QueryStringFilter(logging.Filter):
    """Drops query strings from werkzeug's dev-server request lines (they can carry personal data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], str):
            first = record.args[0]
            if "?" in first:
                method, _, rest = first.partition(" ")
                path, _, tail = rest.partition("?")
                protocol = tail.rsplit(" ", 1)[-1] if " " in tail else ""
                record.args = (f"{method} {path} {protocol}".strip(), *record.args[1:])
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def text_formatter() -> logging.Formatter:
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """One stderr handler on the root logger (JSON or text); safe to call again."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(ResultRowFilter())
    handler.addFilter(OutgoingQueryFilter())
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else text_formatter())
    root.addHandler(handler)
    root.setLevel(level)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, QueryStringFilter) for f in werkzeug.filters):
        werkzeug.addFilter(QueryStringFilter())


def register_request_id(app: Flask) -> None:
    """Give every request an id, bind it for the request's log lines, and echo it on the response."""

    @app.before_request
    def bind_id():
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        value = sent if _SANE_ID.fullmatch(sent) else new_request_id()
        g.request_id = value
        g.request_id_token = bind_request_id(value)

    @app.after_request
    def echo_id(response):
        value = g.get("request_id")
        if value:
            response.headers[REQUEST_ID_HEADER] = value
        return response

    @app.teardown_request
    def unbind_id(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                reset_request_id(token)
            except ValueError:  # set in another context (a streamed response); nothing to undo here
                _request_id.set(None)
