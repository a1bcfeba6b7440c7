"""The console blueprint: sign-in check, CSRF on every form, security headers, HTML error pages."""

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from console.auth import signed_in_staff
from console.menus import menu_for
from console.views import admin, auth, dashboard, orders, reports, review, settlement, station_work, stations
from core.errors import AppError
from core.extensions import db

log = logging.getLogger(__name__)

csrf = CSRFProtect()
console_bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
for area in (auth, dashboard, stations, review, station_work, orders, settlement, reports, admin):
    console_bp.register_blueprint(area.bp)


def content_security_policy() -> str:
    """Scripts, styles and requests only from this app (photos also from MEDIA_BASE_URL); no inline script."""
    media = urlsplit(current_app.config["MEDIA_BASE_URL"])
    media_origin = f" {media.scheme}://{media.netloc}" if media.netloc else ""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{media_origin}",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


@console_bp.get("/<path:unknown>")
def not_found(unknown: str):
    """Any other /console address: the console's own 404 page rather than the API's JSON."""
    return _error_page(404, None)


@console_bp.before_request
def protect_forms():
    """Every state-changing request carries the session's CSRF token (the API's bearer tokens need none)."""
    # ``g`` lives as long as the app context, which a CLI command or a test can stretch over requests.
    for name in ("staff", "session_expired", "form_errors", "form_values", "form_action"):
        g.pop(name, None)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@console_bp.after_request
def security_headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy()
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "private, no-store"  # pages carry personal data, even signed out
    # nosniff, no framing and no referrer come with every response (core.request_guards).
    return response


@console_bp.app_context_processor
def console_context():
    if not request.blueprint or not request.blueprint.startswith("console"):
        return {}
    staff = signed_in_staff()
    return {"staff": staff, "menu": menu_for(staff)}


def _error_page(status: int, message: str | None, kind: str | None = None):
    db.session.rollback()
    return render_template("errors.html", status=status, message=message, kind=kind), status


@console_bp.errorhandler(CSRFError)
def csrf_refused(error):
    log.info("console: CSRF check failed on %s: %s", request.path, error.description)
    return _error_page(400, None, kind="csrf")


@console_bp.errorhandler(RateLimitExceeded)
def rate_limited(error):
    return _error_page(429, None)


@console_bp.errorhandler(AppError)
def app_error(error):
    return _error_page(error.status, error.message)


@console_bp.errorhandler(HTTPException)
def http_error(error):
    return _error_page(error.code or 500, None)


@console_bp.errorhandler(Exception)
def unexpected_error(error):
    log.exception("console: unhandled error on %s", request.path)
    return _error_page(500, None)
