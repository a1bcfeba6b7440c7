"""Group buying fixtures: a peach SKU with a group offer and a few buyers (WeChat and Alipay)."""

import pytest
import requests

from core.extensions import db as _db
from shop.groups.models import GroupOffer
from tests import factories
from tests.orders import ADDRESS


@pytest.fixture
def group_shop(shop):
    """The order tests' shop, a 3-person group offer on 5斤装 at 5,800 fen (24 hours), four more buyers."""
    sku = shop["peach_5"]
    offer = GroupOffer(
        product_id=sku.product_id, sku_id=sku.id, price_fen=5800, group_size=3, hours=24, created_by_id=shop["buyer"].id
    )
    _db.session.add(offer)
    buyers = [
        factories.user(("buyer", None), display_name=name, wechat_openid=f"openid-group-{index}")
        for index, name in enumerate(("王小红", "李大山", "赵四", "钱五"))
    ]
    _db.session.flush()
    return {**shop, "offer": offer, "buyers": buyers, "headers": [factories.auth_header(b) for b in buyers]}


def open_group(client, header, offer_id, quantity=1):
    response = client.post(
        "/api/v1/groups", headers=header, json={"offer_id": offer_id, "quantity": quantity, "address": ADDRESS}
    )
    assert response.status_code == 201, response.json
    return response.json


def join(client, header, group_id):
    return client.post(f"/api/v1/groups/{group_id}/join", headers=header, json={"address": ADDRESS})


def pay_through(client, gateway, header, order_id, channel):
    """Open a payment for the order and pay it at the simulator; returns the payment (notification not yet sent)."""
    response = client.post(f"/api/v1/orders/{order_id}/payments", headers=header, json={"channel": channel})
    assert response.status_code == 201, response.json
    payment = response.json
    if channel == "alipay_wap":
        requests.get(payment["params"]["url"], timeout=5)
    gateway.pay(payment["out_trade_no"], channel)
    return payment
