"""The deployment guide publishes only what the app itself treats as public (shop/storage.py)."""

import re
from pathlib import Path

from shop.storage import PUBLIC_PREFIXES, is_public

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_nginx_serves_only_public_prefixes_under_media():
    text = DEPLOY.read_text(encoding="utf-8")
    served = re.findall(r"location /media/([\w-]+/)\s*\{(?![^}]*return 404)", text)
    assert served, "the guide shows how /media/ is served"
    assert [prefix for prefix in served if not is_public(prefix)] == []


def test_bucket_policy_is_public_read_on_public_prefixes_only():
    text = " ".join(DEPLOY.read_text(encoding="utf-8").split())
    policy = re.search(r"public-read policy on (.*?)(?:\(|$)", text)
    assert policy is not None
    named = re.findall(r"`([\w-]+/)\*`", policy.group(1))
    assert named and set(named) <= set(PUBLIC_PREFIXES)
