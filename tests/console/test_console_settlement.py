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


def test_bank_payouts_are_downloaded_and_their_result_file_imported(db, client, ledger_shop, post):
    """银行代发 in the console: the batch page offers the upload file, then takes the bank's result file."""
    import io

    from payments.ledger.models import PayeeBankAccount

    _released_sale(client, ledger_shop)
    db.session.add(
        PayeeBankAccount(
            party_type="seller",
            party_id=ledger_shop["peach_seller"].id,
            account_name="李秀英",
            account_no="6217995510001234567",
            bank_name="炎陵县农村商业银行霞阳支行",
            consented_at=factories.utcnow(),
        )
    )
    db.session.commit()
    sign_in(client, _yanling(ledger_shop))
    started = post("/console/settlement/run", {"county_code": "430225"})
    batch_url = started.headers["Location"].split("?")[0]
    page = client.get(batch_url).text
    assert "农产品货款" in page and "下载代发文件（Excel）" in page and "6217 **** **** 4567" in page
    assert "转账进行中" not in page  # nothing to poll: the bank line waits for the result file

    exported = post(batch_url + "/bank-file", {"format": "csv"})
    assert exported.status_code == 200 and exported.headers["Content-Disposition"].endswith('.csv"')
    reference = exported.data.decode("utf-8-sig").splitlines()[1].split(",")[-1]
    result = f"参考号,金额,状态,失败原因\n{reference},62.56,成功,\nPO-UNKNOWN,1.00,成功,\n".encode()
    imported = post(batch_url + "/bank-results", {"file": (io.BytesIO(result), "回单.csv")})
    assert imported.status_code == 200
    assert "银行回单已导入：1 笔成功" in imported.text and "第 3 行（PO-UNKNOWN）" in imported.text
    assert owner_balances("seller", ledger_shop["peach_seller"].id)["paid_out_fen"] == 6256
    refused = post(batch_url + "/bank-results", {"file": (io.BytesIO(b"x,y\n1,2\n"), "bad.csv")})
    assert refused.status_code == 422 and "回单文件缺少列" in refused.text
