"""Guessing is slowed per account and per address; the real user is delayed, never locked out."""

import time

import pytest

from core.db import utcnow
from tests import factories


def _login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def quick(app, monkeypatch):
    """Waits of one second, so the tests can sit them out."""
    monkeypatch.setitem(app.config, "THROTTLE_BASE_SECONDS", 1)


def test_the_real_user_gets_in_once_the_wait_has_passed(client, db, quick):
    factories.user(username="chen", password="peaches-2026")
    for _ in range(5):
        assert _login(client, "chen", "wrong").status_code == 401
    waiting = _login(client, "chen", "peaches-2026")
    assert waiting.status_code == 429
    assert waiting.json["error"]["details"]["retry_after_seconds"] >= 1
    time.sleep(1.1)
    assert _login(client, "chen", "peaches-2026").status_code == 200
    assert _login(client, "chen", "wrong").status_code == 401  # failures were forgiven by the success


def test_each_further_failure_doubles_the_wait(client, db, quick):
    factories.user(username="chen", password="peaches-2026")
    for _ in range(5):
        _login(client, "chen", "wrong")
    time.sleep(1.1)
    assert _login(client, "chen", "wrong").status_code == 401  # the sixth failure: wait 2 s now
    time.sleep(1.1)
    again = _login(client, "chen", "peaches-2026")
    assert again.status_code == 429
    time.sleep(1.0)
    assert _login(client, "chen", "peaches-2026").status_code == 200


def test_spraying_one_guess_over_many_usernames_from_one_address_is_slowed(client, db):
    factories.user(username="wang", password="peaches-2026")
    for n in range(20):
        assert _login(client, f"user{n}", "123456").status_code == 401
    assert _login(client, "wang", "peaches-2026").status_code == 429
    assert _login(client, "wang", "peaches-2026", address="10.0.0.2").status_code == 200


def test_a_second_wechat_account_does_not_start_bind_guesses_afresh(client, db):
    factories.station("430225100201")
    statuses = []
    for n in range(11):
        account = factories.user(("buyer", None), wechat_openid=f"openid-{n}-{utcnow().timestamp()}")
        response = client.post(
            "/api/v1/sellers/bind",
            headers=factories.auth_header(account),
            json={"bind_code": f"{n:06d}"},
            environ_base={"REMOTE_ADDR": "10.0.0.9"},
        )
        statuses.append(response.status_code)
    assert statuses == [422] * 10 + [429]
