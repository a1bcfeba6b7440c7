"""Region import (CLI) and the regions API."""

import sqlalchemy as sa

from tests import factories
from villages.models import Region
from villages.regions import RegionImportError, import_regions, list_children

HEADER = "code,name,level,parent_code\n"
GOOD = HEADER + "4302,株洲市,city,43\n430225,炎陵县,county,4302\n430225100,霞阳镇,township,430225\n"


def _count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Region))


def test_import_is_idempotent(db):
    first = import_regions(GOOD)
    second = import_regions(GOOD)
    assert (first.created, second.created, second.unchanged) == (3, 0, 3)
    assert _count(db) == 3


def test_import_updates_a_renamed_region(db):
    import_regions(GOOD)
    result = import_regions(GOOD.replace("霞阳镇", "霞阳镇（新）"))
    assert result.updated == 1
    assert db.session.get(Region, "430225100").name == "霞阳镇（新）"


def test_a_bad_row_names_its_line_and_imports_nothing(db):
    text = GOOD + "430225100201,演示村,village,430225999\n"
    try:
        import_regions(text)
    except RegionImportError as exc:
        assert exc.line == 5
        assert "430225999" in str(exc)
    else:
        raise AssertionError("bad parent accepted")
    assert _count(db) == 0


def test_village_codes_have_twelve_digits(db):
    try:
        import_regions(GOOD + "4302251002,短码村,village,430225100\n")
    except RegionImportError as exc:
        assert exc.line == 5 and "12 digits" in str(exc)
    else:
        raise AssertionError("short village code accepted")


def test_missing_columns_are_reported(db):
    try:
        import_regions("code,name\n4302,株洲市\n")
    except RegionImportError as exc:
        assert "level" in str(exc) and exc.line == 1
    else:
        raise AssertionError


def test_regions_command_reports_line_numbers(app, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "4302,株洲市,city,43\n430225,炎陵县,province,4302\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["regions", "import", str(path)])
    assert result.exit_code != 0
    assert "line 3" in result.output


def test_regions_command_imports(app, db, tmp_path):
    path = tmp_path / "good.csv"
    path.write_text(GOOD, encoding="utf-8-sig")
    result = app.test_cli_runner().invoke(args=["regions", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output


def test_regions_api_lists_children(client, db):
    import_regions(GOOD)
    factories.region("430225100201", name="桃源村")
    body = client.get("/api/v1/regions?parent=430225100").json
    assert body["items"] == [{"code": "430225100201", "name": "桃源村", "level": "village"}]
    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 1)
    top = client.get("/api/v1/regions").json
    assert [r["code"] for r in top["items"]] == ["4302"]


def test_regions_api_rejects_unknown_and_malformed_parents(client, db):
    assert client.get("/api/v1/regions?parent=999999").status_code == 404
    bad = client.get("/api/v1/regions?parent=abc")
    assert bad.status_code == 422
    assert "parent" in bad.json["error"]["details"]
    assert client.get("/api/v1/regions?per_page=101").status_code == 422


def test_a_page_of_regions_is_kept_and_a_change_forgets_it(client, db, count_queries):
    import_regions(GOOD)
    factories.region("430225100201", name="桃源村")
    with count_queries() as cold:
        first = client.get("/api/v1/regions?parent=430225100")
    assert first.status_code == 200 and len(cold) == 3  # the parent, the count, the page
    with count_queries() as warm:
        assert client.get("/api/v1/regions?parent=430225100").json == first.json
    assert warm == []
    import_regions(GOOD.replace("霞阳镇", "霞阳镇（新）") + "430225100202,杏花村,village,430225100\n")
    names = [region["name"] for region in client.get("/api/v1/regions?parent=430225100").json["items"]]
    assert names == ["桃源村", "杏花村"]
    assert client.get("/api/v1/regions?parent=430225").json["items"][0]["name"] == "霞阳镇（新）"


def test_a_rolled_back_region_is_not_kept(db):
    import_regions(GOOD)
    db.session.commit()
    db.session.add(Region(code="430225100203", name="临时村", level="village", parent_code="430225100"))
    db.session.flush()
    assert [row["name"] for row in list_children("430225100", 1, 20)["items"]] == ["临时村"]
    db.session.rollback()
    assert list_children("430225100", 1, 20)["items"] == []


def test_a_region_page_carries_an_etag_and_revalidates_without_the_database(client, db, count_queries):
    import_regions(GOOD)
    factories.region("430225100201", name="桃源村")
    first = client.get("/api/v1/regions?parent=430225100")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and first.headers["Cache-Control"] == "no-cache"
    with count_queries() as revalidated:
        again = client.get("/api/v1/regions?parent=430225100", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert revalidated == []
    # The same answer has the same tag however it was reached; a change gives a new one.
    assert client.get("/api/v1/regions?parent=430225100&page=1").headers["ETag"] == etag
    import_regions(GOOD + "430225100202,杏花村,village,430225100\n")
    changed = client.get("/api/v1/regions?parent=430225100", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [region["name"] for region in changed.json["items"]] == ["桃源村", "杏花村"]


def test_a_refused_region_query_is_never_kept(client, db):
    import_regions(GOOD)
    for _ in range(2):
        assert client.get("/api/v1/regions?parent=abc").status_code == 422
        assert client.get("/api/v1/regions?parent=999999").status_code == 404
