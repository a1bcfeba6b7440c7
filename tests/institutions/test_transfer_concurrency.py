"""Two county staff record one new bank serial against two orders at the same moment (PostgreSQL)."""

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

import institutions.transfers
from core.clock import beijing_today
from core.extensions import db as _db
from institutions.models import BankTransfer
from tests import factories
from tests.institutions.conftest import create_unit, credit_code, join, unit_order
from tests.institutions.test_bank_transfers import _receipt
from tests.orders import CHALING

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="concurrent sessions are tested on PostgreSQL (CI runs it)",
)


@pytest.fixture
def two_orders(app):
    """Two committed bank-transfer orders of one hospital and the Chaling county admin; tables emptied after."""
    with app.app_context():
        station = factories.station(CHALING, service_fee_bps=400)
        garlic = factories.product(station, title="茶陵大蒜", skus=(("2斤装", 3000, 50),)).skus[0]
        office = factories.auth_header(factories.user(("poverty_office", "4302")))
        admin = factories.auth_header(factories.user(("county_admin", "430224")))
        _db.session.commit()
        client = app.test_client()
        hospital = create_unit(
            client, office, name="株洲市中心医院", credit_code=credit_code("12430200444885428"), kind="budget_unit"
        )
        _, hospital_admin = join(client, office, hospital["id"], "admin")
        _, purchaser = join(client, hospital_admin, hospital["id"])
        orders = []
        for _ in range(2):
            placed = unit_order(client, purchaser, hospital["id"], [(garlic, 2)], "canteen", "bank_transfer")
            assert placed.status_code == 201, placed.json
            info = client.get(f"/api/v1/unit-orders/{placed.json['id']}", headers=purchaser).json
            orders.append((info["payment_reference"], placed.json["total_fen"]))
        _db.session.remove()
    yield {"orders": orders, "admin": admin}
    with app.app_context():
        _db.session.remove()
        tables = ", ".join(t.name for t in _db.metadata.sorted_tables if t.name != "categories")
        with _db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def test_one_new_serial_on_two_orders_at_once_gives_201_and_409(app, two_orders, monkeypatch):
    both_looked_up = threading.Barrier(2, timeout=10)
    process_image = institutions.transfers.process_image

    def after_the_lookup(data):  # both requests found no row with the serial before either inserts
        both_looked_up.wait()
        return process_image(data)

    monkeypatch.setattr(institutions.transfers, "process_image", after_the_lookup)

    def record(order):
        reference, total = order
        form = {
            "payment_reference": reference,
            "amount_fen": str(total),
            "payer_account_name": "株洲市中心医院",
            "bank_serial_no": "RACE-SER-0001",
            "received_on": beijing_today().isoformat(),
            "receipt": (io.BytesIO(_receipt()), "回单.png"),
        }
        with app.app_context():
            response = app.test_client().post(
                "/api/v1/bank-transfers", headers=two_orders["admin"], data=form, content_type="multipart/form-data"
            )
            _db.session.remove()
        return response.status_code, response.json

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(record, two_orders["orders"]))
    assert sorted(status for status, _ in answers) == [201, 409], answers
    ((_, loser),) = [answer for answer in answers if answer[0] == 409]
    assert loser["error"]["code"] == "invalid_state" and "bank_transfer_id" in loser["error"]["details"]
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(BankTransfer)) == 1
        _db.session.remove()
