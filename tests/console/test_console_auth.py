"""Console sign-in: session cookie, CSRF, the shared login-failure limit, idle expiry, sign-out, headers."""

import re
import time

import pytest

from tests import factories
from tests.console.conftest import csrf_token, sign_in


@pytest.fixture(autouse=True)
def _regions(db):
    factories.region("430225100201")


def _login(app, client, username, password, **extra):
    data = {"username": username, "password": password, "csrf_token": csrf_token(app, client), **extra}
    return client.post("/console/login", data=data)


def test_anonymous_visitor_is_sent_to_sign_in_with_the_page_to_return_to(client):
    response = client.get("/console/dashboard?region=430225")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=/console/dashboard?region%3D430225"


def test_sign_in_sets_an_http_only_same_site_session_and_lands_on_the_home_page(app, client, db):
    factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    page = client.get("/console/login")
    assert page.status_code == 200 and "工作台登录" in page.text
    response = _login(app, client, "chen", "right-password-1")
    assert response.status_code == 302 and response.headers["Location"] == "/console/dashboard"
    cookie = next(value for name, value in response.headers.items() if name == "Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development; production sets SESSION_COOKIE_SECURE
    assert client.get("/console/dashboard").status_code == 200


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(app, client, db):
    factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    response = _login(app, client, "chen", "right-password-1", next="//evil.example/console")
    assert response.headers["Location"] == "/console/dashboard"
    client.post("/console/logout", data={"csrf_token": csrf_token(app, client)})
    response = _login(app, client, "chen", "right-password-1", next="/console/dashboard/shortfalls")
    assert response.headers["Location"] == "/console/dashboard/shortfalls"


def test_production_marks_the_session_cookie_secure(monkeypatch):
    from core.config import ProductionConfig

    monkeypatch.setenv("APP_ENV", "production")
    assert ProductionConfig().SESSION_COOKIE_SECURE is True


def test_wrong_password_is_refused_with_the_services_message(app, client, db):
    factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    response = _login(app, client, "chen", "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/console/dashboard").status_code == 302


def test_buyers_cannot_sign_in_to_the_console(app, client, db):
    factories.user(("buyer", None), username="buyer1", password="right-password-1")
    response = _login(app, client, "buyer1", "right-password-1")
    assert response.status_code == 401 and "不是工作人员账号" in response.text


def test_sign_in_without_its_csrf_token_is_refused(client, db):
    factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    response = client.post("/console/login", data={"username": "chen", "password": "right-password-1"})
    assert response.status_code == 400 and "表单已失效" in response.text
    assert client.get("/console/dashboard").status_code == 302


def test_failures_slow_down_with_the_api_per_username(app, client, db):
    factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    for attempt in range(5):  # five free failures, shared by both sign-ins
        if attempt % 2:
            assert client.post("/api/v1/auth/login", json={"username": "chen", "password": "wrong"}).status_code == 401
        else:
            assert _login(app, client, "chen", f"wrong-{attempt}").status_code == 401
    waiting = _login(app, client, "chen", "right-password-1")
    assert waiting.status_code == 429 and "尝试次数过多" in waiting.text
    api = client.post("/api/v1/auth/login", json={"username": "chen", "password": "right-password-1"})
    assert api.status_code == 429
    assert client.get("/console/dashboard").status_code == 302


def test_an_idle_session_expires(app, client, db):
    user = factories.user(("county_admin", "430225"))
    sign_in(client, user)
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - app.config["CONSOLE_IDLE_MINUTES"] * 60 - 5
    response = client.get("/console/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    with client.session_transaction() as session:
        assert "staff_id" not in session


def test_the_idle_clock_restarts_on_each_request(app, client, db):
    user = factories.user(("county_admin", "430225"))
    sign_in(client, user)
    stale = int(time.time()) - app.config["CONSOLE_IDLE_MINUTES"] * 60 + 30
    with client.session_transaction() as session:
        session["seen"] = stale
    assert client.get("/console/dashboard").status_code == 200
    with client.session_transaction() as session:
        assert session["seen"] > stale


def test_sign_out_needs_its_token_and_ends_the_session(app, client, db):
    user = factories.user(("county_admin", "430225"))
    sign_in(client, user)
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/dashboard").status_code == 200
    response = client.post("/console/logout", data={"csrf_token": csrf_token(app, client)})
    assert response.status_code == 302
    assert client.get("/console/dashboard").status_code == 302


def test_revoking_a_users_tokens_ends_their_console_session(client, db):
    user = factories.user(("county_admin", "430225"))
    sign_in(client, user)
    user.token_version += 1
    db.session.commit()
    assert client.get("/console/dashboard").status_code == 302


def test_a_deactivated_account_loses_its_session(client, db):
    user = factories.user(("county_admin", "430225"))
    sign_in(client, user)
    user.is_active = False
    db.session.commit()
    assert client.get("/console/dashboard").status_code == 302


def test_the_json_api_needs_no_csrf_token_even_with_a_console_session(client, db):
    user = factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    sign_in(client, user)
    response = client.post("/api/v1/auth/login", json={"username": "chen", "password": "right-password-1"})
    assert response.status_code == 200 and response.json["token"]
    factories.region("430225100201")
    patched = client.patch(
        "/api/v1/villages/430225100201", json={"households": 300}, headers=factories.auth_header(user)
    )
    assert patched.status_code == 200


def test_pages_carry_a_strict_csp_and_no_inline_script(client, db):
    user = factories.user(("county_admin", "430225"))
    factories.region("430225100201")
    sign_in(client, user)
    for path in ("/console/login", "/console/dashboard"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "no-store" in response.headers["Cache-Control"]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text)
        assert not re.search(r"\son[a-z]+\s*=", response.text)
        assert not re.search(r"\sstyle\s*=", response.text)
        assert "http://" not in response.text.replace("http://localhost", "") and "https://" not in response.text


def test_static_files_are_served_from_the_app(client, db):
    response = client.get("/console/static/vendor/htmx.org-2.0.11/htmx.min.js")
    assert response.status_code == 200
    response.close()


@pytest.mark.parametrize(
    "target", ["/console/dashboard\r\nSet-Cookie: x=1", "/console/\x00", "/console/\x7f", "/console\t//evil.example/"]
)
def test_a_next_with_control_characters_shows_the_form_again(app, client, db, target):
    factories.user(("county_admin", "430225"), username="chen", password="right-password-1")
    page = client.get("/console/login", query_string={"next": target})
    assert page.status_code in (200, 422) and 'name="password"' in page.text and 'name="next"' not in page.text
    for password in ("wrong", "right-password-1"):
        response = _login(app, client, "chen", password, next=target)
        assert response.status_code in (400, 422) and 'name="password"' in response.text
        assert 'name="next"' not in response.text
    assert client.get("/console/dashboard").status_code == 302  # not signed in
