"""County review of listings and poverty-alleviation certification, scoped to the county."""

import pytest

from core.extensions import db as _db
from tests import catalogue, factories
from tests.catalogue import CHALING_VILLAGE, YANLING_OTHER_VILLAGE
from villages.models import Village


@pytest.fixture
def yanling(db):
    return catalogue.county()


def _review(client, auth, product_id, **body):
    return client.post(f"/api/v1/products/{product_id}/review", json=body, headers=auth)


def test_county_admin_approves_a_listing_and_it_goes_on_sale(client, yanling):
    product = catalogue.create(client, yanling)
    response = _review(client, yanling.admin_auth, product["id"], decision="approve")
    assert response.status_code == 200
    assert response.json["status"] == "on_sale"
    assert response.json["published_at"]
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 200


def test_rejecting_needs_a_reason_the_station_then_sees(client, yanling):
    product = catalogue.create(client, yanling)
    missing = _review(client, yanling.admin_auth, product["id"], decision="reject")
    assert missing.status_code == 422
    assert "reason" in missing.json["error"]["details"]
    response = _review(client, yanling.admin_auth, product["id"], decision="reject", reason="价格明显偏离市场价")
    assert response.json["status"] == "rejected"
    assert response.json["rejection_reason"] == "价格明显偏离市场价"
    history = client.get(f"/api/v1/products/{product['id']}/reviews", headers=yanling.manager_auth)
    assert history.status_code == 200
    assert [(e["action"], e["reason"]) for e in history.json] == [
        ("submitted", None),
        ("rejected", "价格明显偏离市场价"),
    ]
    assert history.json[1]["actor_id"] == yanling.admin.id
    assert history.json[1]["created_at"].endswith("+08:00")


def test_a_decided_listing_cannot_be_reviewed_again(client, yanling):
    product = catalogue.on_sale(client, yanling)
    response = _review(client, yanling.admin_auth, product["id"], decision="reject", reason="重复审核")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"


def test_chaling_admin_cannot_review_a_yanling_listing(client, yanling):
    product = catalogue.create(client, yanling)
    chaling_admin = factories.user(("county_admin", CHALING_VILLAGE[:6]))
    response = _review(client, factories.auth_header(chaling_admin), product["id"], decision="approve")
    assert response.status_code == 404  # a waiting listing of another county is not revealed
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 404


def test_chaling_admin_cannot_touch_an_on_sale_yanling_product_either(client, yanling):
    product = catalogue.on_sale(client, yanling)
    chaling_admin = factories.user(("county_admin", CHALING_VILLAGE[:6]))
    response = client.post(
        f"/api/v1/products/{product['id']}/certification/revoke",
        json={"reason": "越权"},
        headers=factories.auth_header(chaling_admin),
    )
    assert response.status_code == 403  # everybody can see it exists; the action is not theirs


def test_station_managers_do_not_review(client, yanling):
    product = catalogue.create(client, yanling)
    response = _review(client, yanling.manager_auth, product["id"], decision="approve")
    assert response.status_code == 403


def test_platform_admin_reviews_anywhere(client, yanling):
    product = catalogue.create(client, yanling)
    admin = factories.user(("platform_admin", None))
    assert _review(client, factories.auth_header(admin), product["id"], decision="approve").status_code == 200


def test_review_queue_holds_only_the_county_waiting_listings(client, yanling):
    first = catalogue.create(client, yanling, title="炎陵黄桃")
    second = catalogue.create(client, yanling, title="炎陵笋干")
    catalogue.approve(client, yanling, second["id"])
    chaling = catalogue.county(CHALING_VILLAGE)
    catalogue.create(client, chaling, title="茶陵大蒜", origin_village_code=CHALING_VILLAGE)
    response = client.get("/api/v1/products/review-queue", headers=yanling.admin_auth)
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [first["id"]]
    assert response.json["total"] == 1
    on_sale = client.get("/api/v1/products/review-queue?status=on_sale", headers=yanling.admin_auth)
    assert [item["id"] for item in on_sale.json["items"]] == [second["id"]]
    outside = client.get("/api/v1/products/review-queue?region=430224", headers=yanling.admin_auth)
    assert outside.status_code == 403


# Certification (扶贫产品认定) ------------------------------------------------------


def test_a_poor_household_product_is_certified_at_approval(client, db):
    place = catalogue.county(poor_household=True)
    product = catalogue.create(client, place)
    response = _review(
        client,
        place.admin_auth,
        product["id"],
        decision="approve",
        poverty_certified=True,
        certificate_no="YL-FP-2026-0001",
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["poverty_certified"] is True
    assert body["certification"]["certificate_no"] == "YL-FP-2026-0001"
    assert body["certification"]["certified_on"]
    assert body["certified_by_id"] == place.admin.id
    public = client.get(f"/api/v1/products/{product['id']}").json
    assert public["poverty_certified"] is True
    assert public["certification"]["certificate_no"] == "YL-FP-2026-0001"


def test_a_poverty_village_product_may_be_certified_later(client, yanling):
    _db.session.get(Village, yanling.station.village_code).is_poverty_village = True
    _db.session.commit()
    product = catalogue.on_sale(client, yanling)
    response = client.post(
        f"/api/v1/products/{product['id']}/certification",
        json={"certificate_no": "YL-FP-2026-0002", "certified_on": "2026-10-01"},
        headers=yanling.admin_auth,
    )
    assert response.status_code == 200
    assert response.json["certification"] == {
        "certificate_no": "YL-FP-2026-0002",
        "certified_on": "2026-10-01",
    }


def test_certification_is_refused_for_other_products(client, yanling):
    product = catalogue.create(client, yanling)
    response = _review(
        client,
        yanling.admin_auth,
        product["id"],
        decision="approve",
        poverty_certified=True,
        certificate_no="X-1",
    )
    assert response.status_code == 422
    assert "poverty_certified" in response.json["error"]["details"]
    # Nothing of the approval was kept either.
    assert (
        client.get(f"/api/v1/stations/{yanling.station.id}/products", headers=yanling.manager_auth).json["items"][0][
            "status"
        ]
        == "pending_review"
    )


def test_certification_needs_a_certificate_number(client, db):
    place = catalogue.county(poor_household=True)
    product = catalogue.create(client, place)
    response = _review(client, place.admin_auth, product["id"], decision="approve", poverty_certified=True)
    assert response.status_code == 422
    assert "certificate_no" in response.json["error"]["details"]


def test_a_rejected_listing_is_not_certified(client, db):
    place = catalogue.county(poor_household=True)
    product = catalogue.create(client, place)
    response = _review(
        client, place.admin_auth, product["id"], decision="reject", reason="信息不全", poverty_certified=True
    )
    assert response.status_code == 422


def test_certification_is_revoked_with_a_reason_and_the_trail_kept(client, db):
    place = catalogue.county(poor_household=True)
    product = catalogue.create(client, place)
    catalogue.approve(client, place, product["id"], poverty_certified=True, certificate_no="YL-FP-7")
    missing_reason = client.post(
        f"/api/v1/products/{product['id']}/certification/revoke", json={}, headers=place.admin_auth
    )
    assert missing_reason.status_code == 422
    response = client.post(
        f"/api/v1/products/{product['id']}/certification/revoke",
        json={"reason": "该户已脱贫退出"},
        headers=place.admin_auth,
    )
    assert response.status_code == 200
    assert response.json["poverty_certified"] is False and response.json["certification"] is None
    assert response.json["status"] == "on_sale"
    again = client.post(
        f"/api/v1/products/{product['id']}/certification/revoke",
        json={"reason": "再次"},
        headers=place.admin_auth,
    )
    assert again.status_code == 409
    trail = client.get(f"/api/v1/products/{product['id']}/reviews", headers=place.admin_auth).json
    assert [e["action"] for e in trail] == ["submitted", "approved", "certified", "certification_revoked"]
    assert trail[2]["certificate_no"] == "YL-FP-7"
    assert trail[3]["reason"] == "该户已脱贫退出"


def test_moving_the_origin_village_drops_the_certification(client, db):
    place = catalogue.county(poor_household=False)
    _db.session.get(Village, place.station.village_code).is_poverty_village = True
    _db.session.commit()
    factories.region(YANLING_OTHER_VILLAGE)
    product = catalogue.create(client, place)
    catalogue.approve(client, place, product["id"], poverty_certified=True, certificate_no="YL-FP-9")
    response = client.patch(
        f"/api/v1/products/{product['id']}",
        json={"origin_village_code": YANLING_OTHER_VILLAGE},
        headers=place.manager_auth,
    )
    assert response.json["status"] == "pending_review"
    assert response.json["poverty_certified"] is False


def test_poverty_channel_lists_only_certified_products(client, db):
    poor = catalogue.county(poor_household=True)
    certified = catalogue.create(client, poor, title="炎陵黄桃")
    catalogue.approve(client, poor, certified["id"], poverty_certified=True, certificate_no="YL-FP-1")
    catalogue.on_sale(client, poor, title="炎陵笋干")
    channel = client.get("/api/v1/products?poverty=true").json
    assert [item["id"] for item in channel["items"]] == [certified["id"]]
    assert channel["items"][0]["poverty_certified"] is True
