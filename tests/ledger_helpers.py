"""Helpers of the settlement tests: complete orders, refund lines, read balances, check the books."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from payments.ledger.queries import owner_balances
from payments.ledger.tasks import release_all
from payments.ledger.verify import verify_ledger
from payments.models import GatewayRefund
from payments.providers import RefundResult
from payments.refunds import apply_refund_result
from shop.orders.models import Order, RefundRequest
from tests import factories
from tests.orders import pay, place
from tests.payments_fixtures import settings_for

MANAGERS = {"peach_station": "peach_manager", "garlic_station": "garlic_manager"}


@pytest.fixture
def app_on_sandbox(app, sandbox, monkeypatch):
    """The app's gateways pointed at the loopback simulator; yields the simulator."""
    settings = settings_for(sandbox.base_url)
    for name in ("ALIPAY_SERVER_URL", "WECHAT_PAY_BASE_URL", "WECHAT_API_BASE_URL"):
        monkeypatch.setitem(app.config, name, settings[name])
    return sandbox


@pytest.fixture
def ledger_shop(shop):
    """The order tests' shop plus a platform admin and sellers with Alipay payout accounts."""
    peach_seller = shop["peach_5"].product.seller
    garlic_seller = shop["garlic"].product.seller
    peach_seller.payout_alipay_account = "13900000001"
    garlic_seller.payout_alipay_account = "13900000002"
    _db.session.commit()
    platform = factories.user(("platform_admin", None))
    return {
        **shop,
        "platform": factories.auth_header(platform),
        "peach_seller": peach_seller,
        "garlic_seller": garlic_seller,
    }


def paid_order(client, shop, items, channel: str = "wechat_jsapi") -> dict:
    response = place(client, shop, items)
    assert response.status_code == 201, response.json
    pay(response.json["id"], channel)
    return response.json


def ship_and_confirm(client, shop, order_id: int) -> None:
    """Every station ships its lines, then the buyer confirms receipt."""
    order = _db.session.get(Order, order_id)
    for station_key, manager_key in MANAGERS.items():
        station_id = shop[station_key].id
        if any(line.station_id == station_id and line.status == "paid" for line in order.lines):
            body = {"station_id": station_id, "carrier": "顺丰速运", "tracking_no": f"SF{order_id:010d}"}
            shipped = client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop[manager_key], json=body)
            assert shipped.status_code in (200, 201), shipped.json
    done = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=shop["buyer_header"])
    assert done.status_code == 200, done.json


def refund_lines(client, shop, order_id: int, line_ids: list[int], decider: str = "platform") -> GatewayRefund:
    """Buyer asks, staff approve, the gateway confirms the refund (no gateway involved)."""
    asked = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order_id, "line_ids": line_ids, "reason": "到货压坏了"},
    )
    assert asked.status_code == 201, asked.json
    decided = client.post(
        f"/api/v1/refunds/{asked.json['id']}/decision", headers=shop[decider], json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.json
    refund = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == asked.json["id"]))
    apply_refund_result(refund, RefundResult(refund.out_refund_no, "success", refund_id=f"GW{refund.id}"))
    _db.session.commit()
    assert _db.session.get(RefundRequest, asked.json["id"]).status == "refunded"
    return refund


def release_after_hold(days: int = 8) -> int:
    return release_all(utcnow() + timedelta(days=days))


def balances(owner_type: str, owner_id: int = 0) -> tuple[int, int, int]:
    values = owner_balances(owner_type, owner_id)
    return values["pending_fen"], values["available_fen"], values["paid_out_fen"]


def assert_books_balance() -> None:
    assert verify_ledger() == []
