"""村与服务站: the region tree, village facts and workers, stations, manager accounts, sellers and their data."""

import re

import sqlalchemy as sa

from core.models import User
from tests import factories
from villages.models import PiiAccess, Seller, Station, Village, VillageWorker

VILLAGE = "430225100201"


def test_the_tree_shows_the_county_and_its_stations(staff, as_user):
    client = as_user(staff["yanling"])
    html = client.get("/console/stations/").text
    assert "/console/stations/?region=430225100" in html  # the township
    assert f"/console/stations/{staff['peach_station'].id}" in html
    assert f"/console/stations/{staff['garlic_station'].id}" not in html
    township = client.get("/console/stations/?region=430225100").text
    assert f"/console/stations/villages/{VILLAGE}" in township
    assert client.get("/console/stations/?region=430224").status_code == 403
    assert as_user(staff["office"]).get("/console/stations/").status_code == 403


def test_edit_a_villages_coverage_and_poverty_flag(db, staff, as_user, post):
    as_user(staff["yanling"])
    bad = post(
        f"/console/stations/villages/{VILLAGE}",
        {"households": "10", "registered_poor_households": "20", "fibre_covered": "on"},
    )
    assert bad.status_code == 422 and "户数不能大于总户数" in bad.text
    db.session.expire_all()
    assert not db.session.get(Village, VILLAGE).fibre_covered
    ok = post(
        f"/console/stations/villages/{VILLAGE}",
        {"households": "300", "registered_poor_households": "40", "fibre_covered": "on", "is_poverty_village": "on"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    village = db.session.get(Village, VILLAGE)
    assert village.fibre_covered and village.fibre_covered_on and village.is_poverty_village
    assert not village.mobile_4g_covered and village.households == 300


def test_workers_are_recorded_and_leave_with_their_history_kept(db, staff, as_user, post):
    client = as_user(staff["yanling"])
    bad = post(
        f"/console/stations/villages/{VILLAGE}/workers", {"name": "张三", "kind": "info_officer", "phone": "123"}
    )
    assert bad.status_code == 422 and "手机号格式不正确" in bad.text
    assert (
        post(
            f"/console/stations/villages/{VILLAGE}/workers",
            {"name": "张三", "kind": "info_officer", "phone": "13712345678", "trained_on": "2025-03-01"},
        ).status_code
        == 302
    )
    worker = db.session.scalar(sa.select(VillageWorker))
    html = client.get(f"/console/stations/villages/{VILLAGE}").text
    assert "137****5678" in html and "13712345678" not in html
    early = post(f"/console/stations/villages/{VILLAGE}/workers/{worker.id}/leave", {"left_on": "2025-01-01"})
    assert early.status_code == 422 and "离任日期不能早于培训日期" in early.text
    assert post(f"/console/stations/villages/{VILLAGE}/workers/{worker.id}/leave", {}).status_code == 302
    db.session.expire_all()
    assert db.session.get(VillageWorker, worker.id).left_on is not None
    assert "离任" in client.get(f"/console/stations/villages/{VILLAGE}").text


def test_open_a_station_with_its_managers_account(db, staff, as_user, post):
    factories.region("430225100202")
    as_user(staff["yanling"])
    data = {
        "village_code": "430225100202",
        "name": "新村服务站",
        "address": "村部",
        "service_fee_bps": "500",
        "manager.username": staff["liu"].username,
        "manager.password": "station-pass-1",
    }
    taken = post("/console/stations/villages/430225100202/stations", data)
    assert taken.status_code == 422 and "用户名已被使用" in taken.text
    assert db.session.scalar(sa.select(Station).where(Station.name == "新村服务站")) is None
    opened = post("/console/stations/villages/430225100202/stations", {**data, "manager.username": "xincun"})
    assert opened.status_code == 302
    station = db.session.scalar(sa.select(Station).where(Station.name == "新村服务站"))
    manager = db.session.scalar(sa.select(User).where(User.username == "xincun"))
    assert manager.has_role("station_manager") and manager.grants[0].station_id == station.id


def test_suspend_and_reactivate_a_station_and_its_manager(db, staff, as_user, post):
    station_id = staff["peach_station"].id
    client = as_user(staff["yanling"])
    assert post(f"/console/stations/{station_id}/suspend", {}).status_code == 422
    assert post(f"/console/stations/{station_id}/suspend", {"reason": "多次发货超时"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Station, station_id).status == "suspended"
    assert "多次发货超时" in client.get(f"/console/stations/{station_id}").text
    assert post(f"/console/stations/{station_id}/reactivate").status_code == 302
    liu = staff["liu"]
    version = liu.token_version
    assert post(f"/console/stations/{station_id}/managers/{liu.id}/suspend").status_code == 302
    db.session.expire_all()
    liu = db.session.get(User, liu.id)
    assert not liu.is_active and liu.token_version == version + 1
    assert post(f"/console/stations/{station_id}/managers/{liu.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, liu.id).is_active
    other = factories.user(("station_manager", "430224100201", staff["garlic_station"].id))
    assert post(f"/console/stations/{station_id}/managers/{other.id}/suspend").status_code == 404


def test_register_a_seller_see_the_bind_code_once_and_reveal_data_audited(db, staff, as_user, post):
    station_id = staff["peach_station"].id
    client = as_user(staff["yanling"])
    registered = post(
        f"/console/stations/{station_id}/sellers",
        {"name": "李秀英", "phone": "13987654321", "household_category": "tuopin", "household_no": "4302250099"},
    )
    assert registered.status_code == 201
    code = re.search(r"data-bind-code>(\d{6})<", registered.text).group(1)
    seller = db.session.scalar(sa.select(Seller).where(Seller.name == "李秀英", Seller.household_no.is_not(None)))
    assert seller.bind_code_digest and code not in client.get(f"/console/stations/{station_id}").text
    page = client.get(f"/console/stations/sellers/{seller.id}").text
    assert "139****4321" in page and "13987654321" not in page
    shown = post(f"/console/stations/sellers/{seller.id}/reveal", {"reason": "核对打款账户"})
    assert shown.status_code == 200 and "13987654321" in shown.text and "4302250099" in shown.text
    audit = db.session.scalar(sa.select(PiiAccess).where(PiiAccess.subject_id == seller.id))
    assert audit.user_id == staff["yanling"].id and audit.reason == "核对打款账户"
    new = post(f"/console/stations/sellers/{seller.id}/bind-code")
    assert new.status_code == 200 and re.search(r"data-bind-code>\d{6}<", new.text)


def test_the_poster_code_prints(app, staff, as_user, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_APPID", "")  # no mini-program: the sandbox's plain QR code
    station_id = staff["peach_station"].id
    client = as_user(staff["yanling"])
    page = client.get(f"/console/stations/{station_id}/poster")
    assert page.status_code == 200 and "data-print" in page.text
    image = client.get(f"/console/stations/{station_id}/poster.png")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")


def test_another_countys_station_and_seller_are_not_found(staff, as_user):
    seller = factories.seller(staff["garlic_station"])
    client = as_user(staff["yanling"])
    assert client.get(f"/console/stations/{staff['garlic_station'].id}").status_code == 404
    assert client.get(f"/console/stations/sellers/{seller.id}").status_code == 404
    assert client.get("/console/stations/villages/430224100201").status_code == 403


def test_edit_a_station_keeping_its_payout_account_when_left_blank(db, staff, as_user, post):
    station = staff["peach_station"]
    station.payout_alipay_account = "13900000009"
    db.session.commit()
    as_user(staff["yanling"])
    too_much = post(
        f"/console/stations/{station.id}", {"name": station.name, "address": "新址", "service_fee_bps": "9900"}
    )
    assert too_much.status_code == 422 and "之和不能超过 10000 基点" in too_much.text
    data = {"name": "丰收服务站", "address": "新址", "service_fee_bps": "600", "payout_alipay_account": ""}
    assert post(f"/console/stations/{station.id}", data).status_code == 302
    db.session.expire_all()
    station = db.session.get(Station, station.id)
    assert (station.name, station.service_fee_bps, station.payout_alipay_account) == ("丰收服务站", 600, "13900000009")


def test_add_another_manager_account(db, staff, as_user, post):
    station_id = staff["peach_station"].id
    as_user(staff["yanling"])
    short = post(f"/console/stations/{station_id}/managers", {"manager.username": "zhan3", "manager.password": "short"})
    assert short.status_code == 422 and "长度应在 8 到 128 之间" in short.text
    added = post(
        f"/console/stations/{station_id}/managers", {"manager.username": "zhan3", "manager.password": "long-enough-1"}
    )
    assert added.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "zhan3"))
    assert [(g.role, g.station_id) for g in user.grants] == [("station_manager", station_id)]


def test_correct_a_seller_audits_only_real_changes_of_the_household(db, staff, as_user, post):
    seller = factories.seller(staff["peach_station"], name="罗秀英")
    as_user(staff["yanling"])
    unchanged = {"name": "罗秀英", "phone": "13911112222", "household_category": "ordinary"}
    assert post(f"/console/stations/sellers/{seller.id}", unchanged).status_code == 302
    db.session.expire_all()
    assert db.session.get(Seller, seller.id).phone == "13911112222"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PiiAccess)) == 0  # nothing county-only changed
    missing = post(f"/console/stations/sellers/{seller.id}", {"name": "罗秀英", "household_category": "tuopin"})
    assert missing.status_code == 422 and "须填写户编号" in missing.text
    data = {"name": "罗秀英", "household_category": "tuopin", "household_no": "43022512345", "show_name_on_trace": "on"}
    assert post(f"/console/stations/sellers/{seller.id}", data).status_code == 302
    db.session.expire_all()
    seller = db.session.get(Seller, seller.id)
    assert seller.household_category == "tuopin" and seller.show_name_on_trace
    audit = db.session.scalar(sa.select(PiiAccess).where(PiiAccess.subject_id == seller.id))
    assert audit.reason == "changed" and "household_category" in audit.fields


def test_a_form_naming_a_field_and_its_subfield_is_refused_on_the_form(db, staff, as_user, post):
    station_id = staff["peach_station"].id
    as_user(staff["yanling"])
    for data in (
        {"manager": "x", "manager.username": "zhan3", "manager.password": "long-enough-1"},
        {"manager.username": "zhan3", "manager": "x", "manager.password": "long-enough-1"},
        {"manager.username.x": "zhan3", "manager.username": "zhan3", "manager.password": "long-enough-1"},
    ):
        response = post(f"/console/stations/{station_id}/managers", data)
        assert response.status_code == 422 and staff["peach_station"].name in response.text
        assert "manager.username" in response.text  # the add-manager form, shown again
    assert db.session.scalar(sa.select(User).where(User.username == "zhan3")) is None
