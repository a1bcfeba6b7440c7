"""Payment settings: sandbox defaults in development, and production refusing the sandbox outright."""

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import configure
from core.config import Config, ProductionConfig, config_from_env
from core.gateway_settings import gateway_active
from sandbox import credentials as creds

PAYMENT_VARIABLES = (
    "PAYMENT_SANDBOX",
    "SANDBOX_URL",
    "WECHAT_API_BASE_URL",
    "WECHAT_PAY_BASE_URL",
    "ALIPAY_SERVER_URL",
    "WECHAT_APPID",
    "WECHAT_SECRET",
    "WECHAT_PAY_MCH_ID",
    "WECHAT_PAY_API_KEY",
    "WECHAT_PAY_VERSION",
    "WECHAT_PAY_V3_PRIVATE_KEY",
    "WECHAT_PAY_V3_SERIAL_NO",
    "WECHAT_PAY_V3_KEY",
    "WECHAT_PAY_V3_PUBLIC_KEY",
    "WECHAT_PAY_V3_PUBLIC_KEY_ID",
    "ALIPAY_APP_ID",
    "ALIPAY_APP_PRIVATE_KEY",
    "ALIPAY_PUBLIC_KEY",
    "METRICS_TOKEN",
    "ALIPAY_SELLER_ID",
)


@pytest.fixture
def env(monkeypatch):
    for name in PAYMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


@pytest.fixture
def production(env):
    """A production environment with real-looking (non-sandbox) credentials."""
    app_private, _ = _key_pair()
    _, alipay_public = _key_pair()
    merchant_private, _ = _key_pair()
    _, wechat_pay_public = _key_pair()
    values = {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "PII_KEY": base64.b64encode(b"p" * 32).decode(),
        "DATABASE_URL": "postgresql+psycopg://app@db/zhuzhou",
        "REDIS_URL": "redis://cache:6379/0",
        "WECHAT_APPID": "wx1234567890abcdef",
        "WECHAT_SECRET": "0123456789abcdef0123456789abcdef",
        "WECHAT_PAY_MCH_ID": "1600000001",
        "WECHAT_PAY_API_KEY": "r" * 32,
        "WECHAT_PAY_V3_PRIVATE_KEY": merchant_private,
        "WECHAT_PAY_V3_SERIAL_NO": "3775B6A45ACD588826D15E583A95F5DD3F1D0D01",
        "WECHAT_PAY_V3_KEY": "k" * 32,
        "WECHAT_PAY_V3_PUBLIC_KEY": wechat_pay_public,
        "WECHAT_PAY_V3_PUBLIC_KEY_ID": "PUB_KEY_ID_0116000000012025010100000000000001",
        "ALIPAY_APP_ID": "2021001122334455",
        "ALIPAY_APP_PRIVATE_KEY": app_private,
        "ALIPAY_PUBLIC_KEY": alipay_public,
    }
    for name, value in values.items():
        env.setenv(name, value)
    return env


def test_development_defaults_every_gateway_to_the_local_sandbox(env):
    config = configure(Config())
    assert config.PAYMENT_SANDBOX
    assert config.WECHAT_API_BASE_URL == "http://127.0.0.1:5001/wechat-api/"
    assert config.WECHAT_PAY_BASE_URL == "http://127.0.0.1:5001/wechat-pay/"
    assert config.ALIPAY_SERVER_URL == "http://127.0.0.1:5001/alipay/gateway.do"
    assert (config.WECHAT_APPID, config.WECHAT_PAY_API_KEY) == (creds.WECHAT_APPID, creds.WECHAT_PAY_API_KEY)
    assert config.ALIPAY_APP_PRIVATE_KEY == creds.ALIPAY_APP_PRIVATE_KEY


def test_set_variables_win_over_sandbox_defaults(env):
    env.setenv("SANDBOX_URL", "http://127.0.0.1:6001/")
    env.setenv("WECHAT_APPID", "wx-mine")
    config = configure(Config())
    assert config.WECHAT_PAY_BASE_URL == "http://127.0.0.1:6001/wechat-pay/"
    assert config.WECHAT_APPID == "wx-mine"


def test_without_the_sandbox_the_real_hosts_and_no_credentials(env):
    env.setenv("PAYMENT_SANDBOX", "0")
    config = configure(Config())
    assert config.WECHAT_PAY_BASE_URL == "https://api.mch.weixin.qq.com/"
    assert config.ALIPAY_SERVER_URL == "https://openapi.alipay.com/gateway.do"
    assert config.WECHAT_PAY_API_KEY == "" and config.ALIPAY_APP_PRIVATE_KEY == ""


def test_production_starts_with_real_credentials(production):
    config = ProductionConfig()
    config.validate()
    assert not config.PAYMENT_SANDBOX


def test_production_refuses_the_sandbox_switch(production):
    production.setenv("PAYMENT_SANDBOX", "1")
    with pytest.raises(RuntimeError, match="PAYMENT_SANDBOX must be off"):
        ProductionConfig().validate()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WECHAT_PAY_API_KEY", creds.WECHAT_PAY_API_KEY),
        ("WECHAT_APPID", creds.WECHAT_APPID),
        ("ALIPAY_APP_ID", creds.ALIPAY_APP_ID),
        ("ALIPAY_APP_PRIVATE_KEY", creds.ALIPAY_APP_PRIVATE_KEY),
        # the same key, re-encoded as bare base64 — still the sandbox key
        (
            "ALIPAY_APP_PRIVATE_KEY",
            "".join(line for line in creds.ALIPAY_APP_PRIVATE_KEY.splitlines() if "-----" not in line),
        ),
        ("ALIPAY_PUBLIC_KEY", creds.ALIPAY_PUBLIC_KEY),
        ("WECHAT_PAY_BASE_URL", "http://127.0.0.1:5001/wechat-pay/"),
        ("WECHAT_PAY_V3_PRIVATE_KEY", creds.WECHAT_PAY_V3_PRIVATE_KEY),
        ("WECHAT_PAY_V3_PUBLIC_KEY", creds.WECHAT_PAY_V3_PUBLIC_KEY),
        ("WECHAT_PAY_V3_KEY", creds.WECHAT_PAY_V3_KEY),
        ("WECHAT_PAY_V3_PUBLIC_KEY_ID", creds.WECHAT_PAY_V3_PUBLIC_KEY_ID),
        ("WECHAT_PAY_V3_SERIAL_NO", creds.WECHAT_PAY_V3_SERIAL_NO),
    ],
)
def test_production_refuses_sandbox_only_values(production, name, value):
    production.setenv(name, value)
    with pytest.raises(RuntimeError, match=name):
        ProductionConfig().validate()


def test_sandbox_key_recognition():
    assert creds.is_sandbox_key(creds.ALIPAY_APP_PRIVATE_KEY, creds.ALIPAY_APP_PUBLIC_KEY)
    assert creds.is_sandbox_key(creds.ALIPAY_GATEWAY_PRIVATE_KEY, creds.ALIPAY_PUBLIC_KEY)
    assert not creds.is_sandbox_key(_key_pair()[0], creds.ALIPAY_APP_PUBLIC_KEY)
    assert not creds.is_sandbox_key("", creds.ALIPAY_APP_PUBLIC_KEY)
    assert not creds.is_sandbox_key("%%%", creds.ALIPAY_APP_PUBLIC_KEY)


def test_v3_is_the_default_and_development_gets_the_sandbox_v3_merchant(env):
    config = configure(Config())
    assert config.WECHAT_PAY_VERSION == "v3"
    assert config.WECHAT_PAY_V3_PUBLIC_KEY_ID == creds.WECHAT_PAY_V3_PUBLIC_KEY_ID
    assert config.WECHAT_PAY_V3_PRIVATE_KEY == creds.WECHAT_PAY_V3_PRIVATE_KEY


def test_production_names_every_missing_v3_variable(production):
    for name in ("WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PUBLIC_KEY_ID", "WECHAT_PAY_V3_PUBLIC_KEY"):
        production.delenv(name)
    with pytest.raises(RuntimeError) as refused:
        ProductionConfig().validate()
    message = str(refused.value)
    assert "WeChat Pay v3 needs" in message
    assert all(name in message for name in ("WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PUBLIC_KEY_ID"))
    assert "WECHAT_PAY_V3_PRIVATE_KEY" not in message and "WECHAT_PAY_API_KEY" not in message


def test_production_v2_needs_only_the_v2_key(production):
    production.setenv("WECHAT_PAY_VERSION", "v2")
    for name in ("WECHAT_PAY_V3_PRIVATE_KEY", "WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PUBLIC_KEY"):
        production.delenv(name)
    ProductionConfig().validate()
    production.delenv("WECHAT_PAY_API_KEY")
    with pytest.raises(RuntimeError, match="WeChat Pay v2 needs WECHAT_PAY_API_KEY"):
        ProductionConfig().validate()


def test_production_refuses_an_unknown_version_and_unusable_keys(production):
    production.setenv("WECHAT_PAY_VERSION", "v4")
    with pytest.raises(RuntimeError, match="WECHAT_PAY_VERSION must be v3 or v2"):
        ProductionConfig().validate()
    production.setenv("WECHAT_PAY_VERSION", "v3")
    production.setenv("WECHAT_PAY_V3_PUBLIC_KEY", "/nonexistent/pub_key.pem")
    production.setenv("WECHAT_PAY_V3_KEY", "short")
    with pytest.raises(RuntimeError) as refused:
        ProductionConfig().validate()
    assert "WECHAT_PAY_V3_PUBLIC_KEY is neither" in str(refused.value)
    assert "WECHAT_PAY_V3_KEY must be the 32-byte APIv3 key" in str(refused.value)


def test_v3_keys_may_be_given_as_file_paths(production, tmp_path):
    private, public = _key_pair()
    (tmp_path / "apiclient_key.pem").write_text(private)
    (tmp_path / "pub_key.pem").write_text(public)
    production.setenv("WECHAT_PAY_V3_PRIVATE_KEY", str(tmp_path / "apiclient_key.pem"))
    production.setenv("WECHAT_PAY_V3_PUBLIC_KEY", str(tmp_path / "pub_key.pem"))
    config = ProductionConfig()
    config.validate()
    assert config.WECHAT_PAY_V3_PRIVATE_KEY.strip() == private.strip()
    assert config.WECHAT_PAY_V3_PUBLIC_KEY.strip() == public.strip()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WECHAT_PAY_API_KEY", "   ", "WeChat Pay v2 needs WECHAT_PAY_API_KEY"),
        ("WECHAT_PAY_API_KEY", "short", "WECHAT_PAY_API_KEY must be the 32-character API v2 key"),
        ("WECHAT_PAY_V3_KEY", " " * 32, "WeChat Pay v3 needs WECHAT_PAY_V3_KEY"),
        ("WECHAT_PAY_V3_KEY", "k" * 31, "WECHAT_PAY_V3_KEY must be the 32-byte APIv3 key"),
        ("ALIPAY_PUBLIC_KEY", "  ", "Alipay needs ALIPAY_PUBLIC_KEY"),
        ("ALIPAY_PUBLIC_KEY", "not a key", "ALIPAY_PUBLIC_KEY is not an RSA key"),
        ("WECHAT_SECRET", "   ", "WECHAT_SECRET must be"),
        ("METRICS_TOKEN", "   ", "METRICS_TOKEN must be"),
        ("METRICS_TOKEN", "abc", "METRICS_TOKEN must be"),
        ("SECRET_KEY", " " * 40, "SECRET_KEY (must be|is required)"),
    ],
)
@pytest.mark.parametrize("mode", ["development", "sandbox", "production"])
def test_a_blank_or_short_secret_refuses_to_start_in_every_mode(production, mode, name, value, message):
    """Issue: an empty secret never makes a check pass; each mode refuses it by name before serving."""
    if mode != "production":
        production.setenv("APP_ENV", "development")
        production.setenv("PAYMENT_SANDBOX", "1" if mode == "sandbox" else "0")
    production.setenv(name, value)
    config = configure()  # what create_app starts from
    with pytest.raises(RuntimeError, match=message):
        config.validate()


def test_a_second_wechat_version_is_checked_once_any_of_its_secrets_is_set(production):
    """v3 chosen, a v2 key left blank-but-set: refused; unset: v2 is simply not active."""
    production.setenv("WECHAT_PAY_API_KEY", "")
    ProductionConfig().validate()
    production.setenv("WECHAT_PAY_API_KEY", "r" * 31)
    with pytest.raises(RuntimeError, match="WECHAT_PAY_API_KEY must be the 32-character"):
        ProductionConfig().validate()


def test_production_may_run_without_alipay_and_then_has_no_alipay(production):
    for name in ("ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"):
        production.delenv(name)
    config = ProductionConfig()
    config.validate()
    assert not gateway_active(vars(config), "alipay")
    assert gateway_active(vars(config), "wechat_v3") and gateway_active(vars(config), "wechat_v2")


@pytest.mark.parametrize("mode", ["development", "production"])
def test_the_settlement_mode_is_seller_of_record_and_an_incomplete_mode_refuses_to_start(production, mode):
    production.setenv("APP_ENV", mode)
    production.delenv("SETTLEMENT_MODE", raising=False)
    config = config_from_env()
    assert config.SETTLEMENT_MODE == "seller_of_record"
    production.setenv("SETTLEMENT_MODE", "platform")
    with pytest.raises(RuntimeError, match=r"SETTLEMENT_MODE=platform .* not available"):
        config_from_env().validate()
    production.setenv("SETTLEMENT_MODE", "clearing")
    with pytest.raises(RuntimeError, match="SETTLEMENT_MODE must be seller_of_record or platform"):
        config_from_env().validate()
