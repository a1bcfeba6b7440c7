"""WeChat login through real wechatpy against a loopback fake, staff login, tokens."""

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from core.extensions import db as _db
from core.models import User
from tests import factories
from tests.fakes import fake_wechat_api, serve


@pytest.fixture
def wechat(app, monkeypatch):
    """A fake WeChat API on loopback that the app is configured to use."""
    fake = fake_wechat_api(
        {
            "code-alice": {"openid": "openid-alice", "unionid": "union-alice"},
            "code-bob": {"openid": "openid-bob"},
        }
    )
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    with serve(fake) as base_url:
        monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", base_url)
        monkeypatch.setitem(app.config, "WECHAT_APPID", "wx-test")
        monkeypatch.setitem(app.config, "WECHAT_SECRET", "s3cret")
        fake.base_url = base_url
        yield fake


def test_wechat_login_creates_a_buyer_and_returns_tokens(client, wechat):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "code-alice"})
    assert response.status_code == 200
    body = response.json
    assert body["user"]["roles"] == ["buyer"]
    assert body["token"] and body["refresh_token"]
    assert body["expires_in"] == 7200
    user = _db.session.get(User, body["user"]["id"])
    assert (user.wechat_openid, user.wechat_unionid) == ("openid-alice", "union-alice")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json["id"] == user.id


def test_wechat_login_finds_the_same_user_again(client, wechat):
    first = client.post("/api/v1/auth/wechat-login", json={"code": "code-bob"}).json
    second = client.post("/api/v1/auth/wechat-login", json={"code": "code-bob"}).json
    assert first["user"]["id"] == second["user"]["id"]


def test_every_wechat_request_goes_to_the_configured_base(client, wechat, monkeypatch):
    sent = []
    original = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        sent.append(url)
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    assert client.post("/api/v1/auth/wechat-login", json={"code": "code-alice"}).status_code == 200
    assert sent and all(url.startswith(wechat.base_url) for url in sent), sent
    paths = [path for path, _ in wechat.requests]
    assert "/sns/jscode2session" in paths
    # wechatpy fetched its access token from the fake too, not the real host.
    assert "/cgi-bin/token" in paths
    code2session = next(args for path, args in wechat.requests if path == "/sns/jscode2session")
    assert code2session["access_token"] == "fake-access-token"


def test_wechat_client_never_names_the_real_host(app, wechat):
    from core.wechat import REAL_BASE, wechat_client

    with app.app_context():
        client = wechat_client()
    assert not client.API_BASE_URL.startswith(REAL_BASE)
    assert wechat.base_url == client.wxa.API_BASE_URL
    for name in dir(client):
        if name.startswith("__"):
            continue
        base = getattr(getattr(client, name, None), "API_BASE_URL", "")
        assert not str(base).startswith(REAL_BASE), name


def test_an_invalid_wechat_code_is_401(client, wechat):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "stale"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_unreachable_wechat_is_502(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", "http://127.0.0.1:9/")
    response = client.post("/api/v1/auth/wechat-login", json={"code": "code-alice"})
    assert response.status_code == 502
    assert response.json["error"]["code"] == "upstream_unavailable"


def test_staff_login_and_me(client, db):
    factories.region("430225")
    admin = factories.user(("county_admin", "430225"), username="chen", password="peaches-2026")
    response = client.post("/api/v1/auth/login", json={"username": "chen", "password": "peaches-2026"})
    assert response.status_code == 200
    assert response.json["user"] == {
        "id": admin.id,
        "roles": ["county_admin"],
        "display_name": admin.display_name,
        "username": "chen",
    }
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert me.json["scopes"] == [{"role": "county_admin", "region_code": "430225", "station_id": None}]


def test_passwords_are_stored_as_argon2_hashes(db):
    account = factories.user(password="peaches-2026")
    assert account.password_hash.startswith("$argon2id$")
    assert "peaches-2026" not in account.password_hash


@pytest.mark.parametrize("username", ["chen", "nobody"])
def test_wrong_credentials_are_401(client, db, username):
    factories.user(username="chen", password="peaches-2026")
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "wrong"})
    assert response.status_code == 401


def test_five_failures_then_429_for_that_username_only(client, db):
    factories.user(username="chen", password="peaches-2026")
    factories.user(username="wang", password="peaches-2026")
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json={"username": "chen", "password": "x"}).status_code == 401
    blocked = client.post("/api/v1/auth/login", json={"username": "chen", "password": "peaches-2026"})
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "rate_limited"
    other = client.post("/api/v1/auth/login", json={"username": "wang", "password": "peaches-2026"})
    assert other.status_code == 200


def test_successful_logins_do_not_count_towards_the_limit(client, db):
    factories.user(username="chen", password="peaches-2026")
    for _ in range(7):
        response = client.post("/api/v1/auth/login", json={"username": "chen", "password": "peaches-2026"})
        assert response.status_code == 200


def test_refresh_token_gives_a_new_access_token(client, db):
    factories.user(username="chen", password="peaches-2026")
    tokens = client.post("/api/v1/auth/login", json={"username": "chen", "password": "peaches-2026"}).json
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {refreshed.json['token']}"})
    assert me.status_code == 200
    # An access token is not a refresh token.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["token"]}).status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Basic abc", "Bearer ", "Token x"],
)
def test_bad_authorization_headers_are_401(client, db, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_expired_tokens_are_rejected(client, app, db, monkeypatch):
    account = factories.user()
    token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="access-token").dumps(
        {"uid": account.id, "ver": account.token_version}
    )
    monkeypatch.setitem(app.config, "ACCESS_TOKEN_SECONDS", -1)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_bumping_the_token_version_revokes_tokens(client, db):
    account = factories.user()
    header = factories.auth_header(account)
    account.token_version += 1
    db.session.commit()
    assert client.get("/api/v1/me", headers=header).status_code == 401


def test_deactivated_users_are_refused(client, db):
    account = factories.user(username="gone", password="peaches-2026")
    header = factories.auth_header(account)
    account.is_active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=header).status_code == 401
    login = client.post("/api/v1/auth/login", json={"username": "gone", "password": "peaches-2026"})
    assert login.status_code == 401
