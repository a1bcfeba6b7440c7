"""Which payment gateways are configured, and what is wrong with their secrets.

A gateway (WeChat Pay v2, WeChat Pay v3, Alipay) is *active* only when every
one of its settings is present and has the gateway's own format: a v2 API key
of 32 characters, a 32-byte APIv3 key, RSA keys that parse. Nothing here ever
treats an empty or short secret as usable: an MD5 "signature" made with an
empty key is something anyone can compute, and the notification endpoints of
a gateway that is not active answer 404 before they read the body.

A gateway is *intended* when the deployment asks for it: the chosen
``WECHAT_PAY_VERSION`` in production, or any of a gateway's own secrets set.
The start refuses an intended gateway with problems, naming each variable.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

WECHAT_PAY_VERSIONS = ("v3", "v2")
WECHAT_V2_API_KEY_LENGTH = 32
WECHAT_V3_API_KEY_BYTES = 32
# An AppSecret is 32 hex characters; anything shorter is a typo or a placeholder.
WECHAT_SECRET_LENGTH = 32
# /metrics' bearer token: long enough not to be guessed.
METRICS_TOKEN_MIN_LENGTH = 16

# Each gateway's settings, all required for it to be active.
GATEWAY_SETTINGS = {
    "wechat_v2": ("WECHAT_APPID", "WECHAT_PAY_MCH_ID", "WECHAT_PAY_API_KEY"),
    "wechat_v3": (
        "WECHAT_APPID",
        "WECHAT_PAY_MCH_ID",
        "WECHAT_PAY_V3_PRIVATE_KEY",
        "WECHAT_PAY_V3_SERIAL_NO",
        "WECHAT_PAY_V3_KEY",
        "WECHAT_PAY_V3_PUBLIC_KEY",
        "WECHAT_PAY_V3_PUBLIC_KEY_ID",
    ),
    "alipay": ("ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"),
}
# A gateway is asked for as soon as any of its secrets is set (ids left over from another setup are not).
GATEWAY_SECRETS = {
    "wechat_v3": ("WECHAT_PAY_V3_PRIVATE_KEY", "WECHAT_PAY_V3_KEY", "WECHAT_PAY_V3_PUBLIC_KEY"),
    "wechat_v2": ("WECHAT_PAY_API_KEY",),
    "alipay": ("ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"),
}
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z ]+-----")


class GatewaySecretMissing(RuntimeError):
    """A signer or verifier was handed an empty or short secret: refused at the point of use."""


def blank(value: Any) -> bool:
    """Unset, empty or only white space."""
    return value is None or not str(value).strip()


def require_secret(name: str, value: Any, min_length: int = 1) -> str:
    """``value`` when it is a usable secret, else GatewaySecretMissing (never sign or verify with it)."""
    if blank(value) or len(str(value).encode("utf-8")) < min_length:
        raise GatewaySecretMissing(f"{name} is not configured")
    return str(value)


def is_rsa_key(text: Any) -> bool:
    """Whether ``text`` is an RSA private or public key in PEM or bare base64 DER."""
    if blank(text):
        return False
    body = _PEM_ARMOUR.sub("", str(text))
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (ValueError, binascii.Error):
        return False
    for load in (
        lambda: serialization.load_der_private_key(der, password=None),
        lambda: serialization.load_der_public_key(der),
        lambda: serialization.load_pem_public_key(
            b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
        ),
    ):
        try:
            key = load()
        except (ValueError, TypeError):
            continue
        return isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)
    return False


def _missing(config: Mapping[str, Any], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if blank(config.get(name))]


def wechat_v2_problems(config: Mapping[str, Any]) -> list[str]:
    """What keeps WeChat Pay v2 from being usable, each naming its variable."""
    missing = _missing(config, GATEWAY_SETTINGS["wechat_v2"])
    problems = [f"WeChat Pay v2 needs {', '.join(missing)} (empty or unset)"] if missing else []
    key = config.get("WECHAT_PAY_API_KEY") or ""
    if "WECHAT_PAY_API_KEY" not in missing and len(key.strip()) != WECHAT_V2_API_KEY_LENGTH:
        problems.append(f"WECHAT_PAY_API_KEY must be the {WECHAT_V2_API_KEY_LENGTH}-character API v2 key")
    return problems


def wechat_v3_problems(config: Mapping[str, Any]) -> list[str]:
    """What keeps WeChat Pay v3 (public-key mode) from being usable, each naming its variable."""
    missing = _missing(config, GATEWAY_SETTINGS["wechat_v3"])
    problems = [f"WeChat Pay v3 needs {', '.join(missing)} (empty or unset)"] if missing else []
    key = config.get("WECHAT_PAY_V3_KEY") or ""
    if "WECHAT_PAY_V3_KEY" not in missing and len(key.encode("utf-8")) != WECHAT_V3_API_KEY_BYTES:
        problems.append(f"WECHAT_PAY_V3_KEY must be the {WECHAT_V3_API_KEY_BYTES}-byte APIv3 key")
    for name in ("WECHAT_PAY_V3_PRIVATE_KEY", "WECHAT_PAY_V3_PUBLIC_KEY"):
        if name not in missing and not is_rsa_key(config.get(name)):
            problems.append(f"{name} is neither an RSA key in PEM nor a readable file holding one")
    key_id = config.get("WECHAT_PAY_V3_PUBLIC_KEY_ID") or ""
    if "WECHAT_PAY_V3_PUBLIC_KEY_ID" not in missing and not key_id.startswith("PUB_KEY_ID_"):
        problems.append("WECHAT_PAY_V3_PUBLIC_KEY_ID is the public key id (PUB_KEY_ID_…)")
    return problems


def alipay_problems(config: Mapping[str, Any]) -> list[str]:
    """What keeps Alipay from being usable, each naming its variable."""
    missing = _missing(config, GATEWAY_SETTINGS["alipay"])
    problems = [f"Alipay needs {', '.join(missing)} (empty or unset)"] if missing else []
    for name in ("ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"):
        if name not in missing and not is_rsa_key(config.get(name)):
            problems.append(f"{name} is not an RSA key in PEM or base64")
    return problems


_PROBLEMS = {"wechat_v2": wechat_v2_problems, "wechat_v3": wechat_v3_problems, "alipay": alipay_problems}


@lru_cache(maxsize=64)
def _active(gateway: str, values: tuple[tuple[str, Any], ...]) -> bool:
    return not _PROBLEMS[gateway](dict(values))


def gateway_active(config: Mapping[str, Any], gateway: str) -> bool:
    """Whether ``gateway`` (wechat_v2, wechat_v3, alipay) is fully and validly configured."""
    names = GATEWAY_SETTINGS[gateway]
    return _active(gateway, tuple((name, config.get(name)) for name in names))


def _secrets_set(config: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    return any(config.get(name) not in (None, "") for name in names)


def intended_gateways(config: Mapping[str, Any], require_chosen_wechat: bool) -> list[str]:
    """The gateways asked for: the chosen WeChat Pay version (in production) and any with a secret set."""
    chosen = f"wechat_{config.get('WECHAT_PAY_VERSION') or 'v3'}"
    intended = []
    for gateway, secrets in GATEWAY_SECRETS.items():
        if (require_chosen_wechat and gateway == chosen) or _secrets_set(config, secrets):
            intended.append(gateway)
    return intended


def gateway_setting_problems(config: Mapping[str, Any], require_chosen_wechat: bool) -> list[str]:
    """Every intended gateway's problems, and the secrets that are set but unusable (checked in every mode)."""
    version = config.get("WECHAT_PAY_VERSION") or "v3"
    if version not in WECHAT_PAY_VERSIONS:
        return [f"WECHAT_PAY_VERSION must be v3 or v2, not {version!r}"]
    problems = []
    for gateway in intended_gateways(config, require_chosen_wechat):
        problems.extend(_PROBLEMS[gateway](config))
    return problems + other_secret_problems(config)


def other_secret_problems(config: Mapping[str, Any]) -> list[str]:
    """Secrets outside the payment gateways that, once set, must be usable."""
    problems = []
    secret = config.get("WECHAT_SECRET")
    if secret not in (None, "") and len(str(secret).strip()) < WECHAT_SECRET_LENGTH:
        problems.append(f"WECHAT_SECRET must be the mini-program's {WECHAT_SECRET_LENGTH}-character AppSecret")
    token = config.get("METRICS_TOKEN")
    if token not in (None, "") and (len(str(token).strip()) < METRICS_TOKEN_MIN_LENGTH or token != token.strip()):
        problems.append(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN_LENGTH} characters without surrounding spaces "
            "(or unset: loopback only)"
        )
    return problems
