"""Policy metrics on a small hand-built region with known gaps."""

from datetime import date

import pytest

from core.extensions import db as _db
from tests import factories
from villages.models import Village

# One county (炎陵), two townships; township 101 has three villages, 102 has one.
A, B, C, D = "430225101201", "430225101202", "430225101203", "430225102201"


def _facts(code, poverty=False, fibre=False, mobile=False):
    village = _db.session.get(Village, code)
    village.is_poverty_village, village.fibre_covered, village.mobile_4g_covered = poverty, fibre, mobile
    _db.session.commit()


@pytest.fixture
def county(db):
    for code in (A, B, C, D):
        factories.region(code)
    factories.region("430225103")  # a township with no villages at all
    # A: poverty village meeting every target.
    _facts(A, poverty=True, fibre=True, mobile=True)
    factories.worker(A, "info_officer")
    factories.worker(A, "ecommerce_talent")
    factories.station(A)
    # B: poverty village without station and fibre; its info officer left.
    _facts(B, poverty=True, mobile=True)
    factories.worker(B, "info_officer", left_on=date(2025, 3, 1))
    factories.worker(B, "ecommerce_talent")
    # C: ordinary village with an info officer only; a suspended station does not count.
    _facts(C, fibre=True)
    factories.worker(C, "info_officer")
    factories.station(C, status="suspended")
    # D: ordinary village with both workers.
    _facts(D, mobile=True)
    factories.worker(D, "info_officer")
    factories.worker(D, "ecommerce_talent")
    return factories.auth_header(factories.user(("county_admin", "430225")))


def test_county_totals_children_and_shortfalls(client, county):
    body = client.get("/api/v1/metrics/villages?region=430225", headers=county).json
    assert body["region"] == "430225"
    assert {k: body[k] for k in body if k not in ("region", "region_name", "level", "children", "shortfalls")} == {
        "villages": 4,
        "poverty_villages": 2,
        "with_info_officer": 3,
        "with_ecommerce_talent": 3,
        "with_station": 1,
        "fibre_covered": 2,
        "mobile_4g_covered": 3,
        "poverty_villages_fibre_covered": 1,
        "poverty_villages_4g_covered": 2,
    }
    children = {c["region"]: c for c in body["children"]}
    assert set(children) == {"430225101", "430225102", "430225103"}
    assert children["430225101"]["villages"] == 3 and children["430225101"]["with_station"] == 1
    assert children["430225102"]["villages"] == 1 and children["430225102"]["with_ecommerce_talent"] == 1
    assert children["430225103"]["villages"] == 0
    assert body["shortfalls"] == [
        {
            "village_code": B,
            "name": f"测试village{B}",
            "is_poverty_village": True,
            "missing": ["info_officer", "station", "fibre"],
        },
        {
            "village_code": C,
            "name": f"测试village{C}",
            "is_poverty_village": False,
            "missing": ["ecommerce_talent"],
        },
    ]


def test_township_and_village_levels(client, county):
    township = client.get("/api/v1/metrics/villages?region=430225102", headers=county).json
    assert township["villages"] == 1 and township["shortfalls"] == []
    assert [c["region"] for c in township["children"]] == [D]
    village = client.get(f"/api/v1/metrics/villages?region={B}", headers=county).json
    assert village["villages"] == 1 and village["children"] == []
    assert [s["village_code"] for s in village["shortfalls"]] == [B]


def test_the_office_rolls_up_the_city(client, county):
    office = factories.auth_header(factories.user(("poverty_office", "4302")))
    body = client.get("/api/v1/metrics/villages?region=4302", headers=office).json
    assert body["villages"] == 4
    assert [c["region"] for c in body["children"]] == ["430225"]


def test_unknown_region_is_404(client, county):
    office = factories.auth_header(factories.user(("poverty_office", "4302")))
    assert client.get("/api/v1/metrics/villages?region=430299", headers=office).status_code == 404


def test_query_count_does_not_grow_with_villages(client, county, count_queries):
    with count_queries() as small:
        client.get("/api/v1/metrics/villages?region=430225", headers=county)
    for number in range(4, 30):
        code = f"430225101{200 + number:03d}"
        factories.region(code)
        factories.worker(code)
    with count_queries() as large:
        body = client.get("/api/v1/metrics/villages?region=430225", headers=county).json
    assert body["villages"] == 30
    assert len(large) == len(small)
    assert len(large) <= 6
