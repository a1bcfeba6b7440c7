"""Application factory: config, extensions, blueprints, error handlers, commands."""

import importlib
import logging

from flask import Flask, g
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from core import faults
from core.config import Config, config_from_env
from core.db import configure_sqlite
from core.errors import register_error_handlers
from core.extensions import api, db, limiter, migrate
from core.logs import configure_logging, register_request_id
from core.metrics import register_request_metrics
from core.request_guards import register_request_guards

log = logging.getLogger(__name__)
# Modules declaring background tasks, periodic jobs and database metrics (core.tasks, core.metrics).
TASK_MODULES = ("shop.orders.tasks", "shop.groups.tasks", "payments.tasks", "payments.ledger.tasks")


def create_app(config: Config | None = None) -> Flask:
    """Build the WSGI application; connects to nothing until a request needs it."""
    config = config or config_from_env()
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
    register_blueprints(app)
    register_receivers()
    register_error_handlers(app)
    register_commands(app)
    register_tasks(app)
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
        if not app.secret_key or request.cookies.get(self.get_cookie_name(app)):
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
    """
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or manager._blueprint_limits:
        return
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [hook for hook in hooks if hook != limiter._check_request_limit]


def register_blueprints(app: Flask) -> None:
    from console import register_console
    from core.metrics import metrics_bp
    from core.views import auth_blp, system_bp
    from institutions.views import units_blp
    from payments.ledger.views import ledger_blp
    from payments.views import payments_blp
    from reports.views import reports_blp
    from shop.batches.views import batches_blp, trace_page_blp
    from shop.groups.views import groups_blp
    from shop.orders.views import orders_blp
    from shop.views import media_bp, products_blp
    from villages.seller_views import sellers_blp
    from villages.station_views import stations_blp
    from villages.views import regions_blp, villages_blp

    app.register_blueprint(system_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(media_bp)
    register_console(app)
    for blueprint in (
        auth_blp,
        regions_blp,
        villages_blp,
        stations_blp,
        sellers_blp,
        products_blp,
        orders_blp,
        groups_blp,
        payments_blp,
        ledger_blp,
        units_blp,
        reports_blp,
        batches_blp,
    ):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    api.register_blueprint(trace_page_blp)  # /t/<code>: the short URL printed in QR codes


def register_receivers() -> None:
    """Each package subscribes to the signals of the packages below it, here and nowhere else."""
    from institutions import receivers as institution_receivers
    from payments import receivers as payments_receivers
    from shop import receivers as shop_receivers

    shop_receivers.connect()
    institution_receivers.connect()
    payments_receivers.connect()


def register_commands(app: Flask) -> None:
    from core.pii_cli import pii_cli
    from demo.cli import demo_cli
    from institutions.cli import units_cli
    from payments.cli import payments_cli
    from payments.ledger.cli import ledger_cli, settlements_cli
    from reports.cli import reports_cli
    from sandbox.cli import sandbox_cli
    from shop.orders.cli import orders_cli
    from villages.cli import regions_cli, users_cli

    for group in (
        users_cli,
        regions_cli,
        pii_cli,
        orders_cli,
        payments_cli,
        ledger_cli,
        settlements_cli,
        units_cli,
        reports_cli,
        demo_cli,
        sandbox_cli,
    ):
        app.cli.add_command(group)


def register_tasks(app: Flask) -> None:
    """Declare every package's background tasks and periodic jobs, then bind them to Celery (or run them here)."""
    from core.tasks import init_celery, register_in_process_scheduler

    for module in TASK_MODULES:
        importlib.import_module(module)
    init_celery(app)
    register_in_process_scheduler(app)
