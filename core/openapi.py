"""The OpenAPI document's error responses, added to every operation in one place.

API.md fixes one error body for every failure, and the statuses that carry it.
Rather than each view listing them, ``ErrorResponsesPlugin`` documents them on
every operation from what the operation is:

- with a request body: 400 (malformed) and 413 (``payload_too_large``, the
  request guard answers it before any view);
- protected (``@authenticated``, i.e. ``security`` set): 401 and 403;
- with a path parameter, or protected: 404 (an unknown id in the path, the
  body or the query, or one outside the caller's region: API.md's "403, or
  404 when revealing existence would leak data");
- with arguments (query or body): 422 ``validation_error``;
- protected and changing something (POST/PUT/PATCH/DELETE): 409, a state conflict;
- rate limited (a Flask-Limiter limit on the view): 429.

A view that takes both form fields and files (``location="form"`` and
``"files"``) gets one multipart request body holding both: flask-smorest
documents only one of them as the body and leaves the other as OpenAPI 2
``formData`` parameters, which OpenAPI 3 does not have.

A view that can answer something else (a 502 when a gateway is down, a 429
from a throttle inside its service, a 409 on a read) says so with
``@blp.alt_response(STATUS, response=ERROR_RESPONSES[STATUS])``, or more
briefly ``@may_answer(blp, STATUS, ...)``. No ``default`` response is
documented: an undocumented status is a defect the fuzzer reports
(tests/fuzz).
"""

import http

from apispec import BasePlugin
from marshmallow import Schema, fields

from core.fields import FullMatch

CHANGING_METHODS = ("post", "put", "patch", "delete")


class ErrorDetailSchema(Schema):
    code = fields.String(
        required=True,
        validate=FullMatch(r"[a-z][a-z0-9_]*"),
        metadata={"description": "snake_case error code (API.md)"},
    )
    message = fields.String(required=True, metadata={"description": "zh-CN message for people"})
    details = fields.Dict(required=True, metadata={"description": "422: field → list of messages"})


class ErrorSchema(Schema):
    """The contract's error body: ``{"error": {"code", "message", "details"}}``."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# Component names flask-smorest registers (lazily) for every HTTP status, each with ERROR_SCHEMA.
ERROR_RESPONSES = {status.value: status.name for status in http.HTTPStatus if status >= 400}


def may_answer(blp, *statuses: int):
    """Document error statuses beyond the common ones (see the module docstring) on one view."""

    def decorator(view):
        for status in statuses:
            view = blp.alt_response(status, response=ERROR_RESPONSES[status])(view)
        return view

    return decorator


def common_error_statuses(method: str, operation: dict, *, has_path_parameters: bool, rate_limited: bool) -> set[int]:
    """The error statuses any operation of this shape can answer."""
    statuses = set()
    if operation.get("requestBody"):
        statuses |= {400, 413}
    protected = bool(operation.get("security"))
    if protected:
        statuses |= {401, 403}
    if has_path_parameters or protected:
        statuses.add(404)
    if operation.get("requestBody") or any(p.get("in") == "query" for p in operation.get("parameters", [])):
        statuses.add(422)
    if protected and method in CHANGING_METHODS:
        statuses.add(409)
    if rate_limited:
        statuses.add(429)
    return statuses


def merge_form_fields_into_body(operation: dict, schemas: dict) -> None:
    """Move ``in: formData`` parameters into the operation's multipart request body (``schemas``: components)."""
    form = [p for p in operation.get("parameters", []) if p.get("in") == "formData"]
    if not form:
        return
    operation["parameters"] = [p for p in operation["parameters"] if p.get("in") != "formData"]
    if not operation["parameters"]:
        del operation["parameters"]
    body = operation.setdefault("requestBody", {"required": True, "content": {}})
    content = body["content"]
    media = content.pop("multipart/form-data", None) or content.pop("application/x-www-form-urlencoded", None) or {}
    schema = media.get("schema") or {"type": "object", "properties": {}}
    if "$ref" in schema:  # one object holding both: the file schema forbids properties it does not list
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    merged = {
        **schema,
        "properties": {**schema.get("properties", {}), **{p["name"]: p["schema"] for p in form}},
        "required": [*schema.get("required", []), *(p["name"] for p in form if p.get("required"))],
    }
    content["multipart/form-data"] = {**media, "schema": merged}


class ErrorResponsesPlugin(BasePlugin):
    """Adds the common error responses (module docstring) to every operation of the document."""

    def __init__(self, is_rate_limited=None):
        # ``is_rate_limited(rule)``: whether the view behind a URL rule carries a Flask-Limiter limit.
        self._is_rate_limited = is_rate_limited or (lambda rule: False)

    def init_spec(self, spec):
        super().init_spec(spec)
        self._spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        has_path_parameters = bool(rule.arguments) if rule is not None else "{" in (path or "")
        rate_limited = rule is not None and self._is_rate_limited(rule)
        for method, operation in (operations or {}).items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            merge_form_fields_into_body(operation, self._spec.components.schemas)
            responses = operation.setdefault("responses", {})
            statuses = common_error_statuses(
                method, operation, has_path_parameters=has_path_parameters, rate_limited=rate_limited
            )
            documented = {str(code) for code in responses}  # flask-smorest keys some by int, some by str
            for status in sorted(statuses):
                if str(status) not in documented:
                    responses[str(status)] = ERROR_RESPONSES[status]
