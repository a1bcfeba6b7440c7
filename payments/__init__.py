"""Payment providers, notifications, refunds, ledger and payouts."""


def register(app) -> None:
    """Payment and ledger endpoints, the payments receivers (signals of the shop), commands and jobs."""
    import payments.ledger.tasks
    import payments.tasks  # noqa: F401 - declares the payment and settlement jobs (core.tasks)
    from core.extensions import api
    from payments import receivers
    from payments.cli import payments_cli
    from payments.ledger.cli import ledger_cli, settlements_cli
    from payments.ledger.views import ledger_blp
    from payments.login_views import alipay_login_blp
    from payments.views import payments_blp

    api.register_blueprint(alipay_login_blp, url_prefix="/api/v1")
    api.register_blueprint(payments_blp, url_prefix="/api/v1")
    api.register_blueprint(ledger_blp, url_prefix="/api/v1")
    receivers.connect()
    for group in (payments_cli, ledger_cli, settlements_cli):
        app.cli.add_command(group)
