"""The Flask application as core builds it: config, extensions, the request's transaction, error handlers.

The domain packages sit above core, so core does not assemble them: the app
factory on top (``app.create_app``) builds the app here, lets each package
``register`` its blueprints, receivers, commands and jobs, then ``finish_app``
binds the declared jobs to Celery.
"""

import functools
import logging

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter.util import get_qualified_name
from werkzeug.middleware.proxy_fix import ProxyFix

from core import faults
from core.config import Config
from core.db import configure_sqlite
from core.errors import register_error_handlers
from core.extensions import api, db, limiter, migrate
from core.logs import configure_logging, register_request_id
from core.metrics import register_request_metrics
from core.request_guards import register_request_guards
from core.tasks import init_celery, register_in_process_scheduler

log = logging.getLogger(__name__)


def build_app(config: Config) -> Flask:
    """The app with core's parts and no domain package yet; connects to nothing until a request needs it."""
    config.validate()
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config)
    app.config["APP_ENV"] = config.ENV_NAME
    faults.arm(app)  # a no-op unless a test's TestConfig names a crash point
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config["API_SPEC_OPTIONS"] = {
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "info": {"description": "株洲农村电商与消费帮扶小程序后端（API.md v1）"},
    }
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    register_request_id(app)  # first, so every later hook and log line of the request has the id
    register_request_metrics(app)
    app.session_interface = CookielessSessionInterface()
    register_extensions(app)
    register_request_guards(app)
    register_request_transaction(app)
    register_error_handlers(app)
    return app


def finish_app(app: Flask) -> Flask:
    """After every package registered: bind the declared jobs to Celery (or the in-process runner), wrap WSGI."""
    init_celery(app)
    register_in_process_scheduler(app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    skip_rate_limit_check_without_limits(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    api.init_app(app)
    limiter.init_app(app)


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


class CookielessSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened only for a request that carries the cookie.

    The API authenticates with bearer tokens and never sets the cookie, yet
    Flask built an itsdangerous signer on every request to look for it. A
    request without the cookie now starts an empty session directly; one that
    stores something still gets a signed cookie as before.
    """

    def open_session(self, app, request):
        # No Cookie header at all (every API call): not even a parse of the header.
        if not app.secret_key or ("HTTP_COOKIE" in request.environ and request.cookies.get(self.get_cookie_name(app))):
            return super().open_session(app, request)
        return self.session_class()


def register_request_transaction(app: Flask) -> None:
    """One commit per request: commit on success, roll back on any error."""

    @app.before_request
    def forget_previous_request():
        # ``g`` lives as long as the app context, which an enclosing context
        # (a CLI command, a test) can stretch over several requests.
        g.pop("current_user", None)

    @app.after_request
    def commit_or_roll_back(response):
        if response.status_code < 400:
            if db.session.registry.has():  # a request that never used the database has nothing to commit
                db.session.commit()  # runs the after-commit callbacks (core.db.after_commit)
        else:
            db.session.rollback()
        return response


def skip_rate_limit_check_without_limits(app: Flask) -> None:
    """Drop Flask-Limiter's per-request check while no limit applies to every request.

    A limit decorating a single view is checked by its decorator when the view
    runs, and the login and bind-code throttles use the limiter's storage
    directly. With no default, application-wide or blueprint limit the
    before_request check resolves to nothing on every request, yet it cost a
    third of the time of a cached read (`make bench`: /healthz at 0.4× a bare
    Flask route).

    The limiter's after-request hook (its X-RateLimit headers) and its teardown likewise only matter
    on the views a limit decorates; elsewhere they built the limiter's request context for nothing.
    """
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or manager._blueprint_limits:
        return
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [hook for hook in hooks if hook != limiter._check_request_limit]
    limited = {
        endpoint for endpoint, view in app.view_functions.items() if manager.decorated_limits(get_qualified_name(view))
    }

    def _is_limiters(hook) -> bool:
        target = hook.func if isinstance(hook, functools.partial) else getattr(hook, "__func__", None)
        bound = hook.args[:1] if isinstance(hook, functools.partial) else (getattr(hook, "__self__", None),)
        return bound == (limiter,) and getattr(target, "__qualname__", "").startswith("Limiter.")

    def only_where_limited(hook, passthrough: bool):
        @functools.wraps(hook)
        def run(value):
            if request.endpoint in limited:
                return hook(value)
            return value if passthrough else None

        return run

    app.after_request_funcs[None] = [
        only_where_limited(hook, True) if _is_limiters(hook) else hook for hook in app.after_request_funcs.get(None, [])
    ]
    app.teardown_request_funcs[None] = [
        only_where_limited(hook, False) if _is_limiters(hook) else hook
        for hook in app.teardown_request_funcs.get(None, [])
    ]
