"""No log line of a whole walk through the demo carries a phone, ID-card or household number, or an address.

Every logger is turned to DEBUG (SQLAlchemy, urllib3, werkzeug and the
payment SDKs included) and the app's own log handler, switched to the JSON
lines production writes, writes into the test. The walk: ``flask demo seed``,
``flask demo walk`` (every channel, served on loopback, through the gateway
simulator), the failure paths (a wrong password, a phone typed as a username,
a body that is not JSON, a seller with an invalid ID number, forged and
tampered notifications), a refund, the payouts and the recovery jobs. The
personal values are read back from what the demo stored (every encrypted
column but names) plus what the walk sent; each is looked for as written and
in the other ways it could be printed (spaced, dashed, percent- or
JSON-escaped, the ID number's check letter in either case).
"""

import io
import json
import logging
import re
import time
import uuid
from urllib.parse import quote

import pytest
import requests
import sqlalchemy as sa

from core.logs import configure_logging
from core.pii import Encrypted
from demo.walk import ADDRESS as WALK_ADDRESS
from demo.walk import walk
from tests.villages.test_sellers import ID_CARD

SELLER = {
    "name": "谭满秀",
    "phone": "15973300012",
    "id_card_no": ID_CARD,
    "poor_household": True,
    "household_no": "4302250031",
    "payout_alipay_account": "15973300012",
}
BAD_ID_CARD = "110105194912310021"  # the check digit should be X


@pytest.fixture
def written_log(app):
    """What the app's log handler writes (JSON lines, as in production), every logger at DEBUG for the test.

    The handler is installed again here (migrations' logging config replaced it for the test run).
    """
    root = logging.getLogger()
    kept = list(root.handlers)
    loggers = [root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    levels = [(logger, logger.level, logger.disabled) for logger in loggers]
    configure_logging("json", "DEBUG")
    handler = next(h for h in root.handlers if h.get_name() == "zhuzhou")
    stream = io.StringIO()
    handler.setStream(stream)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for logger, level, disabled in levels:
            logger.setLevel(level)
            logger.disabled = disabled
        for other in kept:
            if other not in root.handlers:
                root.addHandler(other)


def _personal_values(db) -> set[str]:
    """Every phone, ID-card, household, account and address value the database holds (names aside)."""
    found = set()
    for mapper in db.Model.registry.mappers:
        for column in mapper.columns:
            if not isinstance(column.type, Encrypted) or column.type.purpose.endswith(".name"):
                continue
            for value in db.session.scalars(sa.select(column).where(column.is_not(None))):
                found |= _strings_in(value)
    return found


def _strings_in(value) -> set[str]:
    """A value, or the phones and addresses inside a stored JSON list (a unit's recipient list)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return {value}
    if isinstance(value, dict):
        return set().union(*(_strings_in(v) for k, v in value.items() if k not in ("name", "names")), set())
    if isinstance(value, list):
        return set().union(*(_strings_in(v) for v in value), set())
    return {value} if isinstance(value, str) and len(value) >= 6 else set()


def _variants(value: str) -> set[str]:
    """The ways a value could show up in a log line."""
    shown = {value, value.upper(), value.lower(), quote(value), json.dumps(value)[1:-1]}
    if value.isdigit() and len(value) == 11:  # a mobile number: 138 0000 0002, 138-0000-0002
        shown |= {f"{value[:3]}{sep}{value[3:7]}{sep}{value[7:]}" for sep in (" ", "-")}
    return shown


# Runs of digits, spaces and dashes (and an ID number's X) as a number could be printed in.
_DIGIT_RUN = re.compile(r"[0-9][0-9Xx \-]{7,}[0-9Xx]")
_NUMBER = re.compile(r"[0-9]{9,17}[0-9X]")


def _leaks(text: str, personal: set[str]) -> list[str]:
    """The personal values (in any of their variants) found in ``text``.

    Numbers are matched against every digit run of the text with its spaces and
    dashes taken out (one set lookup each, the log being large); other values
    (addresses, accounts) are searched for as they are.
    """
    numbers = {value.upper() for value in personal if _NUMBER.fullmatch(value.upper())}
    lengths = {len(value) for value in numbers}
    pieces = set()
    for run in set(_DIGIT_RUN.findall(text)):
        run = run.replace(" ", "").replace("-", "").upper()
        for length in lengths:
            pieces.update(run[i : i + length] for i in range(len(run) - length + 1))
    found = sorted(numbers & pieces)
    for value in sorted(personal - numbers):
        found += [variant for variant in sorted(_variants(value)) if variant in text]
    return found


def _api(base: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{base}/api/v1{path}", timeout=30, **kwargs)


def _token(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_no_log_line_of_the_demo_walk_carries_personal_data(written_log, app, db, gateway):
    from payments.models import Payment
    from villages.models import Station

    runner = app.test_cli_runner()
    seeded = runner.invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    base = app.config["PUBLIC_BASE_URL"]
    results = walk(base, gateway.base_url, echo=lambda _line: None, wait_seconds=0.2)
    gateway.deliver_due(time.time() + 3600)  # the notifications the walk did not wait for

    # Failure paths: a wrong password, a phone typed as the username, a body that is not JSON.
    assert (
        _api(base, "POST", "/auth/login", json={"username": "admin", "password": "wrong-password"}).status_code == 401
    )
    by_phone = _api(base, "POST", "/auth/login", json={"username": WALK_ADDRESS["phone"], "password": "x"})
    assert by_phone.status_code == 401
    admin = _token(_api(base, "POST", "/auth/login", json={"username": "admin", "password": "demo-admin-2026"}))
    buyer = _token(_api(base, "POST", "/auth/wechat-login", json={"code": "demo-walk-wechat"}))
    broken = _api(
        base, "POST", "/orders", headers={**buyer, "Content-Type": "application/json"},
        data=json.dumps({"items": [], "address": WALK_ADDRESS}, ensure_ascii=False)[:-3].encode(),
    )  # fmt: skip
    assert broken.status_code in (400, 422), broken.text
    invalid = _api(
        base, "POST", "/orders", headers=buyer, json={"items": [], "address": {**WALK_ADDRESS, "region_code": "9"}}
    )
    assert invalid.status_code == 422, invalid.text

    # A seller registered by the platform admin, once with an ID number that fails its check digit.
    station_id = db.session.scalar(sa.select(Station.id).order_by(Station.id))
    refused = _api(
        base, "POST", f"/stations/{station_id}/sellers", headers=admin, json={**SELLER, "id_card_no": BAD_ID_CARD}
    )
    assert refused.status_code == 422, refused.text
    registered = _api(base, "POST", f"/stations/{station_id}/sellers", headers=admin, json=SELLER)
    assert registered.status_code == 201, registered.text

    # Forged and tampered notifications for the walk's payments.
    for result in results:
        out_trade_no = db.session.scalar(sa.select(Payment.out_trade_no).where(Payment.order_id == result["order_id"]))
        for variant in ("forged", "duplicate"):
            gateway.send_variant(out_trade_no, variant)
    order = _api(base, "GET", f"/orders/{results[0]['order_id']}", headers=buyer).json()

    # A refund of the WeChat order: asked, approved, sent to the gateway, its notification delivered.
    asked = _api(
        base, "POST", "/refunds", headers={**buyer, "Idempotency-Key": uuid.uuid4().hex},
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "到货压坏了"},
    )  # fmt: skip
    assert asked.status_code == 201, asked.text
    decided = _api(base, "POST", f"/refunds/{asked.json()['id']}/decision", headers=admin, json={"decision": "approve"})
    assert decided.status_code == 200, decided.text
    gateway.deliver_due(time.time() + 3600)

    # What an operator runs next: the payouts the seed recorded, and the housekeeping jobs.
    for command in (["settlements", "retry-payouts"], ["payments", "sync", "--older-than", "0"], ["orders", "expire"]):
        ran = runner.invoke(args=command)
        assert ran.exit_code == 0, (command, ran.output)
    verified = runner.invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0, verified.output

    text = written_log.getvalue()  # before reading the personal values back (SQLAlchemy would log them)
    personal = _personal_values(db) | _strings_in(SELLER) | {BAD_ID_CARD, WALK_ADDRESS["phone"], WALK_ADDRESS["detail"]}
    assert text.count("\n") > 1000  # the walk was logged, SQL included
    leaks = _leaks(text, personal)
    examples = [line[:400] for leak in leaks[:5] for line in text.splitlines() if leak in line.replace(" ", "")][:5]
    assert leaks == [], f"{len(leaks)} personal values in the log, e.g. {examples}"
    secrets = [app.config[name] for name in ("WECHAT_SECRET", "WECHAT_PAY_API_KEY", "WECHAT_PAY_V3_KEY")]
    assert [secret for secret in secrets if secret in text] == []  # nor a credential sent in a query string
