"""Every console route: sign-in first, the CSRF token on every state change, each area for its roles only."""

import re

import pytest

from console.menus import MENU
from tests import factories
from tests.console.conftest import csrf_token

PUBLIC = {
    "console.not_found",
    "console.static",
    "console.auth.login_page",
    "console.auth.login",
    "console.auth.logout",
    "console.dashboard.home",
}


def _console_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")]


def _path(rule) -> str:
    """The rule with every argument filled in (ids 1, codes of the test city, actions that exist)."""
    values = {}
    for argument in rule.arguments:
        if argument == "action":
            values[argument] = "suspend"
        elif argument == "code":
            values[argument] = "430225100201"
        elif argument == "slug":
            values[argument] = "fruit"
        else:
            values[argument] = 1
    return rule.build(values)[1]


def test_every_route_but_sign_in_needs_a_signed_in_member(app, client, db):
    for rule in _console_rules(app):
        if rule.endpoint in PUBLIC:
            continue
        path = _path(rule)
        if "GET" in rule.methods:
            response = client.get(path)
            assert response.status_code == 302 and response.headers["Location"].startswith("/console/login"), path
        if "POST" in rule.methods:
            refused = client.post(path)
            assert refused.status_code == 400, path  # no CSRF token: refused before anything else
            response = client.post(path, data={"csrf_token": csrf_token(app, client)})
            assert response.status_code == 302 and response.headers["Location"].startswith("/console/login"), path


def test_every_state_change_needs_the_csrf_token_even_when_signed_in(app, staff, as_user):
    client = as_user(staff["platform"])
    posts = [rule for rule in _console_rules(app) if "POST" in rule.methods and rule.endpoint != "console.auth.login"]
    assert len(posts) > 25
    for rule in posts:
        response = client.post(_path(rule), data={"name": "x"})
        assert response.status_code == 400 and "表单已失效" in response.text, rule.rule


@pytest.mark.parametrize("who", ["liu", "office", "yanling"])
def test_each_role_is_kept_out_of_the_areas_not_in_its_menu(app, staff, as_user, post, who):
    user = staff[who]
    client = as_user(user)
    allowed_areas = {item.area for item in MENU if user.has_role(*item.roles)}
    checked = 0
    for rule in _console_rules(app):
        area = rule.endpoint.rsplit(".", 1)[0]
        if rule.endpoint in PUBLIC or area in allowed_areas or area == "console":
            continue
        if "GET" in rule.methods:
            assert client.get(_path(rule)).status_code == 403, rule.rule
        else:
            assert post(_path(rule)).status_code == 403, rule.rule
        checked += 1
    assert checked > 10


def test_the_front_door_sends_each_member_to_their_first_area(staff, as_user, client):
    assert client.get("/console/").headers["Location"] == "/console/login"
    assert as_user(staff["liu"]).get("/console/").headers["Location"] == "/console/station/"
    assert as_user(staff["office"]).get("/console/").headers["Location"] == "/console/dashboard"


def test_no_console_page_has_inline_script_or_style(staff, as_user):
    client = as_user(staff["platform"])
    factories.worker("430225100201")
    for path in (
        "/console/dashboard",
        "/console/stations/",
        "/console/stations/villages/430225100201",
        f"/console/stations/{staff['peach_station'].id}",
        "/console/review/",
        "/console/orders/",
        "/console/settlement/?county=430225",
        "/console/reports/",
        "/console/admin/",
    ):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\s(on[a-z]+|style)\s*=", html), path


def test_an_unknown_console_address_is_the_consoles_404_page(client, db):
    response = client.get("/console/no-such-page")
    assert response.status_code == 404 and "页面或记录不存在" in response.text
    assert response.headers["Content-Type"].startswith("text/html")
