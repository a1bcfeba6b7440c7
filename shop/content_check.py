"""Content security check of listing text before it is stored.

With a configured mini-program the text goes to WeChat's ``msg_sec_check``
version 2 (wechatpy's ``check_text_security`` speaks version 1, so the request
is made through the API group's ``_post``, against ``WECHAT_API_BASE_URL``).
Without one (the sandbox) a local word list stands in.
"""

import functools
import logging
import re
import unicodedata
from pathlib import Path

from flask import current_app
from wechatpy.exceptions import WeChatClientException

from core.errors import UpstreamUnavailable, ValidationFailed
from core.models import User
from core.wechat import wechat_client, wechat_configured

log = logging.getLogger(__name__)

WORD_LIST = Path(__file__).resolve().parent / "data" / "blocked_words.txt"
FLAGGED_MESSAGE = "内容未通过安全检测（含违规信息），请修改后再提交"
# msg_sec_check v2 scenes: 1 资料 (profile-like content: a listing), 2 评论, 3 论坛, 4 社交日志.
SCENE_PROFILE = 1
# WeChat's code for risky content in the v1 answer, still sent by some deployments.
ERRCODE_RISKY = 87014
_IGNORED = re.compile(r"[\s\W_]+", re.UNICODE)


_UNAVAILABLE = "内容安全检测暂时不可用，请稍后再试"


def _normalise(text: str) -> str:
    """Full-width to half-width, lower case, without spaces and punctuation."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text).lower())


@functools.cache
def blocked_words() -> tuple[str, ...]:
    """The word list, normalised, read once."""
    lines = WORD_LIST.read_text(encoding="utf-8").splitlines()
    words = (_normalise(line) for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return tuple(sorted({word for word in words if word}))


def flagged_by_word_list(text: str) -> bool:
    """``text`` contains a listed word (ignoring spaces, punctuation, width and case)."""
    normalised = _normalise(text)
    return any(word in normalised for word in blocked_words())


def _openid_for(actor: User | None) -> str | None:
    return (actor.wechat_openid if actor else None) or current_app.config.get("WECHAT_SEC_CHECK_OPENID")


def wechat_verdict(text: str, openid: str) -> str:
    """WeChat's suggestion for ``text``: ``pass``, ``review`` or ``risky``."""
    try:
        answer = wechat_client().wxa._post(
            "wxa/msg_sec_check",
            data={"content": text, "version": 2, "scene": SCENE_PROFILE, "openid": openid},
        )
    except WeChatClientException as exc:
        if exc.errcode == ERRCODE_RISKY:
            return "risky"
        log.warning("msg_sec_check failed: errcode=%s", exc.errcode)
        raise UpstreamUnavailable(_UNAVAILABLE) from exc
    except OSError as exc:
        log.warning("msg_sec_check unreachable: %s", type(exc).__name__)
        raise UpstreamUnavailable(_UNAVAILABLE) from exc
    suggest = ((answer or {}).get("result") or {}).get("suggest")
    if suggest not in ("pass", "review", "risky"):
        log.warning("msg_sec_check gave no suggestion")
        raise UpstreamUnavailable(_UNAVAILABLE)
    return suggest


def check_listing_text(actor: User | None, texts: dict[str, str | None]) -> bool:
    """422 naming every field whose text is flagged; True when WeChat asks for a human look."""
    use_wechat = wechat_configured()
    openid = _openid_for(actor) if use_wechat else None
    if use_wechat and not openid:
        log.warning("msg_sec_check needs an openid (set WECHAT_SEC_CHECK_OPENID); using the word list")
    flagged, needs_review = {}, False
    for field, text in texts.items():
        if not text or not text.strip():
            continue
        if flagged_by_word_list(text):
            flagged[field] = [FLAGGED_MESSAGE]
        elif openid:
            verdict = wechat_verdict(text, openid)
            if verdict == "risky":
                flagged[field] = [FLAGGED_MESSAGE]
            needs_review = needs_review or verdict == "review"
    if flagged:
        raise ValidationFailed("内容未通过安全检测，请修改标注的字段", details=flagged)
    return needs_review
