"""Region scoping: one helper turns grants into a code-prefix filter."""

import pytest
import sqlalchemy as sa

from core.auth import Scope, scope_for
from core.errors import Forbidden
from tests import factories
from villages.models import Region


def test_platform_admin_is_unrestricted(db):
    admin = factories.user(("platform_admin", None))
    scope = scope_for(admin, "platform_admin", "county_admin")
    assert scope.unrestricted and scope.covers("430224")


def test_county_admin_is_limited_to_the_county(db):
    admin = factories.user(("county_admin", "430225"))
    scope = scope_for(admin, "county_admin")
    assert scope.covers("430225101201")
    assert not scope.covers("430224101201")
    assert not scope.covers(None)


def test_a_role_the_user_lacks_is_403(db):
    buyer = factories.user(("buyer", None))
    with pytest.raises(Forbidden):
        scope_for(buyer, "county_admin", "platform_admin")


def test_station_manager_scope_names_the_station(db):
    station = factories.station("430225101201")
    manager = factories.user(("station_manager", "430225101201", station.id))
    scope = scope_for(manager, "station_manager")
    assert scope.station_ids == frozenset({station.id})
    assert scope.covers_station(station.id) and not scope.covers_station(station.id + 1)


def test_filter_limits_queries_by_prefix(db):
    for code in ("430225101", "430224101", "430225102"):
        factories.region(code)
    scope = Scope(prefixes=("430225",))
    codes = db.session.scalars(
        sa.select(Region.code).where(Region.level == "township", scope.filter(Region.code))
    ).all()
    assert sorted(codes) == ["430225101", "430225102"]


def test_filter_escapes_like_wildcards(db):
    factories.region("430225101")
    scope = Scope(prefixes=("4302_5",))
    assert db.session.scalars(sa.select(Region.code).where(scope.filter(Region.code))).all() == []


def test_empty_scope_matches_nothing(db):
    factories.region("430225101")
    assert db.session.scalars(sa.select(Region.code).where(Scope(prefixes=()).filter(Region.code))).all() == []
