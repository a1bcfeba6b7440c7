"""月报: generate and submit (county), review beside the previous month with digest and drift (office), downloads."""

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from core.clock import beijing_today
from reports.models import SalesReport
from tests.ledger_helpers import paid_order

THIS_MONTH = f"{beijing_today():%Y-%m}"


def _generate(post, region="430225", period=THIS_MONTH):
    return post("/console/reports/", {"region": region, "period": period})


def test_county_generates_and_submits_and_sees_the_outcome(db, client, staff, as_user, post):
    paid_order(client, staff, [(staff["peach_5"], 2)])
    as_user(staff["yanling"])
    page = client.get("/console/reports/")
    assert page.status_code == 200 and 'name="period"' in page.text and 'value="430225"' in page.text
    assert 'value="4302"' not in page.text  # the city's report is the office's
    created = _generate(post)
    assert created.status_code == 302
    report = db.session.scalar(sa.select(SalesReport).where(SalesReport.region_code == "430225"))
    html = client.get(created.headers["Location"]).text
    assert report.digest in html and "¥136.00" in html and "提交扶贫办" in html
    assert post(f"/console/reports/{report.id}/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(SalesReport, report.id).status == "submitted"
    again = _generate(post)
    assert again.status_code == 409 and "该地区本月报表已存在" in again.text


def test_the_office_reviews_beside_the_previous_month_and_sees_drift(db, client, staff, as_user, post):
    paid_order(client, staff, [(staff["peach_5"], 1)])
    as_user(staff["yanling"])
    _generate(post)
    report = db.session.scalar(sa.select(SalesReport))
    post(f"/console/reports/{report.id}/submit")
    paid_order(client, staff, [(staff["peach_5"], 1)])  # a sale after the freeze: drift, not merged
    office = as_user(staff["office"])
    queue = office.get("/console/reports/")
    assert f"/console/reports/{report.id}" in queue.text and ">审核<" in queue.text
    html = office.get(f"/console/reports/{report.id}").text
    assert "摘要一致" in html and report.digest in html
    assert "实时数据有" in html and "totals.gmv_fen" in html  # 6800 frozen → 13600 live
    assert "该月尚无月报，取自当前实时数据" in html
    refused = post(f"/console/reports/{report.id}/review", {"decision": "reject"})
    assert refused.status_code == 422 and "退回报表须填写意见" in refused.text
    assert post(f"/console/reports/{report.id}/review", {"decision": "approve", "comment": "同意"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(SalesReport, report.id).status == "approved"
    trail = office.get(f"/console/reports/{report.id}").text
    assert "陈主任 提交" in trail and "王科长 审核通过" in trail


def test_a_rejected_report_is_generated_again_by_the_county(db, client, staff, as_user, post):
    as_user(staff["yanling"])
    _generate(post)
    report = db.session.scalar(sa.select(SalesReport))
    post(f"/console/reports/{report.id}/submit")
    as_user(staff["office"])
    post(f"/console/reports/{report.id}/review", {"decision": "reject", "comment": "请补充分村数据"})
    html = as_user(staff["yanling"]).get(f"/console/reports/{report.id}").text
    assert "请补充分村数据" in html and "按最新数据重新生成" in html
    assert _generate(post).status_code == 302
    db.session.expire_all()
    assert db.session.get(SalesReport, report.id).version == 2


def test_downloads_are_the_apis_exports(db, staff, as_user, post):
    as_user(staff["yanling"])
    _generate(post)
    report = db.session.scalar(sa.select(SalesReport))
    client = as_user(staff["office"])
    xlsx = client.get(f"/console/reports/{report.id}/export?format=xlsx")
    assert xlsx.status_code == 200 and f"report-430225-{THIS_MONTH}-v1.xlsx" in xlsx.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames[:3] == ["汇总", "分村", "分品类"]
    csv = client.get(f"/console/reports/{report.id}/export?format=csv")
    assert csv.data.startswith("\ufeff".encode()) and report.digest.encode() in csv.data
    assert client.get(f"/console/reports/{report.id}/export?format=pdf").status_code == 422


def test_another_countys_report_is_out_of_reach(db, staff, as_user, post):
    as_user(staff["chaling"])
    _generate(post, region="430224")
    report = db.session.scalar(sa.select(SalesReport))
    client = as_user(staff["yanling"])
    assert client.get(f"/console/reports/{report.id}").status_code == 404
    assert client.get(f"/console/reports/{report.id}/export").status_code == 404
    assert _generate(post, region="430224").status_code == 403
    assert post(f"/console/reports/{report.id}/submit").status_code == 404


def test_only_the_office_reviews(db, staff, as_user, post):
    as_user(staff["yanling"])
    _generate(post)
    report = db.session.scalar(sa.select(SalesReport))
    post(f"/console/reports/{report.id}/submit")
    assert post(f"/console/reports/{report.id}/review", {"decision": "approve"}).status_code == 403
    assert as_user(staff["liu"]).get("/console/reports/").status_code == 403


def test_the_office_does_not_review_a_city_report_it_prepared(db, staff, as_user, post):
    as_user(staff["office"])
    assert _generate(post, region="4302").status_code == 302
    report = db.session.scalar(sa.select(SalesReport).where(SalesReport.region_code == "4302"))
    post(f"/console/reports/{report.id}/submit")
    html = as_user(staff["office"]).get(f"/console/reports/{report.id}").text
    assert "审核意见" not in html  # four eyes: another member of the office reviews it
    assert as_user(staff["platform"]).get(f"/console/reports/{report.id}").text.count("审核意见") == 1
