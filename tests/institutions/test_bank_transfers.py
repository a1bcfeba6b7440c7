"""对公转账: exact, short, excess, late and repeated transfers, and the money they move."""

import io
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image

from core.clock import beijing_today
from core.db import utcnow
from core.extensions import db as _db
from institutions.models import BankTransfer
from payments.ledger.models import LedgerAccount, LedgerEntry
from payments.ledger.verify import verify_ledger
from payments.models import Payment
from shop.orders.fulfilment import expire_overdue_orders
from shop.orders.models import Order
from tests.institutions.conftest import unit_order


def _receipt() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 220, 240)).save(buffer, "PNG")
    return buffer.getvalue()


def record(client, units, reference: str, amount_fen: int, serial: str, header=None, received_on=None):
    form = {
        "payment_reference": reference,
        "amount_fen": str(amount_fen),
        "payer_account_name": "株洲市中心医院",
        "bank_serial_no": serial,
        "received_on": (received_on or beijing_today()).isoformat(),
        "receipt": (io.BytesIO(_receipt()), "回单.png"),
    }
    return client.post(
        "/api/v1/bank-transfers",
        headers=header or units["chaling_admin"],
        data=form,
        content_type="multipart/form-data",
    )


def _balance(owner_type: str, bucket: str) -> int:
    return _db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.owner_type == owner_type, LedgerAccount.bucket == bucket)
    )


def _party_credits() -> int:
    return _db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.owner_type.in_(("seller", "station", "centre")))
    )


def _transfer_order(client, units, quantity: int = 10):
    created = unit_order(
        client, units["zhao_header"], units["hospital"]["id"], [(units["garlic"], quantity)], "canteen", "bank_transfer"
    )
    assert created.status_code == 201, created.json
    info = client.get(f"/api/v1/unit-orders/{created.json['id']}", headers=units["zhao_header"]).json
    return created.json["id"], info["payment_reference"], created.json["total_fen"]


def test_the_receipt_is_read_through_its_endpoint_by_the_recording_county_only(client, units):
    _, reference, total = _transfer_order(client, units)
    recorded = record(client, units, reference, total, "ICBC20261130000099").json
    url = f"/api/v1/bank-transfers/{recorded['id']}/receipt"
    assert recorded["receipt_image_url"] == "http://127.0.0.1:5000" + url
    with client.get(url, headers=units["chaling_admin"]) as receipt:
        assert receipt.status_code == 200 and receipt.mimetype == "image/jpeg"
        assert receipt.headers["Cache-Control"] == "private, no-cache"
        assert Image.open(io.BytesIO(receipt.data)).size == (40, 30)
    assert client.get(url).status_code == 401
    assert client.get(url, headers=units["yanling_admin"]).status_code == 404  # another county's transfer
    assert client.get(url, headers=units["zhao_header"]).status_code == 403  # a unit purchaser is not a recorder
    key = _db.session.get(BankTransfer, recorded["id"]).receipt_image_key
    assert key.startswith("transfers/") and client.get(f"/media/{key}").status_code == 404


def test_exact_transfer_pays_the_order_with_the_ledger_split(client, units):
    order_id, reference, total = _transfer_order(client, units)
    response = record(client, units, reference, total, "ICBC20261130000001")
    assert response.status_code == 201, response.json
    assert response.json | {"receipt_image_url": None} == response.json | {
        "status": "applied",
        "applied_fen": total,
        "held_fen": 0,
        "returned_fen": 0,
        "receipt_image_url": None,
    }
    order = _db.session.get(Order, order_id)
    assert order.status == "paid" and order.paid_channel == "bank_transfer"
    payment = _db.session.scalar(sa.select(Payment).where(Payment.order_id == order_id))
    assert (payment.status, payment.channel, payment.amount_fen, payment.transaction_id) == (
        "paid",
        "bank_transfer",
        total,
        "ICBC20261130000001",
    )
    assert _party_credits() == total  # seller + station + centre, split as for any payment
    assert _balance("gateway", "bank_transfer") == -total
    assert _balance("suspense", "bank_transfer") == 0
    assert verify_ledger() == []


def test_recorded_twice_changes_nothing_and_a_reused_serial_is_refused(client, units):
    order_id, reference, total = _transfer_order(client, units)
    first = record(client, units, reference, total, "ICBC20261130000002")
    second = record(client, units, reference, total, "ICBC20261130000002")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(BankTransfer)) == 1
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Payment).where(Payment.order_id == order_id)) == 1
    assert _party_credits() == total
    clash = record(client, units, reference, total - 1, "ICBC20261130000002")
    assert clash.status_code == 409
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(BankTransfer)) == 1
    assert verify_ledger() == []


def test_short_transfer_is_held_until_the_rest_arrives(client, units):
    order_id, reference, total = _transfer_order(client, units)
    short = record(client, units, reference, total - 5000, "CCB0000000000001")
    assert (
        short.json["status"] == "held"
        and short.json["hold_reason"] == "short"
        and short.json["held_fen"] == total - 5000
    )
    assert _db.session.get(Order, order_id).status == "pending_payment"
    assert _balance("suspense", "bank_transfer") == total - 5000
    assert _party_credits() == 0
    rest = record(client, units, reference, 5000, "CCB0000000000002")
    assert rest.json["status"] == "applied"
    assert _db.session.get(Order, order_id).status == "paid"
    first = _db.session.get(BankTransfer, short.json["id"])
    assert (first.status, first.applied_fen, first.held_fen) == ("applied", total - 5000, 0)
    assert _balance("suspense", "bank_transfer") == 0
    assert _party_credits() == total
    assert verify_ledger() == []


def test_excess_is_held_in_suspense_until_returned(client, units):
    order_id, reference, total = _transfer_order(client, units)
    excess = record(client, units, reference, total + 1234, "BOC0000000000001")
    assert excess.json["status"] == "held" and excess.json["hold_reason"] == "excess"
    assert (excess.json["applied_fen"], excess.json["held_fen"]) == (total, 1234)
    assert _db.session.get(Order, order_id).status == "paid"
    assert _balance("suspense", "bank_transfer") == 1234
    held = client.get("/api/v1/bank-transfers", headers=units["chaling_admin"], query_string={"status": "held"})
    assert [t["id"] for t in held.json["items"]] == [excess.json["id"]]
    other_county = client.post(
        f"/api/v1/bank-transfers/{excess.json['id']}/return",
        headers=units["yanling_admin"],
        json={"return_serial_no": "RET0000000001"},
    )
    assert other_county.status_code == 403  # the order has no Yanling lines
    returned = client.post(
        f"/api/v1/bank-transfers/{excess.json['id']}/return",
        headers=units["chaling_admin"],
        json={"return_serial_no": "RET0000000001"},
    )
    assert returned.status_code == 200 and returned.json["status"] == "returned"
    assert (returned.json["applied_fen"], returned.json["held_fen"], returned.json["returned_fen"]) == (total, 0, 1234)
    again = client.post(
        f"/api/v1/bank-transfers/{excess.json['id']}/return",
        headers=units["chaling_admin"],
        json={"return_serial_no": "RET0000000001"},
    )
    assert again.status_code == 200
    assert _balance("suspense", "bank_transfer") == 0
    assert _balance("gateway", "bank_transfer") == -total
    assert _party_credits() == total
    assert verify_ledger() == []


def test_unpaid_past_due_is_cancelled_stock_released_and_a_late_transfer_held(client, units):
    stock = units["garlic"].stock
    order_id, reference, total = _transfer_order(client, units, quantity=7)
    _db.session.refresh(units["garlic"])
    assert units["garlic"].stock == stock - 7
    order = _db.session.get(Order, order_id)
    assert expire_overdue_orders(utcnow() + timedelta(days=14)) == 0  # well within the due date
    assert expire_overdue_orders(order.expires_at + timedelta(seconds=1)) == 1
    _db.session.commit()
    _db.session.refresh(units["garlic"])
    assert units["garlic"].stock == stock
    assert _db.session.get(Order, order_id).status == "cancelled"
    late = record(client, units, reference, total, "ABC0000000000001")
    assert late.status_code == 201
    assert late.json["status"] == "held" and late.json["hold_reason"] == "late" and late.json["held_fen"] == total
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Payment).where(Payment.order_id == order_id)) == 0
    assert _party_credits() == 0
    assert _balance("suspense", "bank_transfer") == total
    client.post(
        f"/api/v1/bank-transfers/{late.json['id']}/return",
        headers=units["platform"],
        json={"return_serial_no": "RET0000000002"},
    )
    assert _balance("suspense", "bank_transfer") == 0
    assert verify_ledger() == []


def test_transfers_are_checked_before_anything_is_recorded(client, units):
    order_id, reference, total = _transfer_order(client, units)
    online = unit_order(client, units["zhao_header"], units["hospital"]["id"], [(units["garlic"], 1)])
    assert online.status_code == 201
    cases = [
        (record(client, units, "ZZDW99999999", total, "X000000001"), 422),
        (record(client, units, reference, total, "X000000002", header=units["yanling_admin"]), 403),
        (record(client, units, reference, total, "X000000003", header=units["zhao_header"]), 403),
        (record(client, units, reference, 0, "X000000004"), 422),
        (record(client, units, reference, total, "X000000005", received_on=beijing_today() + timedelta(days=2)), 422),
    ]
    assert [response.status_code for response, _ in cases] == [expected for _, expected in cases]
    anonymous = client.post("/api/v1/bank-transfers", data={})
    assert anonymous.status_code == 401
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(BankTransfer)) == 0
    assert _db.session.get(Order, order_id).status == "pending_payment"


def test_statement_lists_what_is_owed_with_the_payee_account(app, client, units, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_TRANSFER_PAYEE_NAME", "株洲市农村电商公共服务中心")
    monkeypatch.setitem(app.config, "BANK_TRANSFER_PAYEE_ACCOUNT", "43050000000000000001")
    order_id, reference, total = _transfer_order(client, units)
    paid_id, paid_reference, paid_total = _transfer_order(client, units, quantity=2)
    record(client, units, paid_reference, paid_total, "STMT000000001")
    today = beijing_today()
    from openpyxl import load_workbook

    response = client.get(
        f"/api/v1/units/{units['hospital']['id']}/statement",
        headers=units["zhao_header"],
        query_string={"period": today.strftime("%Y-%m")},
    )
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    values = {row[0]: row for row in rows if row and row[0] is not None}
    assert values["收款单位"][1] == "株洲市农村电商公共服务中心"
    assert values["银行账号"][1] == "43050000000000000001"
    assert values[order_id][1] == reference and float(values[order_id][5]) == total / 100
    assert values[paid_id][3] == "对公转账" and float(values[paid_id][7]) == paid_total / 100
    assert values["STMT000000001"][3] is not None


def test_a_refund_of_a_transfer_paid_order_is_sent_back_by_the_centre(app, client, units):
    order_id, reference, total = _transfer_order(client, units, quantity=4)
    record(client, units, reference, total, "REFUNDCASE000001")
    line_id = _db.session.get(Order, order_id).lines[0].id
    asked = client.post(
        "/api/v1/refunds",
        headers=units["zhao_header"],
        json={"order_id": order_id, "line_ids": [line_id], "reason": "食堂多订了"},
    )
    assert asked.status_code == 201, asked.json
    decided = client.post(
        f"/api/v1/refunds/{asked.json['id']}/decision", headers=units["garlic_manager"], json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.json
    # No gateway to call: the refund waits for the centre, and the retry job leaves it alone.
    from payments.cli import payments_cli

    assert app.test_cli_runner().invoke(payments_cli, ["retry-refunds"]).exit_code == 0
    pending = client.get(
        "/api/v1/bank-transfers/refunds", headers=units["chaling_admin"], query_string={"status": "pending"}
    )
    assert [(r["order_id"], r["amount_fen"]) for r in pending.json["items"]] == [(order_id, total)]
    refund_id = pending.json["items"][0]["id"]
    assert _party_credits() == total
    elsewhere = client.post(
        f"/api/v1/bank-transfers/refunds/{refund_id}/sent",
        headers=units["yanling_admin"],
        json={"bank_serial_no": "BACK000000001"},
    )
    assert elsewhere.status_code == 403
    sent = client.post(
        f"/api/v1/bank-transfers/refunds/{refund_id}/sent",
        headers=units["chaling_admin"],
        json={"bank_serial_no": "BACK000000001"},
    )
    assert sent.status_code == 200 and sent.json["status"] == "success"
    again = client.post(
        f"/api/v1/bank-transfers/refunds/{refund_id}/sent",
        headers=units["chaling_admin"],
        json={"bank_serial_no": "BACK000000001"},
    )
    assert again.status_code == 200
    assert client.get(f"/api/v1/refunds/{asked.json['id']}", headers=units["zhao_header"]).json["status"] == "refunded"
    assert _db.session.get(Order, order_id).status == "refunded"
    assert _party_credits() == 0
    assert _balance("gateway", "bank_transfer") == 0
    assert verify_ledger() == []


def test_a_serial_with_a_trailing_newline_or_other_case_is_the_same_transfer(client, units):
    order_id, reference, total = _transfer_order(client, units, quantity=4)
    half = total // 2
    first = record(client, units, reference, half, "PROBE-SER-0001")
    assert first.status_code == 201 and first.json["hold_reason"] == "short"
    for variant in ("PROBE-SER-0001\n", " probe-ser-0001 ", "Probe-Ser-0001"):
        again = record(client, units, reference, half, variant)
        assert again.status_code == 200, (variant, again.json)
        assert again.json["id"] == first.json["id"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(BankTransfer)) == 1
    assert _db.session.get(Order, order_id).status == "pending_payment"
    assert _balance("suspense", "bank_transfer") == half
    inside = record(client, units, reference, half, "PROBE-SER-0001\nX")
    assert inside.status_code == 422 and "bank_serial_no" in inside.json["error"]["details"]


def test_return_and_refund_serials_are_matched_whole_and_normalised(client, units):
    _, reference, total = _transfer_order(client, units)
    excess = record(client, units, reference, total + 100, "ABC0000000000009").json
    url = f"/api/v1/bank-transfers/{excess['id']}/return"
    newline = client.post(url, headers=units["chaling_admin"], json={"return_serial_no": "RET0000000009\n"})
    assert newline.status_code == 200 and newline.json["return_serial_no"] == "RET0000000009"
    again = client.post(url, headers=units["chaling_admin"], json={"return_serial_no": "ret0000000009"})
    assert again.status_code == 200 and again.json["status"] == "returned"
    bad = client.post(url, headers=units["chaling_admin"], json={"return_serial_no": "RET0000000009\nRET"})
    assert bad.status_code == 422
    assert _balance("suspense", "bank_transfer") == 0
    assert verify_ledger() == []


def test_a_bank_transfer_order_cannot_be_paid_online(client, units):
    order_id, reference, _ = _transfer_order(client, units)
    for channel in ("wechat_jsapi", "alipay_mini"):
        refused = client.post(
            f"/api/v1/orders/{order_id}/payments", headers=units["zhao_header"], json={"channel": channel}
        )
        assert refused.status_code == 409, refused.json
        error = refused.json["error"]
        assert error["code"] == "invalid_state" and error["details"]["payment_method"] == "bank_transfer"
        assert error["details"]["payment_reference"] == reference
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Payment).where(Payment.order_id == order_id)) == 0
