"""`flask demo walk` against the app and the simulator, both on loopback."""

import pytest

from demo.walk import walk


@pytest.mark.parametrize("gateway", ["v3", "v2"], indirect=True)  # WeChat Pay API v3 (the demo default) and v2
def test_the_walk_pays_with_every_channel(app, shop, gateway):
    lines = []
    results = walk(app.config["PUBLIC_BASE_URL"], gateway.base_url, echo=lines.append, wait_seconds=0.5)
    assert [r["channel"] for r in results] == ["wechat_jsapi", "alipay_wap", "alipay_mini"]
    assert all(r["outcome"].startswith("paid") for r in results)
    assert len(lines) == 3
