"""A protocol-faithful simulator of WeChat Pay (API v2 and v3), Alipay and the WeChat API pieces the app uses."""

from sandbox.app import Sandbox, create_sandbox_app
from sandbox.state import SandboxError

__all__ = ["Sandbox", "SandboxError", "create_sandbox_app"]


def register(app) -> None:
    """``flask sandbox``: only where the payment sandbox is on."""
    from sandbox.cli import sandbox_cli

    app.cli.add_command(sandbox_cli)
