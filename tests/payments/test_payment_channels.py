"""The channel vocabulary: bank_transfer is a Channel without a gateway, and the database knows no other."""

import pytest
import sqlalchemy as sa

from core.extensions import db as _db
from payments.models import Payment
from payments.providers import CHANNELS, GATEWAY_CHANNELS, Channel, channel_active
from tests.orders import pay, place, shop  # noqa: F401 (shop is a fixture)


def test_bank_transfer_is_a_channel_no_buyer_can_open_and_no_gateway_bills(app):
    assert Channel.BANK_TRANSFER.gateway is None and Channel.BANK_TRANSFER.label == "对公转账"
    assert Channel.BANK_TRANSFER not in CHANNELS
    assert all(Channel.BANK_TRANSFER not in channels for channels in GATEWAY_CHANNELS.values())
    assert not channel_active(Channel.BANK_TRANSFER, app.config)


def test_a_buyer_cannot_open_a_bank_transfer_payment(client, shop):  # noqa: F811
    order = place(client, shop, [(shop["peach_5"], 1)]).json
    refused = client.post(
        f"/api/v1/orders/{order['id']}/payments", headers=shop["buyer_header"], json={"channel": "bank_transfer"}
    )
    assert refused.status_code == 422 and "channel" in refused.json["error"]["details"]


def test_the_database_refuses_a_channel_outside_the_vocabulary(client, shop):  # noqa: F811
    order = place(client, shop, [(shop["peach_5"], 1)]).json
    pay(order["id"])
    payment_id = _db.session.scalar(sa.select(Payment.id).where(Payment.order_id == order["id"]))
    with pytest.raises(sa.exc.IntegrityError), _db.session.begin_nested():
        _db.session.execute(sa.text("UPDATE payments SET channel = 'demo' WHERE id = :i"), {"i": payment_id})
    _db.session.execute(sa.text("UPDATE payments SET channel = 'bank_transfer' WHERE id = :i"), {"i": payment_id})
    assert _db.session.get(Payment, payment_id).channel == Channel.BANK_TRANSFER
