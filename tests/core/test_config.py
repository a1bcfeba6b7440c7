"""Configuration refuses what would be unsafe or fail later, at start-up and with a clear message."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import create_app
from core import config as config_module
from core.config import Config, ProductionConfig, TestConfig, config_from_env

GOOD_PII_KEY = base64.b64encode(b"k" * 32).decode()


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


@pytest.fixture
def production(monkeypatch):
    """Everything production needs, with a real-looking WeChat Pay v3 merchant (payment checks are elsewhere)."""
    merchant_private, _ = _pem_pair()
    _, wechat_pay_public = _pem_pair()
    values = {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 64,
        "PII_KEY": GOOD_PII_KEY,
        "DATABASE_URL": "postgresql+psycopg://app@db/zhuzhou",
        "REDIS_URL": "redis://cache:6379/0",
        # WECHAT_PAY_VERSION=v3 (the default) refuses to start without these (tests/payments/test_payments_config.py).
        "WECHAT_APPID": "wx1234567890abcdef",
        "WECHAT_PAY_MCH_ID": "1600000001",
        "WECHAT_PAY_V3_PRIVATE_KEY": merchant_private,
        "WECHAT_PAY_V3_SERIAL_NO": "3775B6A45ACD588826D15E583A95F5DD3F1D0D01",
        "WECHAT_PAY_V3_KEY": "k" * 32,
        "WECHAT_PAY_V3_PUBLIC_KEY": wechat_pay_public,
        "WECHAT_PAY_V3_PUBLIC_KEY_ID": "PUB_KEY_ID_0116000000012025010100000000000001",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("PII_PREVIOUS_KEYS", raising=False)
    return monkeypatch


def _problems(config: Config) -> str:
    with pytest.raises(RuntimeError) as caught:
        config.validate()
    return str(caught.value)


@pytest.mark.parametrize("value", ["prod", "production ", "Production", "testing", "test", "staging"])
def test_unknown_app_env_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("APP_ENV", value)
    with pytest.raises(RuntimeError, match="APP_ENV must be 'development' or 'production'"):
        config_from_env()


@pytest.mark.parametrize(("value", "cls"), [("development", Config), ("production", ProductionConfig), ("", Config)])
def test_known_app_env_values(monkeypatch, value, cls):
    monkeypatch.setenv("APP_ENV", value)
    assert type(config_from_env()) is cls


def test_the_test_configuration_has_no_constant_secret():
    assert TestConfig().SECRET_KEY != TestConfig().SECRET_KEY
    assert len(TestConfig().SECRET_KEY) >= 32


def test_production_refuses_a_short_secret_key(production):
    production.setenv("SECRET_KEY", "x")
    assert "SECRET_KEY must be at least 32 characters" in _problems(ProductionConfig())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not base64!", "PII_KEY is not valid base64"),
        (base64.b64encode(b"short").decode(), "PII_KEY must decode to 32 bytes, not 5"),
    ],
)
def test_a_malformed_pii_key_refuses_to_start_in_every_environment(production, value, message):
    production.setenv("PII_KEY", value)
    assert message in _problems(ProductionConfig())
    production.setenv("APP_ENV", "development")
    assert message in _problems(Config())


def test_a_malformed_previous_pii_key_refuses_to_start(production):
    production.setenv("PII_PREVIOUS_KEYS", f"{GOOD_PII_KEY},%%%")
    assert "PII_PREVIOUS_KEYS is not valid base64" in _problems(ProductionConfig())


def test_production_refuses_debug(production):
    production.setenv("FLASK_DEBUG", "1")
    assert "FLASK_DEBUG must be off in production" in _problems(ProductionConfig())


def test_production_refuses_per_worker_limits(production):
    production.delenv("REDIS_URL")
    assert "REDIS_URL is required in production" in _problems(ProductionConfig())


def test_create_app_refuses_before_serving(production):
    production.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig())


def test_development_workers_share_one_secret_key(tmp_path, monkeypatch):
    """Two gunicorn workers are two processes: a token one signs must be valid on the other."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path)
    first, second = Config().SECRET_KEY, Config().SECRET_KEY
    assert first == second and len(first) == 64
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o777 == 0o600


def test_production_knows_every_sandbox_credential_by_its_fingerprint():
    """ProductionConfig refuses the sandbox's values without importing the simulator: the fingerprints stay current."""
    from sandbox import credentials

    values, keys = credentials.fingerprints()
    assert (values, keys) == (config_module.SANDBOX_VALUE_FINGERPRINTS, config_module.SANDBOX_KEY_FINGERPRINTS)
    assert set(values) == set(credentials.SANDBOX_SETTINGS) and set(keys) == set(credentials.SANDBOX_KEYS)
