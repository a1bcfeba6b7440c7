"""Framework glue shared by every domain package: config, db, errors, auth."""


def register(app) -> None:
    """Core's own endpoints (health, metrics, auth) and commands."""
    from core.extensions import api
    from core.metrics import metrics_bp
    from core.pii_cli import pii_cli
    from core.views import auth_blp, system_bp

    app.register_blueprint(system_bp)
    app.register_blueprint(metrics_bp)
    api.register_blueprint(auth_blp, url_prefix="/api/v1")
    app.cli.add_command(pii_cli)
