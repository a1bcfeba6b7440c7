"""A small city of units on top of the order tests' shop: a hospital, its union, a school, an enterprise."""

import itertools
from datetime import date

import pytest

from core.extensions import db as _db
from tests import factories
from tests.orders import ADDRESS, CHALING, YANLING
from villages.models import Village

UNIT_ADDRESS = {**ADDRESS, "name": "赵科长", "detail": "株洲市芦淞区某路1号 株洲市中心医院后勤科"}


def credit_code(body17: str) -> str:
    from institutions.credit_code import check_character

    return body17 + check_character(body17)


def create_unit(client, header, **fields) -> dict:
    response = client.post("/api/v1/units", headers=header, json={"region_code": "4302", **fields})
    assert response.status_code == 201, response.json
    return response.json


_OPENIDS = itertools.count(1)


def join(client, manager_header, unit_id: int, role: str = "purchaser", user=None):
    """A user bound to the unit through an invite; returns (user, header)."""
    user = user or factories.user(("buyer", None), wechat_openid=f"openid-unit-{next(_OPENIDS)}")
    header = factories.auth_header(user)
    invite = client.post(f"/api/v1/units/{unit_id}/invites", headers=manager_header, json={"role": role})
    assert invite.status_code == 201, invite.json
    bound = client.post("/api/v1/units/bind", headers=header, json={"code": invite.json["code"]})
    assert bound.status_code == 200, bound.json
    return user, header


@pytest.fixture
def units(client, shop):
    """Units set up through the API, purchasers bound by invite; Yanling's village is a poverty village,
    the garlic a certified poverty-alleviation product, and 攸县香干 neither."""
    _db.session.get(Village, YANLING).is_poverty_village = True
    garlic = shop["garlic"].product
    garlic.poverty_certified, garlic.certificate_no, garlic.certified_on = True, "株扶认〔2026〕018号", date(2026, 3, 1)
    garlic.category_slug = "vegetables"
    _db.session.commit()
    tofu = factories.product(
        shop["garlic_station"], title="攸县香干", category_slug="grain_oil", skus=(("500克", 2500, 100),)
    )
    platform = factories.auth_header(factories.user(("platform_admin", None)))
    office = factories.auth_header(factories.user(("poverty_office", "4302")))
    hospital = create_unit(
        client, office, name="株洲市中心医院", credit_code=credit_code("12430200444885428"), kind="budget_unit"
    )
    union = create_unit(
        client,
        office,
        name="株洲市中心医院工会",
        credit_code=credit_code("81430200MA4L12345"),
        kind="trade_union",
        parent_id=hospital["id"],
    )
    school = create_unit(
        client, office, name="株洲市第二中学", credit_code=credit_code("12430200445012345"), kind="budget_unit"
    )
    company = create_unit(
        client, platform, name="株洲某国有企业", credit_code=credit_code("91430200MA4PQ1234"), kind="enterprise"
    )
    _hospital_admin, hospital_admin_header = join(client, office, hospital["id"], "admin")
    zhao, zhao_header = join(client, hospital_admin_header, hospital["id"])
    _union_admin, union_admin_header = join(client, office, union["id"], "admin")
    _, _union_buyer_header = join(client, union_admin_header, union["id"], user=zhao)
    school_admin, school_admin_header = join(client, office, school["id"], "admin")
    yanling_admin_user = factories.user(("county_admin", "430225"))
    chaling_admin_user = factories.user(("county_admin", "430224"))
    return {
        **shop,
        "tofu": tofu.skus[0],
        "platform": platform,
        "office": office,
        "hospital": hospital,
        "union": union,
        "school": school,
        "company": company,
        "hospital_admin": hospital_admin_header,
        "zhao": zhao,
        "zhao_header": zhao_header,
        "union_admin": union_admin_header,
        "school_admin": school_admin_header,
        "school_buyer": school_admin,
        "yanling_admin": factories.auth_header(yanling_admin_user),
        "chaling_admin": factories.auth_header(chaling_admin_user),
        "chaling": CHALING,
    }


def unit_order(client, header, unit_id: int, items, purpose="canteen", payment_method=None, **extra):
    body = {
        "items": [{"sku_id": sku.id, "quantity": qty} for sku, qty in items],
        "address": UNIT_ADDRESS,
        "buyer_unit_id": unit_id,
        "purpose": purpose,
        **extra,
    }
    if payment_method:
        body["payment_method"] = payment_method
    return client.post("/api/v1/orders", headers=header, json=body)


def recipients(count: int) -> list[dict]:
    return [
        {
            "name": f"职工{number:03d}",
            "phone": f"139{number:08d}",
            "region_code": "4302",
            "detail": f"株洲市天元区职工宿舍{number}栋",
        }
        for number in range(1, count + 1)
    ]
