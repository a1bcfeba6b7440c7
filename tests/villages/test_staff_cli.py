"""`flask users create-staff` binds roles by the same rule as the console (villages.staff)."""

import click
import pytest

from tests import factories
from villages.cli import create_staff


def test_the_command_binds_each_role_like_the_console(db):
    factories.region("430225100201")
    station = factories.station("430225100201")
    county = create_staff("zhouzr", "county-pass-1", "county_admin", "430225", None)
    assert [(g.role, g.region_code, g.station_id) for g in county.grants] == [("county_admin", "430225", None)]
    manager = create_staff("zhan2", "station-pass-1", "station_manager", None, station.id)
    assert [(g.role, g.region_code, g.station_id) for g in manager.grants] == [
        ("station_manager", "430225100201", station.id)
    ]
    again = create_staff("zhouzr", "ignored-pass", "poverty_office", "4302", None)  # an existing account gains a role
    assert again.id == county.id and sorted(g.role for g in again.grants) == ["county_admin", "poverty_office"]


@pytest.mark.parametrize(
    ("role", "region", "station", "complaint"),
    [
        ("county_admin", None, None, "--region: 请填写县（市、区）的行政区划代码"),
        ("county_admin", "430225100", None, "--region: 请填写县（市、区）的行政区划代码"),  # a township
        ("poverty_office", "430225", None, "--region: 请填写市的行政区划代码"),
        ("station_manager", None, 999999, "--station: 请填写存在的服务站编号"),
    ],
)
def test_the_command_names_the_option_that_is_wrong(db, role, region, station, complaint):
    factories.region("430225100201")
    with pytest.raises(click.UsageError) as refused:
        create_staff("someone", "a-long-pass-1", role, region, station)
    assert refused.value.message == complaint
