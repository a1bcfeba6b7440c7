"""Buying as a unit: the issue's scenario, union welfare deliveries, recipient lists, documents."""

import io
from datetime import timedelta

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from core.db import utcnow
from core.extensions import db as _db
from institutions.cli import units_cli
from institutions.models import UnitDelivery, UnitOrder
from payments.ledger.verify import verify_ledger
from shop.orders.models import Order, Shipment
from tests.institutions.conftest import recipients, unit_order
from tests.institutions.test_bank_transfers import record
from tests.orders import pay
from villages.models import PiiAccess


def _ship_all(client, units, order_id: int) -> None:
    """Each station ships one parcel per recipient, in two batches."""
    listing = client.get(f"/api/v1/orders/{order_id}/deliveries", headers=units["zhao_header"]).json["items"]
    for station_key, manager_key in (("peach_station", "peach_manager"), ("garlic_station", "garlic_manager")):
        station_id = units[station_key].id
        mine = [d for d in listing if any(line["station_id"] == station_id for line in d["lines"])]
        for batch in (mine[:20], mine[20:]):
            if not batch:
                continue
            parcels = [
                {"delivery_id": d["id"], "carrier": "中国邮政", "tracking_no": f"YZ{station_id}{d['seq']:06d}"}
                for d in batch
            ]
            shipped = client.post(
                f"/api/v1/orders/{order_id}/deliveries/shipments",
                headers=units[manager_key],
                json={"station_id": station_id, "parcels": parcels},
            )
            assert shipped.status_code == 201, shipped.json


def test_the_issue_scenario(client, units):
    """A unit is set up; its purchaser orders for the canteen paid by transfer and a union welfare gift to
    fifty recipients paid by WeChat; stations ship; everything completes and the books balance."""
    hospital, union = units["hospital"]["id"], units["union"]["id"]
    assert (
        client.put(
            f"/api/v1/units/{hospital}/targets/2026",
            headers=units["hospital_admin"],
            json={"canteen_budget_fen": 50_000_000, "ratio_bps": 1500},
        ).json["target_fen"]
        == 7_500_000
    )

    canteen = unit_order(
        client,
        units["zhao_header"],
        hospital,
        [(units["garlic"], 20), (units["peach_10"], 2)],
        "canteen",
        "bank_transfer",
    )
    assert canteen.status_code == 201, canteen.json
    assert canteen.json["status"] == "pending_payment" and canteen.json["total_fen"] == 20 * 3000 + 2 * 12800
    info = client.get(f"/api/v1/unit-orders/{canteen.json['id']}", headers=units["zhao_header"]).json
    assert info["payment_method"] == "bank_transfer" and info["payment_reference"] == f"ZZDW{canteen.json['id']:08d}"
    order = _db.session.get(Order, canteen.json["id"])
    assert order.expires_at - utcnow() > timedelta(days=14)  # the due date is the deadline
    paid = record(client, units, info["payment_reference"], canteen.json["total_fen"], "SN-CANTEEN-0001")
    assert paid.status_code == 201 and paid.json["status"] == "applied"
    assert _db.session.get(Order, canteen.json["id"]).status == "paid"
    assert _db.session.get(Order, canteen.json["id"]).paid_channel == "bank_transfer"

    units["peach_5"].stock = 100
    _db.session.commit()
    welfare = unit_order(
        client,
        units["zhao_header"],
        union,
        [(units["peach_5"], 1), (units["tofu"], 2)],
        "union_welfare",
        recipients=recipients(50),
    )
    assert welfare.status_code == 201, welfare.json
    welfare_id = welfare.json["id"]
    assert welfare.json["total_fen"] == 50 * (6800 + 2 * 2500)
    assert len(welfare.json["lines"]) == 100
    _db.session.refresh(units["peach_5"])
    _db.session.refresh(units["tofu"])
    assert (units["peach_5"].stock, units["tofu"].stock) == (50, 0)
    pay(welfare_id, "wechat_jsapi")
    assert _db.session.get(Order, welfare_id).status == "paid"

    # Shipping the whole welfare order as one parcel is refused: it ships per recipient.
    one_parcel = client.post(
        f"/api/v1/orders/{welfare_id}/shipments",
        headers=units["peach_manager"],
        json={"station_id": units["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF0000000001"},
    )
    assert one_parcel.status_code == 409
    _ship_all(client, units, welfare_id)
    assert _db.session.get(Order, welfare_id).status == "shipped"
    assert (
        _db.session.scalar(sa.select(sa.func.count()).select_from(Shipment).where(Shipment.order_id == welfare_id))
        == 100
    )

    listing = client.get(f"/api/v1/orders/{welfare_id}/deliveries", headers=units["zhao_header"]).json
    assert listing["counts"] == {"shipped": 50}
    first = listing["items"][0]
    assert first["name"] == "职****" and first["phone"] == "139****0001"  # masked
    ids = [d["id"] for d in listing["items"]]
    part = client.post(
        f"/api/v1/orders/{welfare_id}/deliveries/receipts",
        headers=units["zhao_header"],
        json={"delivery_ids": ids[:30]},
    )
    assert part.status_code == 200 and part.json["counts"] == {"completed": 30, "shipped": 20}
    assert part.json["order_status"] == "shipped"
    again = client.post(
        f"/api/v1/orders/{welfare_id}/deliveries/receipts", headers=units["zhao_header"], json={"delivery_ids": ids[:1]}
    )
    assert again.status_code == 409
    rest = client.post(
        f"/api/v1/orders/{welfare_id}/deliveries/receipts",
        headers=units["zhao_header"],
        json={"delivery_ids": ids[30:]},
    )
    assert rest.json["counts"] == {"completed": 50} and rest.json["order_status"] == "completed"
    assert _db.session.get(Order, welfare_id).completed_at is not None

    # The canteen order ships the ordinary way and is received.
    for key, manager in (("garlic_station", "garlic_manager"), ("peach_station", "peach_manager")):
        body = {"station_id": units[key].id, "carrier": "顺丰速运", "tracking_no": f"SF{units[key].id:010d}"}
        assert (
            client.post(f"/api/v1/orders/{canteen.json['id']}/shipments", headers=units[manager], json=body).status_code
            == 201
        )
    assert (
        client.post(f"/api/v1/orders/{canteen.json['id']}/confirm-receipt", headers=units["zhao_header"]).status_code
        == 200
    )

    report = client.get("/api/v1/reports/units", headers=units["office"], query_string={"year": utcnow().year}).json
    by_unit = {row["unit_id"]: row for row in report["rows"]}
    assert by_unit[hospital]["canteen_poverty_fen"] == 20 * 3000 + 2 * 12800
    assert by_unit[hospital]["target"]["counted_fen"] == 85_600
    assert by_unit[hospital]["target"]["share_bps"] == 85_600 * 10000 // 7_500_000
    assert by_unit[union]["union_welfare_fen"] == 50 * 11800
    assert by_unit[union]["union_welfare_poverty_fen"] == 50 * 6800
    assert verify_ledger() == []


def test_welfare_recipients_are_encrypted_masked_and_labels_audited(client, units):
    created = unit_order(
        client,
        units["zhao_header"],
        units["union"]["id"],
        [(units["peach_5"], 1)],
        "union_welfare",
        recipients=recipients(3),
    )
    order_id = created.json["id"]
    raw = _db.session.execute(
        sa.text("SELECT name, phone, detail FROM unit_deliveries WHERE order_id = :o"), {"o": order_id}
    ).all()
    assert len(raw) == 3 and all(value.startswith("sm4gcm:") for row in raw for value in row)
    pay(order_id)
    station = units["peach_station"].id
    outsider = client.get(
        f"/api/v1/orders/{order_id}/deliveries/labels",
        headers=units["garlic_manager"],
        query_string={"station_id": station},
    )
    assert outsider.status_code == 403
    labels = client.get(
        f"/api/v1/orders/{order_id}/deliveries/labels",
        headers=units["peach_manager"],
        query_string={"station_id": station},
    )
    assert labels.status_code == 200
    assert [label["phone"] for label in labels.json] == ["13900000001", "13900000002", "13900000003"]
    audit = _db.session.scalars(
        sa.select(PiiAccess).where(PiiAccess.subject_id == order_id, PiiAccess.fields == "recipients")
    ).all()
    assert len(audit) == 1
    # The garlic station has no lines in this order: it sees nothing.
    assert client.get(f"/api/v1/orders/{order_id}/deliveries", headers=units["garlic_manager"]).status_code == 404


def test_bad_unit_orders_are_refused_and_take_no_stock(client, units):
    stock = units["peach_5"].stock
    cases = [
        ({"buyer_unit_id": units["school"]["id"]}, "buyer_unit_id"),  # not her unit
        ({"buyer_unit_id": units["hospital"]["id"], "purpose": "union_welfare"}, "purpose"),  # not a union
        ({"buyer_unit_id": units["union"]["id"], "purpose": "canteen"}, "purpose"),
        ({"buyer_unit_id": units["union"]["id"], "purpose": "union_welfare"}, "recipients"),  # nobody to send to
        ({"buyer_unit_id": units["hospital"]["id"], "payment_method": "cash"}, "payment_method"),
        ({"buyer_unit_id": units["hospital"]["id"], "recipients": recipients(2)}, "recipients"),
    ]
    for extra, field in cases:
        body = {"items": [{"sku_id": units["peach_5"].id, "quantity": 1}], "address": {**recipients(1)[0]}, **extra}
        response = client.post("/api/v1/orders", headers=units["zhao_header"], json=body)
        assert response.status_code == 422, (extra, response.json)
        assert field in response.json["error"]["details"], (extra, response.json)
    bad_rows = recipients(3)
    bad_rows[1]["phone"] = "12345"
    union = units["union"]["id"]
    response = unit_order(
        client, units["zhao_header"], union, [(units["peach_5"], 1)], "union_welfare", recipients=bad_rows
    )
    assert response.status_code == 422
    assert set(response.json["error"]["details"]["recipients"]) == {"1"}  # the request schema's own check
    bad_rows = recipients(3)
    bad_rows[1]["region_code"] = "999999"
    bad_rows[2]["region_code"] = "4399"
    response = unit_order(
        client,
        units["zhao_header"],
        units["union"]["id"],
        [(units["peach_5"], 1)],
        "union_welfare",
        recipients=bad_rows,
    )
    assert response.status_code == 422
    assert response.json["error"]["details"]["recipients"] == {
        "1": {"region_code": ["地区代码不存在"]},
        "2": {"region_code": ["地区代码不存在"]},
    }
    too_many = unit_order(
        client,
        units["zhao_header"],
        units["union"]["id"],
        [(units["peach_5"], 1)],
        "union_welfare",
        recipients=recipients(11),
    )
    assert too_many.status_code == 409 and too_many.json["error"]["code"] == "out_of_stock"
    _db.session.expire_all()
    assert units["peach_5"].stock == stock
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(UnitOrder)) == 0


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_recipient_lists_from_xlsx_and_csv(client, units):
    union = units["union"]["id"]
    rows = [["姓名", "手机", "地区代码", "详细地址"]] + [
        [r["name"], r["phone"], r["region_code"], r["detail"]] for r in recipients(4)
    ]
    uploaded = client.post(
        f"/api/v1/units/{union}/recipient-lists",
        headers=units["zhao_header"],
        data={"file": (io.BytesIO(_xlsx(rows)), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["count"] == 4 and uploaded.json["recipients"][0] == {
        "name": "职****",
        "phone": "139****0001",
        "region_code": "4302",
    }
    csv_text = (
        "姓名,手机,地区代码,详细地址\n"
        "李四,13700000001,4302,株洲市荷塘区某路2号\n"
        "王五,13700000002,4302,株洲市石峰区某路3号\n"
    )
    from_csv = client.post(
        f"/api/v1/units/{union}/recipient-lists",
        headers=units["zhao_header"],
        data={"file": (io.BytesIO(csv_text.encode("gb18030")), "list.csv")},
        content_type="multipart/form-data",
    )
    assert from_csv.status_code == 201 and from_csv.json["count"] == 2
    bad = client.post(
        f"/api/v1/units/{union}/recipient-lists",
        headers=units["zhao_header"],
        data={"file": (io.BytesIO(b"name,phone\nx,1\n"), "list.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "file" in bad.json["error"]["details"]
    bad_row = client.post(
        f"/api/v1/units/{union}/recipient-lists",
        headers=units["zhao_header"],
        data={"file": (io.BytesIO(_xlsx([*rows[:3], ["赵六", "110", "4302", "某地址"]])), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    assert bad_row.json["error"]["details"]["file"] == {"4": {"phone": ["手机号格式不正确"]}}
    placed = unit_order(
        client,
        units["zhao_header"],
        union,
        [(units["garlic"], 1)],
        "union_welfare",
        recipient_list_id=uploaded.json["id"],
    )
    assert placed.status_code == 201
    deliveries = _db.session.scalars(sa.select(UnitDelivery).where(UnitDelivery.order_id == placed.json["id"])).all()
    assert [d.phone for d in deliveries] == ["13900000001", "13900000002", "13900000003", "13900000004"]
    other = client.post(
        f"/api/v1/units/{units['hospital']['id']}/recipient-lists",
        headers=units["zhao_header"],
        data={"file": (io.BytesIO(_xlsx(rows)), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    assert other.status_code == 422  # only trade unions send welfare gifts


def test_recipients_confirm_themselves_after_the_auto_confirm_days(app, client, units):
    created = unit_order(
        client,
        units["zhao_header"],
        units["union"]["id"],
        [(units["peach_5"], 1)],
        "union_welfare",
        recipients=recipients(2),
    )
    order_id = created.json["id"]
    pay(order_id)
    listing = client.get(f"/api/v1/orders/{order_id}/deliveries", headers=units["zhao_header"]).json["items"]
    station = units["peach_station"].id
    client.post(
        f"/api/v1/orders/{order_id}/deliveries/shipments",
        headers=units["peach_manager"],
        json={
            "station_id": station,
            "parcels": [{"delivery_id": listing[0]["id"], "carrier": "邮政", "tracking_no": "YZ000001"}],
        },
    )
    shipment = _db.session.scalar(sa.select(Shipment).where(Shipment.order_id == order_id))
    shipment.shipped_at = utcnow() - timedelta(days=8)
    _db.session.commit()
    result = app.test_cli_runner().invoke(units_cli, ["auto-confirm-deliveries"])
    assert result.exit_code == 0, result.output
    statuses = [
        d["status"]
        for d in client.get(f"/api/v1/orders/{order_id}/deliveries", headers=units["zhao_header"]).json["items"]
    ]
    assert statuses == ["completed", "paid"]
    assert _db.session.get(Order, order_id).status == "paid"


def test_settlement_statement_and_purchases_export(client, units):
    hospital = units["hospital"]["id"]
    client.put(
        f"/api/v1/units/{hospital}/invoice-info",
        headers=units["hospital_admin"],
        json={
            "title": "株洲市中心医院",
            "tax_id": units["hospital"]["credit_code"],
            "address": "株洲市芦淞区",
            "phone": "0731-12345678",
            "bank_name": "中国工商银行株洲分行",
            "bank_account": "19030000000000000",
        },
    )
    created = unit_order(client, units["zhao_header"], hospital, [(units["garlic"], 3), (units["tofu"], 2)])
    pay(created.json["id"])
    document = client.get(f"/api/v1/orders/{created.json['id']}/settlement-statement", headers=units["zhao_header"])
    assert document.status_code == 200 and document.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(document.data)).active
    cells = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert cells["统一社会信用代码"][0] == units["hospital"]["credit_code"]
    assert cells["纳税人识别号"][0] == units["hospital"]["credit_code"]
    assert float(cells["结算金额（元）"][0]) == 140.0
    assert float(cells["其中帮扶产品（元）"][0]) == 90.0
    assert cells["帮扶产品产地县"][0].startswith("测试county430224")
    # The county centre selling the lines may read it; another unit may not.
    assert (
        client.get(
            f"/api/v1/orders/{created.json['id']}/settlement-statement", headers=units["chaling_admin"]
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/orders/{created.json['id']}/settlement-statement", headers=units["school_admin"]
        ).status_code
        == 404
    )
    export = client.get(
        f"/api/v1/units/{hospital}/purchases/export",
        headers=units["hospital_admin"],
        query_string={"year": utcnow().year},
    )
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "订单编号" and len(rows) == 3
    assert sorted(float(row[9]) for row in rows[1:]) == [50.0, 90.0]
    bad = client.get(
        f"/api/v1/units/{hospital}/purchases/export",
        headers=units["hospital_admin"],
        query_string={"year": 2026, "period": "2026-01"},
    )
    assert bad.status_code == 422


def test_unit_orders_are_not_held_to_the_private_buyers_unpaid_caps(app, client, units, monkeypatch):
    monkeypatch.setitem(app.config, "UNPAID_UNITS_PER_SKU", 30)
    monkeypatch.setitem(app.config, "UNPAID_ORDERS_PER_BUYER", 1)
    big = unit_order(
        client, units["zhao_header"], units["hospital"]["id"], [(units["garlic"], 40)], "canteen", "bank_transfer"
    )
    assert big.status_code == 201, big.json
    second = unit_order(client, units["zhao_header"], units["hospital"]["id"], [(units["garlic"], 5)])
    assert second.status_code == 201, second.json
    private = client.post(
        "/api/v1/orders",
        headers=units["zhao_header"],
        json={"items": [{"sku_id": units["garlic"].id, "quantity": 40}], "address": recipients(1)[0]},
    )
    assert private.status_code == 409  # the shop's caps still hold for her own purchases


def test_the_selling_station_reads_the_settlement_statement_of_its_lines(client, units):
    from tests import factories
    from tests.orders import CHALING, YANLING

    created = unit_order(client, units["zhao_header"], units["hospital"]["id"], [(units["garlic"], 1)])
    assert created.status_code == 201, created.json
    path = f"/api/v1/orders/{created.json['id']}/settlement-statement"
    garlic_station = units["garlic"].product.station
    selling = factories.auth_header(factories.user(("station_manager", CHALING, garlic_station.id)))
    assert client.get(path, headers=selling).status_code == 200
    other = factories.station(YANLING)
    outsider = factories.auth_header(factories.user(("station_manager", YANLING, other.id)))
    assert client.get(path, headers=outsider).status_code == 404


def test_names_and_invoice_fields_are_written_as_text_never_as_formulas(client, units):
    hospital = units["hospital"]["id"]
    tricks = {"title": '=HYPERLINK("http://evil.example","点击")', "address": "+1+cmd|' /C calc'!A0"}
    info = client.put(
        f"/api/v1/units/{hospital}/invoice-info",
        headers=units["hospital_admin"],
        json={
            **tricks,
            "tax_id": units["hospital"]["credit_code"],
            "phone": "0731-12345678",
            "bank_name": "@SUM(1+1)",
            "bank_account": "19030000000000000",
        },
    )
    assert info.status_code == 200, info.json
    garlic = units["garlic"]
    garlic.name, garlic.product.title = "@SUM(A1)", "=1+1"
    _db.session.commit()
    created = unit_order(client, units["zhao_header"], hospital, [(garlic, 1)])
    pay(created.json["id"])
    documents = [
        client.get(f"/api/v1/orders/{created.json['id']}/settlement-statement", headers=units["zhao_header"]),
        client.get(
            f"/api/v1/units/{hospital}/purchases/export",
            headers=units["hospital_admin"],
            query_string={"year": utcnow().year},
        ),
        client.get(
            f"/api/v1/units/{hospital}/statement",
            headers=units["hospital_admin"],
            query_string={"year": utcnow().year},
        ),
    ]
    texts = set()
    for document in documents:
        assert document.status_code == 200
        for sheet in load_workbook(io.BytesIO(document.data)).worksheets:
            for row in sheet.iter_rows():
                assert [cell.coordinate for cell in row if cell.data_type == "f"] == []
                texts.update(cell.value for cell in row if isinstance(cell.value, str))
    assert {"=1+1", tricks["title"], "@SUM(A1)"} <= {part for text in texts for part in (text, *text.split(" "))}
