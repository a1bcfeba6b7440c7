"""Who the simulator believes the merchant is, and its own "Alipay" and "WeChat Pay" keys (SANDBOX-ONLY by default)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from payments.providers.alipay_adapter import pkcs1_private_key, spki_public_key
from payments.providers.wechat_v3 import pkcs8_private_key
from sandbox import credentials as sandbox_credentials
from sandbox.signing import load_private_key, load_public_key


@dataclass(frozen=True)
class SandboxSettings:
    wechat_appid: str
    wechat_secret: str
    mch_id: str
    mch_key: str
    alipay_app_id: str
    alipay_seller_id: str
    app_public_key: rsa.RSAPublicKey  # verifies the app's Alipay requests
    alipay_private_key: rsa.RSAPrivateKey  # signs the simulated Alipay's answers and notifications
    time_factor: float = 1.0
    # WeChat Pay API v3: the merchant's API key (verifies its requests) and serial, the APIv3 key,
    # and the simulated platform's key pair that signs answers and notifications, with its public key id.
    v3_merchant_public_key: rsa.RSAPublicKey | None = None
    v3_serial_no: str = sandbox_credentials.WECHAT_PAY_V3_SERIAL_NO
    apiv3_key: str = sandbox_credentials.WECHAT_PAY_V3_KEY
    v3_platform_private_key: rsa.RSAPrivateKey | None = None
    v3_public_key_id: str = sandbox_credentials.WECHAT_PAY_V3_PUBLIC_KEY_ID

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> "SandboxSettings":
        """From the app's settings (WECHAT_*, ALIPAY_*, SANDBOX_TIME_FACTOR), else the sandbox credentials."""
        config = config or {}
        creds = sandbox_credentials

        def get(name: str, default: str) -> str:
            return config.get(name) or default

        if config.get("ALIPAY_APP_PUBLIC_KEY"):
            app_public = load_public_key(spki_public_key(config["ALIPAY_APP_PUBLIC_KEY"]))
        else:
            private_pem = pkcs1_private_key(get("ALIPAY_APP_PRIVATE_KEY", creds.ALIPAY_APP_PRIVATE_KEY))
            app_public = load_private_key(private_pem).public_key()
        return cls(
            wechat_appid=get("WECHAT_APPID", creds.WECHAT_APPID),
            wechat_secret=get("WECHAT_SECRET", creds.WECHAT_SECRET),
            mch_id=get("WECHAT_PAY_MCH_ID", creds.WECHAT_PAY_MCH_ID),
            mch_key=get("WECHAT_PAY_API_KEY", creds.WECHAT_PAY_API_KEY),
            alipay_app_id=get("ALIPAY_APP_ID", creds.ALIPAY_APP_ID),
            alipay_seller_id=get("ALIPAY_SELLER_ID", creds.ALIPAY_SELLER_ID),
            app_public_key=app_public,
            alipay_private_key=load_private_key(get("SANDBOX_ALIPAY_PRIVATE_KEY", creds.ALIPAY_GATEWAY_PRIVATE_KEY)),
            time_factor=float(config.get("SANDBOX_TIME_FACTOR", 1.0)),
            v3_merchant_public_key=load_private_key(
                pkcs8_private_key(get("WECHAT_PAY_V3_PRIVATE_KEY", creds.WECHAT_PAY_V3_PRIVATE_KEY))
            ).public_key(),
            v3_serial_no=get("WECHAT_PAY_V3_SERIAL_NO", creds.WECHAT_PAY_V3_SERIAL_NO),
            apiv3_key=get("WECHAT_PAY_V3_KEY", creds.WECHAT_PAY_V3_KEY),
            v3_platform_private_key=load_private_key(
                pkcs8_private_key(
                    get("SANDBOX_WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY", creds.WECHAT_PAY_V3_PLATFORM_PRIVATE_KEY)
                )
            ),
            v3_public_key_id=get("WECHAT_PAY_V3_PUBLIC_KEY_ID", creds.WECHAT_PAY_V3_PUBLIC_KEY_ID),
        )
