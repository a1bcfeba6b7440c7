"""The app is assembled on top: core imports no package above it, and production loads no development tool."""

import ast
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
ABOVE_CORE = {"app", "wsgi", "villages", "shop", "payments", "institutions", "reports", "console", "demo", "sandbox"}
DEVELOPMENT_TOOLS = ("demo", "sandbox")

# Run in a fresh interpreter: what importing wsgi (as gunicorn and `flask` do) leaves in sys.modules.
PROBE = """
import json, sys
import wsgi
print(json.dumps({
    "loaded": sorted(name for name in sys.modules if name.split(".")[0] in ("demo", "sandbox")),
    "commands": sorted(wsgi.app.cli.list_commands(None)),
}))
"""


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_core_imports_no_package_above_it():
    modules = sorted((ROOT / "core").rglob("*.py"))
    assert len(modules) > 20  # the scan reads the real package
    upward = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & ABOVE_CORE)
        for path in modules
        if _imported_packages(path) & ABOVE_CORE
    }
    assert upward == {}


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


def _start_app(settings: dict[str, str]) -> dict:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WECHAT_", "ALIPAY_"))}
    env.pop("FLASK_DEBUG", None)
    env.update(settings)
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_production_process_imports_neither_the_demo_nor_the_sandbox():
    merchant_private, _ = _pem_pair()
    _, wechat_pay_public = _pem_pair()
    started = _start_app(
        {
            "APP_ENV": "production",
            "PAYMENT_SANDBOX": "0",
            "SECRET_KEY": "s" * 64,
            "PII_KEY": base64.b64encode(b"k" * 32).decode(),
            "DATABASE_URL": "postgresql+psycopg://app@db/zhuzhou",  # nothing connects while the app is built
            "REDIS_URL": "redis://cache:6379/0",
            "WECHAT_APPID": "wx1234567890abcdef",
            "WECHAT_PAY_MCH_ID": "1600000001",
            "WECHAT_PAY_V3_PRIVATE_KEY": merchant_private,
            "WECHAT_PAY_V3_SERIAL_NO": "3775B6A45ACD588826D15E583A95F5DD3F1D0D01",
            "WECHAT_PAY_V3_KEY": "k" * 32,
            "WECHAT_PAY_V3_PUBLIC_KEY": wechat_pay_public,
            "WECHAT_PAY_V3_PUBLIC_KEY_ID": "PUB_KEY_ID_0116000000012025010100000000000001",
        }
    )
    assert started["loaded"] == []
    assert "db" in started["commands"] and "orders" in started["commands"]
    assert not set(DEVELOPMENT_TOOLS) & set(started["commands"])


def test_development_with_the_sandbox_has_the_demo_and_sandbox_commands(tmp_path):
    started = _start_app(
        {
            "APP_ENV": "development",
            "PAYMENT_SANDBOX": "1",
            "SECRET_KEY": "d" * 64,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "IN_PROCESS_SCHEDULER": "0",
        }
    )
    assert {"demo", "sandbox"} <= set(started["commands"])
    assert "demo.cli" in started["loaded"] and "sandbox.cli" in started["loaded"]
