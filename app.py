"""The composition root: builds the app from core and lets every package register itself on it.

Each package's ``register(app)`` adds its blueprints, signal receivers, CLI
commands and jobs; packages register in dependency order, so a higher package's
receivers connect after a lower one's. The payment simulator (``sandbox``) and
the demo city (``demo``) are development tools: they are imported, and their
commands added, only where the payment sandbox is on, never in production.
"""

from flask import Flask

import console
import core
import institutions
import payments
import reports
import shop
import villages
from core.app import build_app, finish_app
from core.config import Config, config_from_env

PACKAGES = (core, villages, shop, payments, institutions, reports, console)


def create_app(config: Config | None = None) -> Flask:
    """Build the WSGI application; connects to nothing until a request needs it."""
    app = build_app(configure(config))
    for package in PACKAGES:
        package.register(app)
    if app.config["PAYMENT_SANDBOX"]:
        register_development_tools(app)
    return finish_app(app)


def configure(config: Config | None = None) -> Config:
    """The settings from the environment (unless given); with the sandbox on, its credentials fill unset ones."""
    config = config or config_from_env()
    if config.PAYMENT_SANDBOX:
        from sandbox.credentials import fill_unset_settings

        fill_unset_settings(config)
    return config


def register_development_tools(app: Flask) -> None:
    """``flask sandbox`` (the gateway simulator) and ``flask demo`` (the demo city, paid through it)."""
    import demo
    import sandbox

    sandbox.register(app)
    demo.register(app)
