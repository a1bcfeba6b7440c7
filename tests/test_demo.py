"""The demo city seed."""

import sqlalchemy as sa

from core.models import User
from demo.seed import seed_demo_city
from villages.models import Region


def _counts(db) -> dict:
    return dict(db.session.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level)).all())


def test_seed_builds_the_real_city_and_demo_villages(db):
    seed_demo_city()
    counts = _counts(db)
    assert counts["city"] == 1 and counts["county"] == 9 and counts["township"] == 112
    villages = db.session.scalars(sa.select(Region).where(Region.level == "village")).all()
    assert all(len(v.code) == 12 and v.code.startswith(v.parent_code) for v in villages)
    assert all("演示" in v.name for v in villages)
    per_township = db.session.execute(
        sa.select(Region.parent_code, sa.func.count())
        .where(Region.level == "village")
        .group_by(Region.parent_code)
    ).all()
    assert all(6 <= count <= 12 for _, count in per_township)


def test_seed_is_idempotent(db):
    seed_demo_city()
    before = (_counts(db), db.session.scalar(sa.select(sa.func.count()).select_from(User)))
    seed_demo_city()
    after = (_counts(db), db.session.scalar(sa.select(sa.func.count()).select_from(User)))
    assert before == after


def test_seed_creates_one_staff_account_per_role(db):
    result = seed_demo_city()
    roles = {role for _, _, role, _ in result["staff"]}
    assert {"platform_admin", "poverty_office", "county_admin"} <= roles


def test_demo_command_prints_logins(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "demo-admin-2026" in result.output


def test_seed_shows_policy_targets_with_real_shortfalls(db):
    from villages.models import Centre, Seller, Station, Village

    result = seed_demo_city()
    assert result["centres"] == 9
    counties = set(db.session.scalars(sa.select(Centre.county_code)))
    assert len(counties) == 9
    poverty = db.session.scalars(sa.select(Village.code).where(Village.is_poverty_village)).all()
    assert poverty and all(code[:6] in ("430225", "430224", "430223") for code in poverty)
    with_station = set(db.session.scalars(sa.select(Station.village_code)))
    covered = sum(code in with_station for code in poverty)
    assert 0.5 * len(poverty) < covered < len(poverty)  # most, not all
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Seller).where(Seller.poor_household)) > 0
