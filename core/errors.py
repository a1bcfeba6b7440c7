"""Domain error hierarchy and the one place that renders the contract's error body."""

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Werkzeug's generic HTTP errors mapped to contract codes and zh-CN messages.
_HTTP_CODES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("invalid_token", "未登录或登录已失效"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("invalid_state", "当前状态不允许此操作"),
    413: ("payload_too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "提交的数据未通过校验"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
}


class AppError(Exception):
    """A domain error that becomes an HTTP error response."""

    status = 400
    code = "bad_request"
    message = "请求格式不正确"

    def __init__(self, message: str | None = None, details: dict | None = None, code: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}
        if code:
            self.code = code


class Unauthorized(AppError):
    status, code, message = 401, "invalid_token", "未登录或登录已失效"


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "没有权限执行此操作"


class NotFound(AppError):
    status, code, message = 404, "not_found", "资源不存在"


class Conflict(AppError):
    status, code, message = 409, "invalid_state", "当前状态不允许此操作"


class ValidationFailed(AppError):
    """422 with ``details`` mapping field name → list of messages."""

    status, code, message = 422, "validation_error", "提交的数据未通过校验"

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationFailed":
        return cls(details={name: [message]})


class UpstreamUnavailable(AppError):
    """A gateway or WeChat could not be reached, or answered something unusable; safe to retry later."""

    status, code, message = 502, "upstream_unavailable", "上游服务暂时不可用，请稍后再试"


class RateLimited(AppError):
    status, code, message = 429, "rate_limited", "请求过于频繁，请稍后再试"


def body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _validation_details(error: HTTPException) -> dict:
    """Flatten webargs' {"json": {...}, "query": {...}} into field → messages."""
    messages = (getattr(error, "data", None) or {}).get("messages") or {}
    details: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            details.update(location_messages)
    return details


def error_response(error: Exception):
    """Render any exception as the contract's JSON error body."""
    if isinstance(error, AppError):
        response = jsonify(body(error.code, error.message, error.details))
        response.status_code = error.status
        return response
    if isinstance(error, HTTPException):
        status = error.code or 500
        code, message = _HTTP_CODES.get(status, ("http_error", error.name))
        details = _validation_details(error) if status == 422 else {}
        response = jsonify(body(code, message, details))
        response.status_code = status
        for name in ("Retry-After", "Allow"):
            value = error.get_response().headers.get(name) if error.response is None else None
            if value:
                response.headers[name] = value
        return response
    log.exception("unhandled error")
    response = jsonify(body(*_HTTP_CODES[500]))
    response.status_code = 500
    return response


def out_of_range(error: Exception):
    """A number too large for the database (an id past 2^31, say): nothing can match it."""
    from flask import request

    if request.method == "GET":
        return error_response(NotFound())
    return error_response(ValidationFailed("数值超出允许范围"))


def register_error_handlers(app) -> None:
    import sqlalchemy.exc

    app.register_error_handler(OverflowError, out_of_range)
    app.register_error_handler(sqlalchemy.exc.DataError, out_of_range)
    app.register_error_handler(AppError, error_response)
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(Exception, error_response)
