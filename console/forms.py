"""Reading HTML forms with the API's own marshmallow schemas, and showing their errors.

A form's field names are the schema's keys; nested keys are written with dots
(``manager.username``, ``skus.0.price_fen``). Form values are strings, so the
few typed fields are converted first: integers, check boxes, and money typed
in yuan (``12.50`` → 1250 fen). Empty inputs count as not given. A failure —
the schema's or a service's ``ValidationFailed`` — carries ``details`` mapping
the same dotted names to messages, which the form macros show next to the
fields (see ``form_page``).
"""

import fnmatch
import functools
import inspect
import re
from decimal import Decimal, InvalidOperation

from flask import g, make_response, request
from marshmallow import Schema, ValidationError

from console.feedback import refuse
from core.errors import AppError, ValidationFailed
from core.extensions import db

_INT = re.compile(r"^-?\d{1,12}$")
_YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
# Field errors the console handles on the form's own page; anything else is an error page.
_FORM_STATUSES = (409, 413, 422, 429, 502)


def _matches(name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _unflatten(flat: dict) -> dict:
    """``{"a.b": 1, "skus.0.name": "x"}`` → ``{"a": {"b": 1}, "skus": [{"name": "x"}]}``."""
    tree: dict = {}
    clashes: list[str] = []
    for key, value in flat.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):  # "manager" given as a value and as a group ("manager.username")
                break
        else:
            if not isinstance(node.get(parts[-1], value), dict):
                node[parts[-1]] = value
                continue
        clashes.append(key)
    if clashes:
        raise ValidationFailed(details={key: ["字段名与另一字段冲突"] for key in clashes})

    def lists(node):
        if not isinstance(node, dict):
            return node
        converted = {key: lists(value) for key, value in node.items()}
        if converted and all(key.isdigit() for key in converted):
            return [converted[key] for key in sorted(converted, key=int)]
        return converted

    return lists(tree)


def flatten_errors(details, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's (or a service's) nested messages as dotted field name → messages."""
    if isinstance(details, dict):
        out: dict[str, list[str]] = {}
        for key, value in details.items():
            out.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(details, list | tuple) and all(isinstance(item, str) for item in details):
        return {prefix or "_form": list(details)}
    return {prefix or "_form": [str(details)]}


def load_form(
    schema: Schema,
    form=None,
    *,
    ints=(),
    booleans=(),
    yuan=(),
) -> dict:
    """The form's values loaded by ``schema``, or ValidationFailed with dotted field names."""
    form = request.form if form is None else form
    flat: dict = {}
    problems: dict[str, list[str]] = {}
    for name in form:
        if name == "csrf_token" or _matches(name, booleans):
            continue
        value = form.get(name, "").strip()
        if value == "":
            continue
        if _matches(name, ints) and _INT.match(value):
            value = int(value)
        elif _matches(name, yuan):
            if not _YUAN.match(value):
                problems[name] = ["金额格式不正确，应为元，最多两位小数（如 12.50）"]
                continue
            try:
                value = int(Decimal(value) * 100)
            except InvalidOperation:
                problems[name] = ["金额格式不正确"]
                continue
        flat[name] = value
    for name in booleans:
        if "*" not in name:
            flat[name] = form.get(name) in ("on", "true", "1", "y")
    try:
        loaded = schema.load(_unflatten(flat))
    except ValidationError as exc:
        for name, messages in flatten_errors(exc.messages).items():
            problems.setdefault(name, messages)  # a conversion's own message says more
        loaded = None
    if problems:
        raise ValidationFailed(details=problems)
    return loaded


def form_page(page_view):
    """A POST view whose refusals are shown on ``page_view``'s page, next to the fields.

    On a validation failure, a state conflict or an unreachable gateway, the
    transaction is rolled back, the message flashed, and ``page_view`` (the GET
    view of the form's page, called with the URL arguments it takes) rendered with
    the submitted values and field errors, under the error's status.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except AppError as error:
                if error.status not in _FORM_STATUSES:
                    raise
                db.session.rollback()
                g.form_errors = flatten_errors(error.details) if error.details else {}
                g.form_values = request.form
                g.form_action = request.path
                refuse(error.message)
                accepted = inspect.signature(page_view).parameters  # follows functools.wraps to the view
                page_args = {name: value for name, value in kwargs.items() if name in accepted}
                response = make_response(page_view(**page_args))
                response.status_code = error.status
                return response

        return wrapper

    return decorator
