"""The app a crash test runs in a process of its own: ``python -m tests.ops.crash_server PORT``.

TestConfig (so ``ZZ_FAULT_AT`` arms a ``core.faults`` point and background work
runs inline after each commit) on the test's database (``CRASH_DATABASE_URL``),
with every gateway on the test's simulator (``CRASH_SANDBOX_URL``) and the
test's secret key, so the tokens the test issued are valid here.
"""

import os
import sys

from werkzeug.serving import make_server

from core.app import create_app
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


def main(port: int) -> None:
    env = os.environ
    config = crash_config(
        env["CRASH_DATABASE_URL"], env["CRASH_SANDBOX_URL"], f"http://127.0.0.1:{port}", env["CRASH_SECRET_KEY"]
    )
    app = create_app(config)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
