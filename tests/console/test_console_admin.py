"""平台管理: categories and staff accounts, for platform admins only."""

import sqlalchemy as sa

from core.models import User
from shop.models import Category


def test_categories_are_added_renamed_and_deactivated(db, staff, as_user, post):
    client = as_user(staff["platform"])
    assert "fruit" in client.get("/console/admin/").text
    bad = post("/console/admin/categories", {"slug": "Bad Slug", "name": "菌菇"})
    assert bad.status_code == 422 and "分类标识应为小写字母" in bad.text
    assert post("/console/admin/categories", {"slug": "mushroom", "name": "菌菇", "is_active": "on"}).status_code == 302
    assert db.session.get(Category, "mushroom").is_active
    clash = post("/console/admin/categories/mushroom", {"name": db.session.get(Category, "fruit").name})
    assert clash.status_code == 422 and "分类名称已存在" in clash.text
    assert post("/console/admin/categories/mushroom", {"name": "食用菌", "sort_order": "5"}).status_code == 302
    db.session.expire_all()
    category = db.session.get(Category, "mushroom")
    assert (category.name, category.sort_order, category.is_active) == ("食用菌", 5, False)


def test_staff_accounts_are_created_with_their_region_and_suspended(db, staff, as_user, post):
    client = as_user(staff["platform"])
    missing = post("/console/admin/staff", {"username": "zhouzr", "password": "county-pass-1", "role": "county_admin"})
    assert missing.status_code == 422 and "请填写县（市、区）的行政区划代码" in missing.text
    created = post(
        "/console/admin/staff",
        {"username": "zhouzr", "password": "county-pass-1", "role": "county_admin", "region_code": "430225"},
    )
    assert created.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "zhouzr"))
    assert [(g.role, g.region_code) for g in user.grants] == [("county_admin", "430225")]
    manager = post(
        "/console/admin/staff",
        {
            "username": "zhan2",
            "password": "station-pass-1",
            "role": "station_manager",
            "station_id": str(staff["peach_station"].id),
        },
    )
    assert manager.status_code == 302
    assert "zhouzr" in client.get("/console/admin/").text
    assert post(f"/console/admin/staff/{user.id}/suspend").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_active
    me = post(f"/console/admin/staff/{staff['platform'].id}/suspend")
    assert me.status_code == 409 and "不能停用自己的账号" in me.text


def test_only_platform_admins_administer(staff, as_user, post):
    for who in ("yanling", "office", "liu"):
        as_user(staff[who])
        assert as_user(staff[who]).get("/console/admin/").status_code == 403
        assert post("/console/admin/categories", {"slug": "x_y", "name": "某"}).status_code == 403
