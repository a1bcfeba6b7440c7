"""Browser fixtures: the demo city served by a real server process, and Chromium driven by Playwright.

The server is ``flask run`` in a subprocess on a free port (5140–5149 first), on a
SQLite database in a temporary directory, migrated and seeded with the demo city
(`flask demo seed`). Tests drive Debian's Chromium (``/usr/bin/chromium``,
``apt-get install chromium fonts-noto-cjk``); where it is missing they skip,
except under CI (``CI`` set), where they fail. Each test keeps a screenshot of
the page it ends on in ``tests/artifacts/`` and fails if any page logged a
JavaScript error or asked for anything outside the app's origin.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ports import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
PORTS = range(5140, 5150)
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_PASSWORDS = {
    "admin": "demo-admin-2026",
    "fupin": "demo-fupin-2026",
    "yanling": "demo-yanling-2026",
    "chaling": "demo-chaling-2026",
    "liu": "demo-liu-2026",
}
PHONE = {"width": 390, "height": 844}
# Waits allowed for a page or an element: CI machines are shared and can be slow.
SLOW_MACHINE_MS = 30_000
DESKTOP = {"width": 1366, "height": 900}


def _free_port() -> int:
    """A port of 5140–5149 if one is free, else any: claimed, so a parallel worker or run never shares it."""
    return free_port(preferred=PORTS)


def _chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    hint = f"{CHROMIUM} not found: apt-get install chromium fonts-noto-cjk to run the console browser tests"
    if os.environ.get("CI"):
        pytest.fail(hint)
    pytest.skip(hint)


def _flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def live_server():
    """The demo city served by `flask run` in a subprocess; yields its base URL."""
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the browser tests serve their own SQLite demo city: they run in the SQLite pass")
    _chromium_or_skip()
    workdir = Path(tempfile.mkdtemp(prefix="zz-console-"))
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL")},
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}",
        "UPLOAD_DIR": str(workdir / "uploads"),
        "SECRET_KEY": "console-browser-tests-secret-key-0123456789",
        "PAYMENT_SANDBOX": "1",
        # The seed pays the demo orders through a simulator it serves on this port for its duration
        # (its state in the work directory); afterwards nothing listens: gateway calls fail fast.
        "SANDBOX_URL": f"http://127.0.0.1:{_free_port()}",
        "SANDBOX_STATE_FILE": str(workdir / "sandbox-state.json"),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "seed")
    log = open(workdir / "server.log", "w")  # noqa: SIM115 - closed below, after the server stops
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310 - our own server
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / "server.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(live_server):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=SLOW_MACHINE_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose JavaScript errors and off-origin requests are collected."""

    def __init__(self, context, base: str):
        self.context = context
        self.base = base
        self.page = context.new_page()
        self.errors: list[str] = []
        self.foreign: list[str] = []
        # Pages that answer 403/400 on purpose make Chromium log "Failed to load resource"; a test says so.
        self.expected_statuses: set[int] = set()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("request", self._request)
        self.page.on("dialog", lambda dialog: dialog.accept())  # data-confirm forms ask first

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = message.text
        if any(f"status of {status}" in text for status in self.expected_statuses):
            return
        self.errors.append(f"console: {text} ({message.location.get('url')})")

    def _request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.base + "/") or url.startswith(("data:", "blob:"))):
            self.foreign.append(url)

    def url(self, path: str) -> str:
        return self.base + path

    def sign_in(self, username: str) -> None:
        page = self.page
        page.goto(self.url("/console/login"))
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORDS[username])
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()


@pytest.fixture
def open_console(browser, live_server, request):
    """``open_console(viewport=DESKTOP)`` → a Watched page in a fresh browser context."""
    opened: list[Watched] = []

    def opener(viewport: dict = DESKTOP, **context_args) -> Watched:
        context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True, **context_args)
        context.set_default_timeout(SLOW_MACHINE_MS)
        watched = Watched(context, live_server)
        opened.append(watched)
        return watched

    yield opener
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for index, watched in enumerate(opened):
        suffix = f"-{index}" if index else ""
        try:
            watched.page.screenshot(path=str(ARTIFACTS / f"{request.node.name}{suffix}.png"), full_page=True)
        finally:
            watched.context.close()
    problems = [problem for watched in opened for problem in watched.errors + watched.foreign]
    assert not problems, "console pages logged errors or left the origin:\n" + "\n".join(problems)
