"""银行代发: bank accounts recorded with consent, the upload file, the bank's result file applied once."""

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from core.extensions import db as _db
from payments.ledger.models import PayeeBankAccount, Payout
from tests.ledger_helpers import assert_books_balance, balances, paid_order, release_after_hold, ship_and_confirm

YANLING = "430225"
CARD = "6217 9955 1000 1234 567"
ACCOUNT = {"account_name": "李秀英", "account_no": CARD, "bank_name": "炎陵县农村商业银行霞阳支行", "consent": True}


def _released_sale(client, shop) -> None:
    order = paid_order(client, shop, [(shop["peach_5"], 1)])
    ship_and_confirm(client, shop, order["id"])
    assert release_after_hold() == 1


def _record_card(client, shop, who="peach_manager", **changes):
    seller = shop["peach_seller"]
    return client.put(f"/api/v1/sellers/{seller.id}/bank-account", headers=shop[who], json={**ACCOUNT, **changes})


def _batch(client, shop) -> dict:
    response = client.post("/api/v1/settlements/run", headers=shop["yanling_admin"], json={"county_code": YANLING})
    assert response.status_code == 201, response.json
    return response.json


def _export(client, shop, batch_id, fmt="csv"):
    return client.post(
        f"/api/v1/payout-batches/{batch_id}/bank-file", headers=shop["yanling_admin"], query_string={"format": fmt}
    )


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _result_file(rows: list[tuple[str, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["客户流水号", "收款人户名", "交易金额", "处理结果", "失败原因"])
    for reference, amount, status, reason in rows:
        writer.writerow([reference, "李秀英", amount, status, reason])
    return out.getvalue().encode("gb18030")  # the bank's own export, GBK as many Chinese banks write it


def _import(client, shop, batch_id, data: bytes, name="result.csv"):
    return client.post(
        f"/api/v1/payout-batches/{batch_id}/bank-results",
        headers=shop["yanling_admin"],
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _seller_payout(batch: dict, shop) -> dict:
    return next(p for p in batch["payouts"] if p["owner"] == f"seller:{shop['peach_seller'].id}")


def test_the_station_records_a_card_with_consent_encrypted_and_masked(client, ledger_shop):
    shop = ledger_shop
    refused = _record_card(client, shop, consent=False)
    assert refused.status_code == 422 and "consent" in refused.json["error"]["details"]
    recorded = _record_card(client, shop)
    assert recorded.status_code == 200, recorded.json
    assert recorded.json["account_no"] == "6217 **** **** 4567"
    stored = _db.session.scalar(sa.select(PayeeBankAccount))
    assert stored.account_no == "6217995510001234567"
    raw = _db.session.execute(sa.text("SELECT account_no FROM payee_bank_accounts")).scalar_one()
    assert "1234567" not in raw  # encrypted at rest
    # Changing where her money goes is the county's, not the station's.
    assert _record_card(client, shop, account_no="6222020000000000001").status_code == 403
    assert _record_card(client, shop, who="yanling_admin", account_no="6222020000000000001").status_code == 200
    assert _record_card(client, shop, who="garlic_manager").status_code == 404
    assert _record_card(client, shop, who="yanling_admin", account_no="6217-9955").status_code == 422


def test_a_seller_with_a_card_is_paid_by_the_bank_file_not_by_alipay(client, ledger_shop, alipay_sandbox_guard):
    shop = ledger_shop
    _released_sale(client, shop)
    assert _record_card(client, shop).status_code == 200
    batch = _batch(client, shop)
    payout = _seller_payout(batch, shop)
    assert (payout["method"], payout["status"], payout["amount_fen"]) == ("bank", "pending", 6256)
    assert payout["payee_account"] == "6217 **** **** 4567" and payout["bank_name"].startswith("炎陵县")
    assert alipay_sandbox_guard == []  # no Alipay transfer was attempted for a bank payout

    exported = _export(client, shop, batch["id"])
    assert exported.status_code == 200
    rows = _csv_rows(exported.data)
    assert rows[0] == ["序号", "收款人户名", "收款账号", "开户行", "金额（元）", "用途", "参考号"]
    assert rows[1] == [
        "1",
        "李秀英",
        "6217995510001234567",
        ACCOUNT["bank_name"],
        "62.56",
        "农产品货款",
        payout["out_biz_no"],
    ]
    # Exporting again gives the same lines; they are in transfer now.
    assert _csv_rows(_export(client, shop, batch["id"]).data)[1:] == rows[1:]
    assert _db.session.get(Payout, payout["id"]).status == "processing"
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 0)
    assert_books_balance()


def test_the_result_file_pays_fails_and_changes_nothing_the_second_time(client, ledger_shop, alipay_sandbox_guard):
    shop = ledger_shop
    _released_sale(client, shop)
    _record_card(client, shop)
    station = shop["peach_station"]
    card = {**ACCOUNT, "account_name": "霞阳村服务站", "account_no": "43001860061052500001"}
    assert (
        client.put(f"/api/v1/stations/{station.id}/bank-account", headers=shop["yanling_admin"], json=card).status_code
        == 200
    )
    batch = _batch(client, shop)
    seller_line, station_line = (
        _seller_payout(batch, shop),
        next(p for p in batch["payouts"] if p["owner"] == f"station:{station.id}"),
    )
    rows = _csv_rows(_export(client, shop, batch["id"]).data)
    assert [row[5] for row in rows[1:]] == ["农产品货款", "服务费"]

    result = _result_file(
        [
            (seller_line["out_biz_no"], "62.56", "成功", ""),
            (station_line["out_biz_no"], "3.40", "失败", "户名与账号不符"),
            ("PO-NOT-OURS", "1.00", "成功", ""),
        ]
    )
    first = _import(client, shop, batch["id"], result)
    assert first.status_code == 200, first.json
    assert (first.json["paid"], first.json["failed"], first.json["unchanged"], first.json["in_transfer"]) == (
        1,
        1,
        0,
        0,
    )
    assert [p["reference"] for p in first.json["problems"]] == ["PO-NOT-OURS"]
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 6256)
    assert balances("station", station.id) == (0, 340, 0)  # failed: back to available, with the bank's reason
    assert _db.session.get(Payout, station_line["id"]).failure_reason == "户名与账号不符"

    again = _import(client, shop, batch["id"], result)
    assert (again.json["paid"], again.json["failed"], again.json["unchanged"]) == (0, 0, 2)
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 6256)
    assert balances("station", station.id) == (0, 340, 0)
    assert_books_balance()

    # The failed line's money is paid again by the next batch once the account is put right.
    card["account_name"] = "炎陵县霞阳村服务站"
    assert (
        client.put(f"/api/v1/stations/{station.id}/bank-account", headers=shop["yanling_admin"], json=card).status_code
        == 200
    )
    retry = _batch(client, shop)
    assert [(p["owner"], p["amount_fen"], p["method"]) for p in retry["payouts"]] == [
        (f"station:{station.id}", 340, "bank")
    ]
    assert_books_balance()


def test_a_line_the_file_does_not_mention_stays_in_transfer_and_a_wrong_amount_changes_nothing(
    client, ledger_shop, alipay_sandbox_guard
):
    shop = ledger_shop
    _released_sale(client, shop)
    _record_card(client, shop)
    batch = _batch(client, shop)
    line = _seller_payout(batch, shop)
    unexported = _import(client, shop, batch["id"], _result_file([(line["out_biz_no"], "62.56", "成功", "")]))
    assert unexported.json["problems"][0]["problem"] == "该笔尚未导出代发文件"
    _export(client, shop, batch["id"], "xlsx")
    wrong = _import(client, shop, batch["id"], _result_file([(line["out_biz_no"], "62.55", "成功", "")]))
    assert wrong.json["paid"] == 0 and wrong.json["problems"][0]["problem"] == "金额与代发金额不符"
    silent = _import(client, shop, batch["id"], _result_file([]))
    assert silent.json["in_transfer"] == 1
    assert _db.session.get(Payout, line["id"]).status == "processing"
    assert_books_balance()


def test_the_upload_file_is_text_that_excel_neither_rounds_nor_runs(client, ledger_shop, alipay_sandbox_guard):
    shop = ledger_shop
    _released_sale(client, shop)
    _record_card(client, shop, account_name="=HYPERLINK(1)")
    batch = _batch(client, shop)
    book = load_workbook(io.BytesIO(_export(client, shop, batch["id"], "xlsx").data))
    header, line = list(book.active.iter_rows(values_only=True))[:2]
    assert header[2] == "收款账号"
    assert line[1] == "'=HYPERLINK(1)" and line[2] == "6217995510001234567" and line[4] == "62.56"
    assert all(cell.data_type == "s" for cell in next(book.active.iter_rows(min_row=2)))


def test_an_xlsx_result_file_and_an_unreadable_one(client, ledger_shop, alipay_sandbox_guard):
    shop = ledger_shop
    _released_sale(client, shop)
    _record_card(client, shop)
    batch = _batch(client, shop)
    line = _seller_payout(batch, shop)
    _export(client, shop, batch["id"])
    book = Workbook()
    book.active.append(["参考号", "金额", "状态", "失败原因"])
    book.active.append([line["out_biz_no"], 62.56, "交易成功", None])
    data = io.BytesIO()
    book.save(data)
    paid = _import(client, shop, batch["id"], data.getvalue(), "result.xlsx")
    assert paid.json["paid"] == 1, paid.json
    missing = _import(client, shop, batch["id"], "金额,状态\n1.00,成功\n".encode(), "x.csv")
    assert missing.status_code == 422 and "参考号" in missing.json["error"]["details"]["file"][0]
    assert _import(client, shop, batch["id"], b"\xff\xfe\x00garbage", "x.xlsx").status_code == 422


def test_only_the_county_of_the_batch_exports_or_imports(client, ledger_shop, alipay_sandbox_guard):
    shop = ledger_shop
    _released_sale(client, shop)
    _record_card(client, shop)
    batch = _batch(client, shop)
    for who, status in (("peach_manager", 403), ("buyer_header", 403)):
        response = client.post(f"/api/v1/payout-batches/{batch['id']}/bank-file", headers=shop[who])
        assert response.status_code == status


@pytest.fixture
def alipay_sandbox_guard(monkeypatch):
    """Records any Alipay transfer the run would send (a bank payout must send none)."""
    sent = []
    from payments.providers.alipay import AlipayProvider

    monkeypatch.setattr(AlipayProvider, "transfer", lambda self, *args, **kwargs: sent.append(args))
    return sent
