"""wechatpy clients pinned to the configured WeChat API base URL.

wechatpy hard-codes ``https://api.weixin.qq.com/`` in several places (the
client's base, each API group's base and the access-token fetch). Every one is
rewritten here so that an overridden ``WECHAT_API_BASE_URL`` (the sandbox, a
test fake, an intranet proxy) receives every request and nothing leaves for
the real host.
"""

from flask import current_app
from wechatpy import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.session.memorystorage import MemoryStorage

from core.errors import UpstreamUnavailable
from core.gateway_settings import blank

REAL_BASE = "https://api.weixin.qq.com/"

_memory_storage = MemoryStorage()


class PinnedWeChatClient(WeChatClient):
    """A WeChatClient whose every URL starts with ``base_url``."""

    def __init__(self, appid, secret, base_url, session=None, timeout=10):
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.base_url = base_url.rstrip("/") + "/"
        self.API_BASE_URL = self.base_url + "cgi-bin/"
        for name in dir(self):
            endpoint = getattr(self, name, None)
            if isinstance(endpoint, BaseWeChatAPI):
                class_base = getattr(type(endpoint), "API_BASE_URL", "") or ""
                if class_base.startswith(REAL_BASE):
                    endpoint.API_BASE_URL = self.base_url + class_base[len(REAL_BASE) :]

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.base_url + "cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def _session_storage():
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        return _memory_storage
    import redis
    from wechatpy.session.redisstorage import RedisStorage

    return RedisStorage(redis.Redis.from_url(redis_url), prefix="wechatpy")


def wechat_client() -> PinnedWeChatClient:
    """A client for the mini-program configured in the current app (refused when its AppID or AppSecret is empty)."""
    config = current_app.config
    if blank(config.get("WECHAT_APPID")) or blank(config.get("WECHAT_SECRET")):
        raise UpstreamUnavailable("微信小程序未配置（WECHAT_APPID / WECHAT_SECRET）")
    return PinnedWeChatClient(
        config["WECHAT_APPID"],
        config["WECHAT_SECRET"],
        config["WECHAT_API_BASE_URL"],
        session=_session_storage(),
    )


def wechat_configured() -> bool:
    """Real mini-program credentials are set (otherwise the sandbox stands in)."""
    return bool(current_app.config.get("WECHAT_APPID") and current_app.config.get("WECHAT_SECRET"))
