"""A protocol-faithful simulator of WeChat Pay v2, Alipay and the WeChat API pieces the app uses."""

from sandbox.app import Sandbox, create_sandbox_app
from sandbox.state import SandboxError

__all__ = ["Sandbox", "SandboxError", "create_sandbox_app"]
