"""What every request must pass before a view sees it, and what every response carries.

- Body size: small for gateway notifications (they are a few KB, and the
  endpoints are public), ``JSON_MAX_BYTES`` for JSON, ``UPLOAD_MAX_BYTES`` for
  multipart uploads; 413 ``payload_too_large`` before anything is read.
- JSON: nested at most ``MAX_JSON_DEPTH`` deep (deeper bodies are refused as
  malformed instead of exhausting the parser's recursion).
- Text: no lone surrogates (they cannot be encrypted or stored as UTF-8), NUL,
  or bidirectional-override characters (they make a name read differently from
  what it is) in any JSON string, query or form value; 422 naming the field.
- Responses: ``nosniff``, no framing, no referrer; ``private, no-store`` on
  every answer to a signed-in request unless the view chose its own caching,
  so personal data never sits in a shared or browser cache.
"""

import json
import re

from flask import Flask, request

from core.errors import AppError, ValidationFailed

NOTIFY_PREFIX = "/api/v1/payments/notify/"
MAX_JSON_DEPTH = 32
# Lone surrogates, NUL, and the bidi embedding/override/isolate controls.
_FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_MESSAGE = "包含不允许的字符（控制字符、不成对的代理项或文字方向控制符）"


class PayloadTooLarge(AppError):
    status, code, message = 413, "payload_too_large", "请求内容过大"


class MalformedBody(AppError):
    status, code, message = 400, "bad_request", "请求体不是有效的 JSON"


def body_limit(app: Flask) -> int:
    """The largest body this request may send."""
    if request.path.startswith(NOTIFY_PREFIX):
        return app.config["NOTIFY_MAX_BYTES"]
    if request.mimetype == "multipart/form-data":
        return app.config["UPLOAD_MAX_BYTES"]
    return app.config["JSON_MAX_BYTES"]


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True when brackets outside strings nest deeper than ``limit`` (a linear scan, no parsing)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def forbidden_text_fields(value, path: str = "") -> list[str]:
    """Paths (``address.detail``, ``items.0.name``) of strings holding forbidden characters."""
    found: list[str] = []
    if isinstance(value, str):
        if _FORBIDDEN_TEXT.search(value):
            found.append(path or "_body")
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _FORBIDDEN_TEXT.search(key):
                found.append(key_path)
            found.extend(forbidden_text_fields(item, key_path))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(forbidden_text_fields(item, f"{path}.{index}" if path else str(index)))
    return found


def _check_json_body(raw: bytes) -> list[str]:
    if json_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise MalformedBody(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return []  # malformed JSON: the argument parser answers it with its own 400
    return forbidden_text_fields(payload)


def guard_request() -> None:
    """Refuse oversized, over-nested or poisoned input before any view parses it."""
    from flask import current_app

    limit = body_limit(current_app)
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(details={"max_bytes": limit})
    request.max_content_length = limit
    if request.content_length is None and request.environ.get("wsgi.input_terminated"):
        # Chunked (no Content-Length): read it all here, one byte past the limit to tell "too large" from
        # "exactly the limit"; the view and the form parser then use the cached bytes.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise PayloadTooLarge(details={"max_bytes": limit})
    bad: list[str] = []
    if request.query_string and request.args:  # most reads carry none: no parse
        bad += [name for name, value in request.args.items(multi=True) if _FORBIDDEN_TEXT.search(name + value)]
    if request.path.startswith(NOTIFY_PREFIX):
        return  # signed gateway messages are judged by their signature, and stored as received
    if request.is_json:  # every JSON body, sized or chunked
        bad += _check_json_body(request.get_data(cache=True))
    elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        bad += [name for name, value in request.form.items(multi=True) if _FORBIDDEN_TEXT.search(name + value)]
    if bad:
        raise ValidationFailed(details={field: [_FORBIDDEN_MESSAGE] for field in bad})


def secure_headers(response):
    """Headers every response carries; no caching of answers to signed-in requests."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    # The raw headers' presence, not their parse: a malformed one also keeps the answer private.
    signed_in = "HTTP_AUTHORIZATION" in request.environ or "HTTP_COOKIE" in request.environ
    if "Cache-Control" not in headers and signed_in:
        headers["Cache-Control"] = "private, no-store"
    return response


def register_request_guards(app: Flask) -> None:
    app.before_request(guard_request)
    app.after_request(secure_headers)
