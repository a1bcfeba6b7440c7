"""Institutional buyers (单位消费帮扶): units, purchasers, reserved-share targets, unit orders,
union welfare deliveries, bank transfers (对公转账) and the unit documents.

Place in the dependency order: ``core ← villages ← shop ← payments ← institutions
← reports ← console``. A bank transfer is applied through payments' exactly-once
path (``payments.applying.apply_success``) and booked with the payments ledger, so
this package sits above payments and imports it; reports (the unit report and the
league table) sit above it. The shop reaches it only through signals
(``shop.signals.unit_order_requested``, ``lines_shipping``).
"""


def register(app) -> None:
    """The unit endpoints, the receivers of the shop's unit-order signals and the units command."""
    from core.extensions import api
    from institutions import receivers
    from institutions.cli import units_cli
    from institutions.views import units_blp

    api.register_blueprint(units_blp, url_prefix="/api/v1")
    receivers.connect()
    app.cli.add_command(units_cli)
