"""Configuration classes; every setting comes from the environment (API.md)."""

import base64
import hashlib
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.gateway_settings import blank, gateway_setting_problems

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
MIN_SECRET_KEY_LENGTH = 32

SELLER_OF_RECORD = "seller_of_record"
SETTLEMENT_MODES = (SELLER_OF_RECORD, "platform")


def settlement_mode_problems(mode: str) -> list[str]:
    """SETTLEMENT_MODE must name a mode this deployment can run completely (docs/money.md)."""
    if mode not in SETTLEMENT_MODES:
        return [f"SETTLEMENT_MODE must be seller_of_record or platform, not {mode!r}"]
    if mode != SELLER_OF_RECORD:
        # Refused rather than half-run: without sub-merchant onboarding, combine payment and profit sharing
        # the platform would collect sellers' money itself, which is the unlicensed clearing (二清) it must avoid.
        return [
            "SETTLEMENT_MODE=platform (WeChat Pay 平台收付通) is not available in this version: sub-merchant "
            "onboarding, combine payment and profit sharing are not built yet; use seller_of_record"
        ]
    return []


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


def pem_or_path(value: str | None) -> str:
    """A key given as its PEM text (or bare base64), or as the path of a file holding it."""
    value = (value or "").strip()
    if not value or "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    if path.is_file():
        return path.read_text(encoding="ascii").strip() + "\n"
    return value


_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")


def rsa_modulus(text: str) -> int | None:
    """The RSA modulus of a public or private key in PEM or bare base64 DER, if it parses."""
    body = _PEM_ARMOUR.sub("", text or "")
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except ValueError:
        return None
    loaders = (
        lambda: serialization.load_der_private_key(der, password=None),
        lambda: serialization.load_der_public_key(der),
    )
    for load in loaders:
        try:
            key = load()
        except (ValueError, TypeError):
            continue
        if isinstance(key, rsa.RSAPrivateKey):
            return key.public_key().public_numbers().n
        if isinstance(key, rsa.RSAPublicKey):
            return key.public_numbers().n
    return None


def sandbox_fingerprint(value: str) -> str:
    """How production recognises a SANDBOX-ONLY value without holding it (``SANDBOX_*_FINGERPRINTS``)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# Where `flask sandbox serve` listens unless SANDBOX_URL says otherwise.
DEFAULT_SANDBOX_URL = "http://127.0.0.1:5001"
# The SANDBOX-ONLY credentials (sandbox/credentials.py) production must never run with, by the SHA-256
# of each value and, for a key, of its RSA modulus (so either half of the pair): production recognises
# them without importing the simulator or holding its keys. A test keeps these equal to
# sandbox.credentials.fingerprints().
SANDBOX_VALUE_FINGERPRINTS = {
    "WECHAT_APPID": "4c5db771162496d7d79ae1717cfef85cb2ad9417199e4e5e803b927a872fc2dd",
    "WECHAT_SECRET": "011cfc43a4a0e02be568032552568b739507a6ff1b8feda568d53b1184818213",
    "WECHAT_PAY_MCH_ID": "5d723c6b190c872d65be5154962e4e765792483f1d1471ab1b68960e945fbd8d",
    "WECHAT_PAY_API_KEY": "1d1d2c738106a2f92795a5fd996a58ee5ed8747f01ae2fbfa0ae13678957df44",
    "WECHAT_PAY_V3_SERIAL_NO": "52315f55f0ac49743e2e490a60c16841093cf08a1a450c106cb6a2cd57bfee7d",
    "WECHAT_PAY_V3_KEY": "38233c96be6050760b366601c68e3e1a728d871ecaac8c2f3d40b3b764a1f066",
    "WECHAT_PAY_V3_PUBLIC_KEY_ID": "28e42938e77473cb5d4ad4104bc072bd5b2d34fb18a62118866ce7dffd5824a3",
    "ALIPAY_APP_ID": "068673d34e983ce280525ddcbfe08446f2e1b0806a9696008b921333d29c1c34",
}
SANDBOX_KEY_FINGERPRINTS = {
    "ALIPAY_APP_PRIVATE_KEY": "b3021981c5cb2895097a46892623fb68637e582e8be46196faa17768c8831b1b",
    "ALIPAY_PUBLIC_KEY": "2b1656cb40f9176c0cc22284414c5b38904571958c3c092e8c3552447d23607f",
    "WECHAT_PAY_V3_PRIVATE_KEY": "fde3362d425aebdf3fd76bdeeb8f33c98cc61b06f272cf422b3c1391b157d1c6",
    "WECHAT_PAY_V3_PUBLIC_KEY": "23b88e66acb11fbde7731317e137a743a626a37ec90e806e80e66824460f144b",
}


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _dev_secret_key() -> str:
    """A random key kept in ``instance/``, so every worker of a dev server signs tokens alike."""
    path = INSTANCE_DIR / "dev-secret-key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _pii_key_problems(config: "Config") -> list[str]:
    """PII_KEY and PII_PREVIOUS_KEYS must be base64 of 32 bytes, or the first read fails as a 500."""
    problems = []
    named = [("PII_KEY", config.PII_KEY)]
    named += [("PII_PREVIOUS_KEYS", key) for key in config.PII_PREVIOUS_KEYS.split(",") if key.strip()]
    for name, value in named:
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except ValueError:
            problems.append(f"{name} is not valid base64")
            continue
        if len(raw) != 32:
            problems.append(f"{name} must decode to 32 bytes, not {len(raw)}")
    return problems


class Config:
    """Defaults for development: SQLite, in-process stores, payment sandbox."""

    ENV_NAME = "development"
    TESTING = False
    SANDBOX_BY_DEFAULT = True
    # A core.faults crash point that kills the process (TestConfig only, from ZZ_FAULT_AT).
    FAULT_AT: str | None = None

    def __init__(self) -> None:
        self._read_database_and_keys()
        self._read_wechat_and_payments()
        self._read_order_rules()
        self._read_web()
        self._read_operations()
        if self.PAYMENT_SANDBOX:
            self.apply_sandbox_defaults()

    def _read_database_and_keys(self) -> None:
        """The signing key, the database, Redis and the personal-data keys."""
        env = os.environ.get
        self.SECRET_KEY = env("SECRET_KEY") or self.default_secret_key()
        self.SQLALCHEMY_DATABASE_URI = env("DATABASE_URL") or (f"sqlite:///{INSTANCE_DIR / 'zhuzhou.db'}")
        # hide_parameters: a failed statement's error (and so the log) never carries its values,
        # which may be personal data on its way to encryption.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
        self.REDIS_URL = env("REDIS_URL") or None
        self.PII_KEY = env("PII_KEY") or DEV_PII_KEY
        # Comma-separated earlier keys, still accepted for decryption during rotation.
        self.PII_PREVIOUS_KEYS = env("PII_PREVIOUS_KEYS", "")

    def _read_wechat_and_payments(self) -> None:
        """WeChat (login, subscribe messages) and the payment gateways, real or the sandbox."""
        env = os.environ.get
        self.PAYMENT_SANDBOX = _bool("PAYMENT_SANDBOX", self.SANDBOX_BY_DEFAULT)
        self.WECHAT_APPID = env("WECHAT_APPID", "")
        self.WECHAT_SECRET = env("WECHAT_SECRET", "")
        self.WECHAT_API_BASE_URL = env("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com/"
        # Subscribe-message template sellers receive when their goods sell.
        self.WECHAT_ORDER_PAID_TEMPLATE_ID = env("WECHAT_ORDER_PAID_TEMPLATE_ID", "")
        # … buyers when their pickup order waits at the station; managers when a pre-sale window ends soon;
        # buyers when a pre-sale was not shipped in its window.
        self.WECHAT_PICKUP_READY_TEMPLATE_ID = env("WECHAT_PICKUP_READY_TEMPLATE_ID", "")
        self.WECHAT_PRESALE_DUE_TEMPLATE_ID = env("WECHAT_PRESALE_DUE_TEMPLATE_ID", "")
        self.WECHAT_PRESALE_OVERDUE_TEMPLATE_ID = env("WECHAT_PRESALE_OVERDUE_TEMPLATE_ID", "")
        # … buyers when their order ships, when a refund is decided, when their group succeeds or fails
        # (the mini-program asks for these through GET /client-config).
        self.WECHAT_ORDER_SHIPPED_TEMPLATE_ID = env("WECHAT_ORDER_SHIPPED_TEMPLATE_ID", "")
        self.WECHAT_REFUND_RESULT_TEMPLATE_ID = env("WECHAT_REFUND_RESULT_TEMPLATE_ID", "")
        self.WECHAT_GROUP_RESULT_TEMPLATE_ID = env("WECHAT_GROUP_RESULT_TEMPLATE_ID", "")
        # msg_sec_check v2 needs a user's openid; staff who sign in with a password have none.
        self.WECHAT_SEC_CHECK_OPENID = env("WECHAT_SEC_CHECK_OPENID", "")
        self.WECHAT_PAY_MCH_ID = env("WECHAT_PAY_MCH_ID", "")
        self.WECHAT_PAY_API_KEY = env("WECHAT_PAY_API_KEY", "")
        self.WECHAT_PAY_BASE_URL = env("WECHAT_PAY_BASE_URL") or "https://api.mch.weixin.qq.com/"
        # v3 (wechatpayv3, public-key mode: what a new merchant gets) or v2 (wechatpy, an API v2 key).
        self.WECHAT_PAY_VERSION = (env("WECHAT_PAY_VERSION") or "v3").strip().lower()
        # API v3: the merchant's API key (PEM or a path) and its serial, the APIv3 key, and the
        # WeChat Pay public key (PEM or a path) with its id PUB_KEY_ID_… (sent as Wechatpay-Serial).
        self.WECHAT_PAY_V3_PRIVATE_KEY = pem_or_path(env("WECHAT_PAY_V3_PRIVATE_KEY"))
        self.WECHAT_PAY_V3_SERIAL_NO = env("WECHAT_PAY_V3_SERIAL_NO", "").strip()
        self.WECHAT_PAY_V3_KEY = env("WECHAT_PAY_V3_KEY", "")
        self.WECHAT_PAY_V3_PUBLIC_KEY = pem_or_path(env("WECHAT_PAY_V3_PUBLIC_KEY"))
        self.WECHAT_PAY_V3_PUBLIC_KEY_ID = env("WECHAT_PAY_V3_PUBLIC_KEY_ID", "").strip()
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
        self.SANDBOX_URL = (env("SANDBOX_URL") or DEFAULT_SANDBOX_URL).rstrip("/")
        self.SANDBOX_TIME_FACTOR = _float("SANDBOX_TIME_FACTOR", 1.0)

    def _read_order_rules(self) -> None:
        """Deadlines, holds and limits of orders, pre-sales, pickups, settlement and unit transfers."""
        env = os.environ.get
        self.ORDER_PAYMENT_TIMEOUT_MINUTES = _int("ORDER_PAYMENT_TIMEOUT_MINUTES", 30)
        self.ORDER_AUTO_CONFIRM_DAYS = _int("ORDER_AUTO_CONFIRM_DAYS", 7)
        # Stations are warned this many days before a pre-sale's delivery window ends with lines unshipped.
        self.PRESALE_WARN_DAYS = _int("PRESALE_WARN_DAYS", 3)
        # A pickup order not collected this many days after it arrived may go back to stock, refunded.
        self.PICKUP_UNCOLLECTED_DAYS = _int("PICKUP_UNCOLLECTED_DAYS", 7)
        # What one buyer may hold unpaid: units of one SKU, and orders in all.
        self.UNPAID_UNITS_PER_SKU = _int("UNPAID_UNITS_PER_SKU", 30)
        self.UNPAID_ORDERS_PER_BUYER = _int("UNPAID_ORDERS_PER_BUYER", 5)
        self.SETTLEMENT_HOLD_DAYS = _int("SETTLEMENT_HOLD_DAYS", 7)
        # 对公转账 for unit orders: days to pay, and the account the 对账单 tells units to pay into.
        self.UNIT_TRANSFER_DUE_DAYS = _int("UNIT_TRANSFER_DUE_DAYS", 15)
        self.BANK_TRANSFER_PAYEE_NAME = env("BANK_TRANSFER_PAYEE_NAME") or ""
        self.BANK_TRANSFER_PAYEE_BANK = env("BANK_TRANSFER_PAYEE_BANK") or ""
        self.BANK_TRANSFER_PAYEE_ACCOUNT = env("BANK_TRANSFER_PAYEE_ACCOUNT") or ""

    def _read_web(self) -> None:
        """Tokens, throttling, request limits, media and cache, the console's session, OpenAPI."""
        env = os.environ.get
        self.PUBLIC_BASE_URL = (env("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        self.ACCESS_TOKEN_SECONDS = _int("ACCESS_TOKEN_SECONDS", 2 * 3600)
        self.REFRESH_TOKEN_SECONDS = _int("REFRESH_TOKEN_SECONDS", 30 * 24 * 3600)
        # First wait after too many failed logins or bind codes; it doubles with each further failure.
        self.THROTTLE_BASE_SECONDS = _int("THROTTLE_BASE_SECONDS", 30)
        # Request body limits: gateway notifications, JSON, multipart uploads (images ≤ 5 MB + form overhead).
        self.NOTIFY_MAX_BYTES = _int("NOTIFY_MAX_BYTES", 64 * 1024)
        self.JSON_MAX_BYTES = _int("JSON_MAX_BYTES", 1024 * 1024)
        self.UPLOAD_MAX_BYTES = _int("UPLOAD_MAX_BYTES", 5 * 1024 * 1024 + 256 * 1024)
        # Product images: local directory (default: instance/uploads) and the public URL they are served at.
        self.UPLOAD_DIR = env("UPLOAD_DIR") or None
        self.MEDIA_BASE_URL = (env("MEDIA_BASE_URL") or f"{self.PUBLIC_BASE_URL}/media").rstrip("/") + "/"
        # Catalogue cache: key prefix in Redis (or in-process) and how long an entry lives.
        self.CACHE_KEY_PREFIX = env("CACHE_KEY_PREFIX") or "zz:"
        self.CATALOGUE_CACHE_SECONDS = _int("CATALOGUE_CACHE_SECONDS", 600)
        # How long a worker reuses the catalogue version it read from Redis (0: every request).
        self.CATALOGUE_VERSION_SECONDS = _float("CATALOGUE_VERSION_SECONDS", 1.0)
        # The web console (console/): a signed session cookie, signed out after this many idle minutes.
        self.CONSOLE_IDLE_MINUTES = _int("CONSOLE_IDLE_MINUTES", 30)
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", self.ENV_NAME == "production")
        # CSRF tokens are checked on the console's forms only; the JSON API uses bearer tokens.
        self.WTF_CSRF_CHECK_DEFAULT = False
        # The reviewing office as exports and messages name it (the city may have renamed it).
        self.OFFICE_NAME = env("OFFICE_NAME") or "株洲市扶贫办"
        # Who sells and how money reaches villagers (docs/money.md): the centre as seller of record, paying
        # suppliers by bank batch or Alipay transfer, or a platform on WeChat Pay 平台收付通 (not built yet).
        self.SETTLEMENT_MODE = (env("SETTLEMENT_MODE") or SELLER_OF_RECORD).strip().lower()
        # The customer-service number the mini-program shows; the oldest client version still served.
        self.SERVICE_PHONE = env("SERVICE_PHONE") or None
        self.MINIPROGRAM_MIN_VERSION = env("MINIPROGRAM_MIN_VERSION") or "1.0.0"
        # A TTF/TTC that draws Chinese for 合格证 label sheets; unset: Debian's wqy/noto fonts.
        self.LABEL_FONT_PATH = env("LABEL_FONT_PATH") or None
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        # flask-smorest / OpenAPI
        self.API_TITLE = "株洲农村电商 API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.JSON_SORT_KEYS = False

    def _read_operations(self) -> None:
        """Background tasks, logs, metrics, proxies and where files are stored."""
        env = os.environ.get
        # Background work (core/tasks.py): Celery on this broker (RabbitMQ or Redis), else REDIS_URL,
        # else in this process. TASKS_EAGER runs it inline (tests).
        self.CELERY_BROKER_URL = env("CELERY_BROKER_URL") or None
        self.TASKS_EAGER = _bool("TASKS_EAGER", False)
        # Seconds before Redis hands an unacknowledged task (its worker died) to another worker;
        # longer than any task runs or waits for a retry.
        self.CELERY_VISIBILITY_TIMEOUT = _int("CELERY_VISIBILITY_TIMEOUT", 3600)
        self.CELERY_TASK_TIME_LIMIT = _int("CELERY_TASK_TIME_LIMIT", 300)
        self.CELERY_QUEUE = env("CELERY_QUEUE") or "zhuzhou"
        # Without a broker, a development server runs the periodic jobs in a thread (see core/tasks.py).
        self.IN_PROCESS_SCHEDULER = _bool("IN_PROCESS_SCHEDULER", True)
        # Logs: one JSON object per line (production default) or text; LOG_LEVEL as in logging.
        self.LOG_FORMAT = (env("LOG_FORMAT") or ("json" if self.ENV_NAME == "production" else "text")).lower()
        self.LOG_LEVEL = (env("LOG_LEVEL") or "INFO").upper()
        # GET /metrics: bearer token (unset: loopback clients only); database figures are re-read after N seconds.
        self.METRICS_TOKEN = env("METRICS_TOKEN") or None
        self.METRICS_DATABASE_CACHE_SECONDS = _int("METRICS_DATABASE_CACHE_SECONDS", 30)
        # Reverse proxies in front that set X-Forwarded-For/-Proto (nginx: 1); 0 trusts no such header.
        self.TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
        # Stored files (product photos, report exports): local directory or an S3-compatible store.
        self.STORAGE_BACKEND = (env("STORAGE_BACKEND") or "local").lower()
        self.S3_ENDPOINT_URL = env("S3_ENDPOINT_URL") or None
        self.S3_BUCKET = env("S3_BUCKET") or None
        self.S3_REGION = env("S3_REGION") or None
        self.S3_ACCESS_KEY_ID = env("S3_ACCESS_KEY_ID") or None
        self.S3_SECRET_ACCESS_KEY = env("S3_SECRET_ACCESS_KEY") or None
        self.S3_PUBLIC_BASE_URL = env("S3_PUBLIC_BASE_URL") or None

    def apply_sandbox_defaults(self) -> None:
        """Point unset gateway URLs at the simulator (the app factory adds its SANDBOX-ONLY credentials)."""
        env = os.environ.get
        defaults = {
            "WECHAT_API_BASE_URL": f"{self.SANDBOX_URL}/wechat-api/",
            "WECHAT_PAY_BASE_URL": f"{self.SANDBOX_URL}/wechat-pay/",
            "ALIPAY_SERVER_URL": f"{self.SANDBOX_URL}/alipay/gateway.do",
        }
        for name, value in defaults.items():
            if not env(name):
                setattr(self, name, value)

    @staticmethod
    def default_secret_key() -> str:
        return _dev_secret_key()

    def validate(self) -> None:
        """Refuse settings that would fail later anyway; production adds its own checks."""
        problems = _pii_key_problems(self) + self._setting_problems() + self._secret_problems()
        problems += gateway_setting_problems(vars(self), require_chosen_wechat=False)
        if problems:
            raise RuntimeError("; ".join(problems))

    def _secret_problems(self) -> list[str]:
        """A SECRET_KEY that is set must be usable in every mode: blank or short is refused, never used."""
        given = os.environ.get("SECRET_KEY")
        if given and (blank(given) or len(given.strip()) < MIN_SECRET_KEY_LENGTH):
            return [f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters (`openssl rand -hex 32`)"]
        return []

    def _setting_problems(self) -> list[str]:
        """Storage, log and settlement settings that cannot work (checked in every mode)."""
        problems = self._storage_backend_problems() + settlement_mode_problems(self.SETTLEMENT_MODE)
        if self.LOG_FORMAT not in ("json", "text"):
            problems.insert(0, "LOG_FORMAT must be json or text")
        return problems

    def _storage_backend_problems(self) -> list[str]:
        if self.STORAGE_BACKEND == "local":
            return []
        if self.STORAGE_BACKEND != "s3":
            return [f"STORAGE_BACKEND must be local or s3, not {self.STORAGE_BACKEND!r}"]
        missing = [
            name
            for name in ("S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_PUBLIC_BASE_URL")
            if not getattr(self, name)
        ]
        if missing:
            return [f"STORAGE_BACKEND=s3 needs {', '.join(missing)}"]
        return []


class TestConfig(Config):
    """Used by the test suite: a database URL is always given explicitly."""

    __test__ = False  # not a pytest test class
    ENV_NAME = "testing"
    TESTING = True

    @staticmethod
    def default_secret_key() -> str:
        return secrets.token_hex(32)  # never read from the environment or a file

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = secrets.token_hex(32)
        self.TASKS_EAGER = True
        self.IN_PROCESS_SCHEDULER = False  # a test that wants the scheduler starts one
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.PAYMENT_SANDBOX = True
        # Nothing listens here: tests that want a gateway start their own simulator,
        # and the rest must never reach a developer's running `make run` sandbox.
        self.SANDBOX_URL = "http://127.0.0.1:9"
        self.apply_sandbox_defaults()
        # Read here and nowhere else: the crash tests' subprocesses die at this point (core.faults).
        self.FAULT_AT = os.environ.get("ZZ_FAULT_AT") or None


class ProductionConfig(Config):
    """Production: secrets are required and the sandbox is off by default."""

    ENV_NAME = "production"
    SANDBOX_BY_DEFAULT = False

    def __init__(self) -> None:
        super().__init__()
        self.IN_PROCESS_SCHEDULER = False  # production runs Celery beat

    @staticmethod
    def default_secret_key() -> str:
        return ""  # validate() refuses to start without one

    def validate(self) -> None:
        problems = self._setting_problems()
        if blank(os.environ.get("SECRET_KEY")):
            problems.append("SECRET_KEY is required in production")
        else:
            problems.extend(self._secret_problems())
        if not os.environ.get("PII_KEY") or self.PII_KEY == DEV_PII_KEY:
            problems.append("PII_KEY is required in production (and must not be the dev key)")
        else:
            problems.extend(_pii_key_problems(self))
        if not os.environ.get("DATABASE_URL"):
            problems.append("DATABASE_URL is required in production")
        if not self.REDIS_URL:
            problems.append(
                "REDIS_URL is required in production: login limits and caches are shared by workers, "
                "and it is the task broker unless CELERY_BROKER_URL is set"
            )
        if self.FAULT_AT or self.TESTING:
            problems.append("crash points (FAULT_AT) and TESTING are for the test suite only")
        if _bool("FLASK_DEBUG", False):
            problems.append("FLASK_DEBUG must be off in production (the debugger runs code for whoever reaches it)")
        problems.extend(gateway_setting_problems(vars(self), require_chosen_wechat=True))
        problems.extend(self._sandbox_problems())
        problems.extend(self._scale_problems())
        if problems:
            raise RuntimeError("; ".join(problems))

    def _scale_problems(self) -> list[str]:
        """What breaks once more than one process serves, or background work runs in the web process."""
        problems = []
        if self.TASKS_EAGER:
            problems.append("TASKS_EAGER must be off in production (it runs gateway calls inside requests)")
        workers = _int("WEB_CONCURRENCY", 1)
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            problems.append(
                "production needs PostgreSQL (DATABASE_URL): several processes "
                f"({workers} gunicorn workers and the Celery worker) write at once"
            )
        return problems

    def _sandbox_problems(self) -> list[str]:
        """The payment simulator and its public credentials have no place in production."""
        problems = []
        if self.PAYMENT_SANDBOX:
            problems.append("PAYMENT_SANDBOX must be off in production")
        for name, fingerprint in SANDBOX_VALUE_FINGERPRINTS.items():
            if sandbox_fingerprint(getattr(self, name)) == fingerprint:
                problems.append(f"{name} is the SANDBOX-ONLY value")
        for name, fingerprint in SANDBOX_KEY_FINGERPRINTS.items():
            modulus = rsa_modulus(getattr(self, name))
            if modulus is not None and sandbox_fingerprint(str(modulus)) == fingerprint:
                problems.append(f"{name} is the SANDBOX-ONLY key")
        for name in ("WECHAT_API_BASE_URL", "WECHAT_PAY_BASE_URL", "ALIPAY_SERVER_URL"):
            if getattr(self, name).startswith(self.SANDBOX_URL):
                problems.append(f"{name} points at the sandbox")
        return problems


def config_from_env() -> Config:
    """The config class APP_ENV names exactly (development, the default, or production).

    Anything else refuses to start: a typo such as ``prod`` must not quietly run a
    production database with development settings, and the test configuration is
    chosen by the test suite in code, never by the environment.
    """
    name = os.environ.get("APP_ENV") or "development"
    classes = {"development": Config, "production": ProductionConfig}
    if name not in classes:
        raise RuntimeError(f"APP_ENV must be 'development' or 'production', not {name!r}")
    return classes[name]()
