"""Fixtures of the traceability tests: the order tests' shop with a certified-ready peach product."""

from datetime import date, timedelta

import pytest

from core.clock import beijing_today
from core.extensions import db as _db
from tests import factories
from tests.orders import YANLING


def certificate_body(**overrides) -> dict:
    body = {
        "commitments": [
            "no_banned_substances",
            "withdrawal_periods_observed",
            "residues_within_limits",
            "no_illegal_additives",
        ],
        "basis": "quality_control",
        "producer_contact": "13812345678",
    }
    return {**body, **overrides}


def batch_body(product_id: int, harvested_on: date | None = None, quantity: int = 20, **certificate) -> dict:
    return {
        "product_id": product_id,
        "harvested_on": (harvested_on or beijing_today() - timedelta(days=2)).isoformat(),
        "quantity": quantity,
        "certificate": certificate_body(**certificate),
    }


@pytest.fixture
def traced(shop):
    """The shop, its peach seller a consenting 脱贫户, and a county admin of another county."""
    seller = shop["peach_5"].product.seller
    seller.household_category = "tuopin"
    seller.household_no = "4302250001"
    seller.show_name_on_trace = True
    _db.session.commit()
    return {
        **shop,
        "peaches": shop["peach_5"].product,
        "seller": seller,
        "chaling_admin": factories.auth_header(factories.user(("county_admin", "430224"))),
        "platform": factories.auth_header(factories.user(("platform_admin", None))),
        "village": YANLING,
    }


def record(client, traced, quantity: int = 20, harvested_on: date | None = None, who: str = "peach_manager", **cert):
    response = client.post(
        "/api/v1/batches",
        headers=traced[who],
        json=batch_body(traced["peaches"].id, harvested_on, quantity, **cert),
    )
    assert response.status_code == 201, response.json
    return response.json
