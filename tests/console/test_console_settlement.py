"""结算: balances per party, the payout batch with its self-refreshing status, failed transfers and the retry."""

import sqlalchemy as sa

from payments.ledger.models import Payout
from payments.ledger.queries import owner_balances
from tests import factories
from tests.console.conftest import sign_in
from tests.ledger_helpers import paid_order, release_after_hold, ship_and_confirm


def _released_sale(client, shop, quantity=1):
    order = paid_order(client, shop, [(shop["peach_5"], quantity)])
    ship_and_confirm(client, shop, order["id"])
    assert release_after_hold() == 1


def _yanling(shop):
    return factories.user(("county_admin", "430225"))


def test_balances_match_the_ledger_for_every_party(client, ledger_shop):
    _released_sale(client, ledger_shop)
    paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])  # paid, still pending
    sign_in(client, _yanling(ledger_shop))
    html = client.get("/console/settlement/").text
    seller = ledger_shop["peach_seller"]
    expected = owner_balances("seller", seller.id)
    station = owner_balances("station", ledger_shop["peach_station"].id)
    assert expected["available_fen"] > 0 and expected["pending_fen"] > 0
    from console.filters import money

    assert money(expected["available_fen"]) in html and money(station["pending_fen"]) in html
    assert "未设置，打款时跳过" in html  # the station has no payout account yet


def test_a_batch_runs_in_the_background_and_its_status_stops_refreshing_when_done(
    db, client, ledger_shop, alipay_sandbox, app, post
):
    _released_sale(client, ledger_shop)
    sign_in(client, _yanling(ledger_shop))
    started = post("/console/settlement/run", {"county_code": "430225"})
    assert started.status_code == 302
    page = client.get(started.headers["Location"])
    assert page.status_code == 200 and "打款批次" in page.text
    status = client.get(started.headers["Location"].split("?")[0] + "/status", headers={"HX-Request": "true"})
    assert "data-batch-finished" in status.text and "hx-trigger" not in status.text
    assert "已到账" in status.text and "139****0001" in status.text
    statuses = db.session.scalars(sa.select(Payout.status)).all()
    assert statuses and set(statuses) == {"success"}


def test_a_running_batch_keeps_polling(db, client, ledger_shop, post):
    _released_sale(client, ledger_shop)  # no gateway reachable: the transfer stays unfinished
    sign_in(client, _yanling(ledger_shop))
    started = post("/console/settlement/run", {"county_code": "430225"})
    page = client.get(started.headers["Location"]).text
    assert 'hx-trigger="every 2s"' in page and "转账进行中" in page


def test_failed_transfers_show_the_reason_and_a_new_batch_pays_them(db, client, ledger_shop, alipay_sandbox, post):
    ledger_shop["peach_seller"].payout_alipay_account = "invalid@example.com"
    db.session.commit()
    _released_sale(client, ledger_shop)
    sign_in(client, _yanling(ledger_shop))
    post("/console/settlement/run", {"county_code": "430225"})
    failed = client.get("/console/settlement/payouts?county=430225").text
    assert "PAYEE_NOT_EXIST" in failed and "重新打款" in failed
    ledger_shop["peach_seller"].payout_alipay_account = "13900000001"
    db.session.commit()
    assert post("/console/settlement/run", {"county_code": "430225"}).status_code == 302
    seller = db.session.scalars(sa.select(Payout.status).where(Payout.party_type == "seller").order_by(Payout.id)).all()
    assert seller == ["failed", "success"]


def test_another_county_cannot_be_settled(db, client, ledger_shop, post):
    sign_in(client, _yanling(ledger_shop))
    assert client.get("/console/settlement/?county=430224").status_code == 403
    refused = post("/console/settlement/run", {"county_code": "430224"})
    assert refused.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Payout)) == 0
