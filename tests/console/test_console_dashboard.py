"""The dashboard: the role's region, this month against last, trend, comparison, policy targets."""

import html as markup
import json
import re

from tests import factories
from tests.ledger_helpers import paid_order


def _series(html: str, chart: str) -> dict:
    match = re.search(rf'data-chart="{chart}"\s+data-series="([^"]+)"', html)
    return json.loads(markup.unescape(match.group(1)))


def test_county_admin_sees_their_countys_month(client, staff, as_user):
    paid_order(client, staff, [(staff["peach_5"], 2)])  # 炎陵: 2 × ¥68.00
    paid_order(client, staff, [(staff["garlic"], 1)])  # 茶陵: not in 炎陵's figures
    page = as_user(staff["yanling"]).get("/console/dashboard")
    assert page.status_code == 200
    html = page.text
    assert "测试county430225 · " in html
    assert 'data-figure="gmv_fen">¥136.00<' in html
    assert 'data-figure="orders">1<' in html
    trend = _series(html, "trend")
    assert len(trend["months"]) == 12 and trend["gmv_fen"][-1] == 13600
    comparison = _series(html, "comparison")
    assert comparison["gmv_fen"] == [13600]  # the one township of the test county


def test_the_city_view_compares_counties(client, staff, as_user):
    paid_order(client, staff, [(staff["peach_5"], 1)])
    paid_order(client, staff, [(staff["garlic"], 2)])
    html = as_user(staff["office"]).get("/console/dashboard").text
    assert 'data-figure="gmv_fen">¥128.00<' in html  # 68.00 + 2 × 30.00
    comparison = _series(html, "comparison")
    assert sorted(comparison["gmv_fen"]) == [6000, 6800]


def test_policy_targets_link_to_their_shortfalls(client, staff, as_user):
    factories.worker("430225100201", "info_officer")
    html = as_user(staff["office"]).get("/console/dashboard?region=430225").text
    assert "有网络信息员的村" in html
    assert 'data-percent="100.0"' in html  # the only village has an information officer
    assert "/console/dashboard/shortfalls?region=430225&amp;target=ecommerce_talent" in html
    short = client.get("/console/dashboard/shortfalls?region=430225&target=ecommerce_talent")
    assert short.status_code == 200 and "430225100201" in short.text and "缺电商人才" in short.text
    none = client.get("/console/dashboard/shortfalls?region=430225&target=info_officer")
    assert "430225100201" not in none.text


def test_another_countys_dashboard_is_forbidden(staff, as_user):
    response = as_user(staff["yanling"]).get("/console/dashboard?region=430224")
    assert response.status_code == 403 and "没有权限" in response.text
    assert as_user(staff["yanling"]).get("/console/dashboard/shortfalls?region=430224").status_code == 403


def test_station_managers_have_no_dashboard(staff, as_user):
    client = as_user(staff["liu"])
    assert client.get("/console/dashboard").status_code == 403
    assert ">概览<" not in client.get("/console/dashboard").text


def test_menus_follow_the_role(staff, as_user):
    html = as_user(staff["yanling"]).get("/console/dashboard").text
    assert ">概览<" in html
    assert ">平台管理<" not in html
