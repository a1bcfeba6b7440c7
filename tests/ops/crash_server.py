"""The app a crash test runs in a process of its own: ``python -m tests.ops.crash_server PORT_FILE``.

TestConfig (so ``ZZ_FAULT_AT`` arms a ``core.faults`` point and background work
runs inline after each commit) on the test's database (``CRASH_DATABASE_URL``),
with every gateway on the test's simulator (``CRASH_SANDBOX_URL``) and the
test's secret key, so the tokens the test issued are valid here. It listens on
a loopback port the kernel picks (no other program can hold it) and writes the
port to PORT_FILE once it listens.
"""

import os
import sys
from pathlib import Path

from werkzeug.serving import make_server

from app import create_app
from core.config import TestConfig


def crash_config(database_url: str, sandbox_url: str, public_url: str, secret_key: str) -> TestConfig:
    """The configuration of the crashing process and of the test's own (restarted) app alike."""
    config = TestConfig()  # the SANDBOX-ONLY credentials; point every gateway at the test's simulator
    sandbox = sandbox_url.rstrip("/")
    config.SANDBOX_URL = sandbox
    config.WECHAT_API_BASE_URL = f"{sandbox}/wechat-api/"
    config.WECHAT_PAY_BASE_URL = f"{sandbox}/wechat-pay/"
    config.ALIPAY_SERVER_URL = f"{sandbox}/alipay/gateway.do"
    config.PUBLIC_BASE_URL = public_url.rstrip("/")
    config.PAYMENT_HTTP_TIMEOUT = 5
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.SECRET_KEY = secret_key
    return config


def main(port_file: Path) -> None:
    env = os.environ
    sandbox, secret = env["CRASH_SANDBOX_URL"], env["CRASH_SECRET_KEY"]
    app = create_app(crash_config(env["CRASH_DATABASE_URL"], sandbox, "http://127.0.0.1:9", secret))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    partial = port_file.with_suffix(".partial")
    partial.write_text(str(server.server_port))
    partial.replace(port_file)  # whole, or not there yet
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
