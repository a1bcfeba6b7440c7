"""Configuration classes; every setting comes from the environment (API.md)."""

import base64
import os
import secrets
from pathlib import Path

from core import sandbox_credentials

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"

# A fixed, public key used only outside production so that a dev database
# stays readable across restarts. Production refuses to start with it.
DEV_PII_KEY = base64.b64encode(b"zhuzhou-dev-pii-key-not-secret!!").decode()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


class Config:
    """Defaults for development: SQLite, in-process stores, payment sandbox."""

    ENV_NAME = "development"
    TESTING = False
    SANDBOX_BY_DEFAULT = True

    def __init__(self) -> None:
        env = os.environ.get
        self.SECRET_KEY = env("SECRET_KEY") or secrets.token_hex(32)
        self.SQLALCHEMY_DATABASE_URI = env("DATABASE_URL") or (f"sqlite:///{INSTANCE_DIR / 'zhuzhou.db'}")
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = env("REDIS_URL") or None
        self.PII_KEY = env("PII_KEY") or DEV_PII_KEY
        # Comma-separated earlier keys, still accepted for decryption during rotation.
        self.PII_PREVIOUS_KEYS = env("PII_PREVIOUS_KEYS", "")
        self.PAYMENT_SANDBOX = _bool("PAYMENT_SANDBOX", self.SANDBOX_BY_DEFAULT)
        self.WECHAT_APPID = env("WECHAT_APPID", "")
        self.WECHAT_SECRET = env("WECHAT_SECRET", "")
        self.WECHAT_API_BASE_URL = env("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com/"
        # Subscribe-message template sellers receive when their goods sell.
        self.WECHAT_ORDER_PAID_TEMPLATE_ID = env("WECHAT_ORDER_PAID_TEMPLATE_ID", "")
        self.WECHAT_PAY_MCH_ID = env("WECHAT_PAY_MCH_ID", "")
        self.WECHAT_PAY_API_KEY = env("WECHAT_PAY_API_KEY", "")
        self.WECHAT_PAY_BASE_URL = env("WECHAT_PAY_BASE_URL") or "https://api.mch.weixin.qq.com/"
        self.WECHAT_PAY_VERSION = env("WECHAT_PAY_VERSION") or "v2"
        self.ALIPAY_APP_ID = env("ALIPAY_APP_ID", "")
        self.ALIPAY_APP_PRIVATE_KEY = env("ALIPAY_APP_PRIVATE_KEY", "")
        self.ALIPAY_PUBLIC_KEY = env("ALIPAY_PUBLIC_KEY", "")
        self.ALIPAY_SERVER_URL = env("ALIPAY_SERVER_URL") or "https://openapi.alipay.com/gateway.do"
        # Client certificate for WeChat Pay's secapi/ endpoints (refunds); not needed by the sandbox.
        self.WECHAT_PAY_CERT_PATH = env("WECHAT_PAY_CERT_PATH") or None
        self.WECHAT_PAY_KEY_PATH = env("WECHAT_PAY_KEY_PATH") or None
        # The merchant's Alipay PID (2088…); notifications for another seller are rejected when set.
        self.ALIPAY_SELLER_ID = env("ALIPAY_SELLER_ID", "")
        self.PAYMENT_HTTP_TIMEOUT = _int("PAYMENT_HTTP_TIMEOUT", 10)
        # The gateway simulator (`flask sandbox serve`) and its retry-schedule compression.
        self.SANDBOX_URL = (env("SANDBOX_URL") or sandbox_credentials.SANDBOX_URL).rstrip("/")
        self.SANDBOX_TIME_FACTOR = _float("SANDBOX_TIME_FACTOR", 1.0)
        self.PUBLIC_BASE_URL = (env("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        self.ORDER_PAYMENT_TIMEOUT_MINUTES = _int("ORDER_PAYMENT_TIMEOUT_MINUTES", 30)
        self.ORDER_AUTO_CONFIRM_DAYS = _int("ORDER_AUTO_CONFIRM_DAYS", 7)
        self.SETTLEMENT_HOLD_DAYS = _int("SETTLEMENT_HOLD_DAYS", 7)
        self.ACCESS_TOKEN_SECONDS = _int("ACCESS_TOKEN_SECONDS", 2 * 3600)
        self.REFRESH_TOKEN_SECONDS = _int("REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)
        self.LOGIN_FAILURE_LIMIT = env("LOGIN_FAILURE_LIMIT") or "5 per 15 minutes"
        # Product images: local directory (default: instance/uploads) and the public URL they are served at.
        self.UPLOAD_DIR = env("UPLOAD_DIR") or None
        self.MEDIA_BASE_URL = (env("MEDIA_BASE_URL") or f"{self.PUBLIC_BASE_URL}/media").rstrip("/") + "/"
        # Catalogue cache: key prefix in Redis (or in-process) and how long an entry lives.
        self.CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX") or "zz:"
        self.CATALOGUE_CACHE_SECONDS = _int("CATALOGUE_CACHE_SECONDS", 600)
        # msg_sec_check v2 needs a user's openid; staff who sign in with a password have none.
        self.WECHAT_SEC_CHECK_OPENID = env("WECHAT_SEC_CHECK_OPENID", "")
        # The web console (console/): a signed session cookie, signed out after this many idle minutes.
        self.CONSOLE_IDLE_MINUTES = _int("CONSOLE_IDLE_MINUTES", 30)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", self.ENV_NAME == "production")
        # CSRF tokens are checked on the console's forms only; the JSON API uses bearer tokens.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        # flask-smorest / OpenAPI
        self.API_TITLE = "株洲农村电商 API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.JSON_SORT_KEYS = False
        # Run background tasks inline (tests); the default is an in-process thread pool.
        self.TASKS_EAGER = _bool("TASKS_EAGER", False)
        if self.PAYMENT_SANDBOX:
            self.apply_sandbox_defaults()

    def apply_sandbox_defaults(self) -> None:
        """Point unset gateway settings at the simulator and its SANDBOX-ONLY credentials."""
        env = os.environ.get
        defaults = {
            "WECHAT_API_BASE_URL": f"{self.SANDBOX_URL}/wechat-api/",
            "WECHAT_PAY_BASE_URL": f"{self.SANDBOX_URL}/wechat-pay/",
            "ALIPAY_SERVER_URL": f"{self.SANDBOX_URL}/alipay/gateway.do",
            "WECHAT_APPID": sandbox_credentials.WECHAT_APPID,
            "WECHAT_SECRET": sandbox_credentials.WECHAT_SECRET,
            "WECHAT_PAY_MCH_ID": sandbox_credentials.WECHAT_PAY_MCH_ID,
            "WECHAT_PAY_API_KEY": sandbox_credentials.WECHAT_PAY_API_KEY,
            "ALIPAY_APP_ID": sandbox_credentials.ALIPAY_APP_ID,
            "ALIPAY_APP_PRIVATE_KEY": sandbox_credentials.ALIPAY_APP_PRIVATE_KEY,
            "ALIPAY_PUBLIC_KEY": sandbox_credentials.ALIPAY_PUBLIC_KEY,
            "ALIPAY_SELLER_ID": sandbox_credentials.ALIPAY_SELLER_ID,
        }
        for name, value in defaults.items():
            if not env(name):
                setattr(self, name, value)

    def validate(self) -> None:
        """Refuse unsafe settings; only production is strict."""


class TestConfig(Config):
    """Used by the test suite: a database URL is always given explicitly."""

    __test__ = False  # not a pytest test class
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
        self.TASKS_EAGER = True
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.PAYMENT_SANDBOX = True
        # Nothing listens here: tests that want a gateway start their own simulator,
        # and the rest must never reach a developer's running `make run` sandbox.
        self.SANDBOX_URL = "http://127.0.0.1:9"
        self.apply_sandbox_defaults()


class ProductionConfig(Config):
    """Production: secrets are required and the sandbox is off by default."""

    ENV_NAME = "production"
    SANDBOX_BY_DEFAULT = False

    def validate(self) -> None:
        problems = []
        if not os.environ.get("SECRET_KEY"):
            problems.append("SECRET_KEY is required in production")
        if not os.environ.get("PII_KEY") or self.PII_KEY == DEV_PII_KEY:
            problems.append("PII_KEY is required in production (and must not be the dev key)")
        if not os.environ.get("DATABASE_URL"):
            problems.append("DATABASE_URL is required in production")
        problems.extend(self._sandbox_problems())
        if problems:
            raise RuntimeError("; ".join(problems))

    def _sandbox_problems(self) -> list[str]:
        """The payment simulator and its public credentials have no place in production."""
        problems = []
        if self.PAYMENT_SANDBOX:
            problems.append("PAYMENT_SANDBOX must be off in production")
        for name, value in sandbox_credentials.SANDBOX_SETTINGS.items():
            if getattr(self, name) == value:
                problems.append(f"{name} is the SANDBOX-ONLY value")
        for name, public_pem in sandbox_credentials.SANDBOX_KEYS.items():
            if sandbox_credentials.is_sandbox_key(getattr(self, name), public_pem):
                problems.append(f"{name} is the SANDBOX-ONLY key")
        for name in ("WECHAT_API_BASE_URL", "WECHAT_PAY_BASE_URL", "ALIPAY_SERVER_URL"):
            if getattr(self, name).startswith(self.SANDBOX_URL):
                problems.append(f"{name} points at the sandbox")
        return problems


def config_from_env() -> Config:
    """Pick the config class named by APP_ENV (development|production)."""
    name = os.environ.get("APP_ENV", "development").lower()
    return {"production": ProductionConfig, "testing": TestConfig}.get(name, Config)()
