"""`flask sandbox …`: serve the gateway simulator."""

import click
from flask import current_app
from flask.cli import AppGroup
from werkzeug.serving import WSGIRequestHandler, run_simple

from sandbox.app import create_sandbox_app


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Logs method, path and status but never the query string (it carries secrets and login codes)."""

    def log_request(self, code="-", size="-") -> None:
        self.log("info", '"%s %s" %s', self.command, self.path.split("?", 1)[0], code)


sandbox_cli = AppGroup("sandbox", help="The payment and WeChat gateway simulator (development only).")


@sandbox_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5001, show_default=True, type=int, help="Port to listen on.")
def serve_command(host: str, port: int) -> None:
    """Serve WeChat Pay (API v2 and v3), Alipay and WeChat API simulators with the app's (sandbox) credentials."""
    config = current_app.config
    if config["APP_ENV"] == "production":
        raise click.ClickException("refusing to run the payment sandbox in production")
    if not config.get("PAYMENT_SANDBOX"):
        click.echo("sandbox: warning: PAYMENT_SANDBOX is off, the app will not use this simulator", err=True)
    app = create_sandbox_app(config, start_dispatcher=True)
    factor = app.extensions["sandbox"].settings.time_factor
    click.echo(f"sandbox: http://{host}:{port}/ — SANDBOX ONLY, no real money (retry time factor {factor})")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=PathOnlyRequestHandler)
    finally:
        app.extensions["sandbox"].notifier.stop()
