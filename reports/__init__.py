"""Sales analytics and the monthly report workflow for the poverty-alleviation office."""


def register(app) -> None:
    """The report endpoints and the reports command."""
    from core.extensions import api
    from reports.cli import reports_cli
    from reports.views import reports_blp

    api.register_blueprint(reports_blp, url_prefix="/api/v1")
    app.cli.add_command(reports_cli)
