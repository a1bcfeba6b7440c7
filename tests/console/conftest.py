"""Console test helpers: signed-in clients and CSRF tokens (the Flask test client), plus the browser fixtures."""

import secrets
import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.console.browser import browser, live_server, open_console  # noqa: F401 - fixtures


def csrf_token(app, client) -> str:
    """The CSRF token a console page would carry for this client's session."""
    with client.session_transaction() as session:
        session.setdefault("csrf_token", secrets.token_hex(20))
        raw = session["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def sign_in(client, user) -> None:
    """A console session for ``user``, as the sign-in form would leave it."""
    with client.session_transaction() as session:
        session.clear()
        session["staff_id"] = user.id
        session["staff_ver"] = user.token_version
        session["seen"] = int(time.time())


@pytest.fixture
def post(app, client):
    """``post(path, data)``: a console form submission with its CSRF token."""

    def submit(path: str, data: dict | None = None, **kwargs):
        return client.post(path, data={**(data or {}), "csrf_token": csrf_token(app, client)}, **kwargs)

    return submit


@pytest.fixture
def staff(shop):
    """Staff of the order tests' shop (炎陵 and 茶陵 stations), one account per console role."""
    from tests import factories
    from tests.orders import CHALING, YANLING

    return {
        **shop,
        "yanling": factories.user(("county_admin", "430225"), display_name="陈主任"),
        "chaling": factories.user(("county_admin", "430224")),
        "office": factories.user(("poverty_office", "4302"), display_name="王科长"),
        "platform": factories.user(("platform_admin", None)),
        "liu": factories.user(("station_manager", YANLING, shop["peach_station"].id), display_name="刘站长"),
        "garlic_liu": factories.user(("station_manager", CHALING, shop["garlic_station"].id)),
    }


@pytest.fixture
def as_user(client):
    """``as_user(user)`` signs the test client in to the console."""

    def signer(user):
        sign_in(client, user)
        return client

    return signer


@pytest.fixture
def alipay_sandbox(app_on_sandbox):
    """The Alipay gateway simulator behind the app (payouts succeed or fail as Alipay would)."""
    return app_on_sandbox
