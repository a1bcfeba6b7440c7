"""Every shipped line names its batch: defaults, explicit choices, shortfalls, where the batch shows."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.clock import beijing_today
from core.extensions import db as _db
from payments.models import ShippingUpload
from payments.shipping_info import shipping_payload
from shop.batches.models import Batch
from shop.orders.models import OrderLine
from tests.orders import pay, place
from tests.shop.batches.conftest import batch_body, record


def _paid(client, traced, items):
    order = place(client, traced, items)
    assert order.status_code == 201, order.json
    pay(order.json["id"])
    return order.json["id"]


def _ship(client, traced, order_id, lines=None, manager="peach_manager", station="peach_station"):
    body = {"station_id": traced[station].id, "carrier": "顺丰速运", "tracking_no": f"SF{order_id:010d}"}
    if lines is not None:
        body["lines"] = lines
    return client.post(f"/api/v1/orders/{order_id}/shipments", headers=traced[manager], json=body)


def _remaining(batch_id: int) -> int:
    return _db.session.scalar(sa.select(Batch.remaining_quantity).where(Batch.id == batch_id))


def test_lines_ship_from_the_oldest_open_batch_with_enough_units(client, traced):
    today = beijing_today()
    older = record(client, traced, quantity=2, harvested_on=today - timedelta(days=5))
    newer = record(client, traced, quantity=10, harvested_on=today - timedelta(days=1))
    order_id = _paid(client, traced, [(traced["peach_5"], 1), (traced["peach_10"], 3)])
    shipped = _ship(client, traced, order_id)
    assert shipped.status_code == 201, shipped.json
    by_sku = {line["sku_id"]: line["batch"] for line in shipped.json["lines"]}
    assert by_sku[traced["peach_5"].id]["id"] == older["id"]  # oldest, 2 left ≥ 1
    assert by_sku[traced["peach_10"].id]["id"] == newer["id"]  # the oldest has only 1 left after that
    assert by_sku[traced["peach_5"].id]["certificate_no"] == older["certificate"]["no"]
    assert by_sku[traced["peach_5"].id]["trace_code"] == older["trace_code"]
    assert (_remaining(older["id"]), _remaining(newer["id"])) == (1, 7)
    detail = client.get(f"/api/v1/orders/{order_id}", headers=traced["buyer_header"]).json
    assert {line["batch"]["id"] for line in detail["lines"]} == {older["id"], newer["id"]}
    label = client.get(f"/api/v1/orders/{order_id}/shipping-label", headers=traced["peach_manager"]).json
    assert {line["batch"]["trace_code"] for line in label["lines"]} == {older["trace_code"], newer["trace_code"]}
    upload = _db.session.scalar(sa.select(ShippingUpload))
    description = shipping_payload(upload)["shipping_list"][0]["item_desc"]
    assert f"炎陵黄桃×1（批次{older['trace_code']}）" in description
    assert f"炎陵黄桃×3（批次{newer['trace_code']}）" in description


def test_the_station_names_a_batch_or_none(client, traced):
    first = record(client, traced, quantity=5, harvested_on=beijing_today() - timedelta(days=3))
    second = record(client, traced, quantity=5)
    order_id = _paid(client, traced, [(traced["peach_5"], 2), (traced["peach_10"], 1)])
    lines = {
        line.sku_id: line.id for line in _db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id))
    }
    choice = [
        {"line_id": lines[traced["peach_5"].id], "batch_id": second["id"]},
        {"line_id": lines[traced["peach_10"].id], "batch_id": None},
    ]
    shipped = _ship(client, traced, order_id, choice)
    assert shipped.status_code == 201, shipped.json
    batches = {line["sku_id"]: line["batch"] for line in shipped.json["lines"]}
    assert batches[traced["peach_5"].id]["id"] == second["id"] and batches[traced["peach_10"].id] is None
    assert (_remaining(first["id"]), _remaining(second["id"])) == (5, 3)


@pytest.mark.parametrize("problem", ["other_product", "unknown", "foreign_line", "duplicate"])
def test_a_wrong_choice_is_422_and_ships_nothing(client, traced, problem):
    batch = record(client, traced)
    order_id = _paid(client, traced, [(traced["peach_5"], 1)])
    line_id = _db.session.scalar(sa.select(OrderLine.id).where(OrderLine.order_id == order_id))
    garlic = batch_body(traced["garlic"].product_id)
    garlic_batch = client.post("/api/v1/batches", headers=traced["garlic_manager"], json=garlic).json["id"]
    lines = {
        "other_product": [{"line_id": line_id, "batch_id": garlic_batch}],
        "unknown": [{"line_id": line_id, "batch_id": 999999}],
        "foreign_line": [{"line_id": line_id + 1000, "batch_id": batch["id"]}],
        "duplicate": [{"line_id": line_id, "batch_id": batch["id"]}, {"line_id": line_id, "batch_id": None}],
    }[problem]
    response = _ship(client, traced, order_id, lines)
    assert response.status_code == 422, response.json
    assert _db.session.get(OrderLine, line_id).status == "paid" and _remaining(batch["id"]) == 20


def test_not_enough_left_in_any_batch_is_409_and_changes_nothing(client, traced):
    small = record(client, traced, quantity=1)
    order_id = _paid(client, traced, [(traced["peach_5"], 2)])
    response = _ship(client, traced, order_id)
    assert response.status_code == 409 and response.json["error"]["code"] == "invalid_state"
    assert "批次剩余数量不足" in response.json["error"]["message"]
    line_id = _db.session.scalar(sa.select(OrderLine.id).where(OrderLine.order_id == order_id))
    explicit = _ship(client, traced, order_id, [{"line_id": line_id, "batch_id": small["id"]}])
    assert explicit.status_code == 409
    assert _remaining(small["id"]) == 1 and _db.session.get(OrderLine, line_id).status == "paid"
    # A closed or revoked batch is not shipped from; the station may ship the line without a batch.
    client.post(f"/api/v1/batches/{small['id']}/close", headers=traced["peach_manager"])
    assert _ship(client, traced, order_id, [{"line_id": line_id, "batch_id": small["id"]}]).status_code == 409
    shipped = _ship(client, traced, order_id)  # no open batch with units left: ships untraced
    assert shipped.status_code == 201 and shipped.json["lines"][0]["batch"] is None


def test_products_without_batches_ship_as_before(client, traced):
    order_id = _paid(client, traced, [(traced["garlic"], 2)])
    shipped = _ship(client, traced, order_id, manager="garlic_manager", station="garlic_station")
    assert shipped.status_code == 201 and shipped.json["lines"][0]["batch"] is None
