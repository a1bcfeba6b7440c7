"""The demo city: real 株洲 divisions with clearly-marked demo villages and people."""


def register(app) -> None:
    """``flask demo``: only where the payment sandbox is on (the demo pays through the simulator)."""
    from demo.cli import demo_cli

    app.cli.add_command(demo_cli)
