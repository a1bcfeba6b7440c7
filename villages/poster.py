"""Station poster codes: a mini-program code whose scene is the station id."""

import io
import logging

import qrcode
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from core.errors import UpstreamUnavailable
from core.extensions import db
from core.wechat import wechat_client, wechat_configured
from villages.models import Station, StationPosterCode

log = logging.getLogger(__name__)
STATION_PAGE = "pages/station/index"


_UNAVAILABLE = "小程序码暂时无法生成，请稍后再试"


def _from_wechat(scene: str) -> bytes:
    try:
        response = wechat_client().wxa.get_wxa_code_unlimited(scene, page=STATION_PAGE, width=430)
    except (WeChatClientException, OSError) as exc:
        log.warning("getwxacodeunlimit failed: %s", type(exc).__name__)
        raise UpstreamUnavailable(_UNAVAILABLE) from exc
    content = getattr(response, "content", b"")
    if not content.startswith(b"\x89PNG"):
        raise UpstreamUnavailable(_UNAVAILABLE)
    return content


def _sandbox_qr(scene: str) -> bytes:
    """A plain QR code carrying the same page and scene (no WeChat in the sandbox)."""
    image = qrcode.make(f"{STATION_PAGE}?scene={scene}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def poster_code_png(station: Station) -> bytes:
    """The station's code image, generated on the first call and kept."""
    cached = db.session.get(StationPosterCode, station.id)
    if cached is not None:
        return cached.png
    scene = str(station.id)  # WeChat allows at most 32 characters
    if wechat_configured():
        png = _from_wechat(scene)
    elif current_app.config["PAYMENT_SANDBOX"]:
        png = _sandbox_qr(scene)
    else:
        raise UpstreamUnavailable("未配置微信小程序，无法生成小程序码")
    db.session.add(StationPosterCode(station_id=station.id, png=png))
    db.session.flush()
    return png
