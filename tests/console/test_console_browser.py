"""The console in Chromium, as the people in JOURNEYS.md use it, on the demo city served by a real process.

Each test ends with a screenshot in tests/artifacts/ and fails if a page logged a
JavaScript error or asked for anything outside the app's origin (see browser.py).
"""

import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from core.clock import beijing_today
from tests.console.browser import ARTIFACTS, DESKTOP, PHONE

THIS_MONTH = f"{beijing_today():%Y-%m}"


def _open_certifiable_pending_product(page) -> str:
    """From the review queue, the first waiting product that may be certified; returns its title."""
    page.get_by_role("link", name="商品审核").click()
    links = page.locator("table a[href*='/console/review/products/']")
    hrefs = list(dict.fromkeys(links.nth(i).get_attribute("href") for i in range(links.count())))
    for href in hrefs:
        page.goto(page.url.split("/console")[0] + href)
        if page.get_by_label("同时认定为扶贫产品").count():
            return page.get_by_role("heading", level=1).inner_text()
    raise AssertionError("no certifiable product waits for review in the demo county")


def test_county_admin_certifies_a_product_opens_a_station_and_submits_a_report(open_console):
    console = open_console(DESKTOP)
    page = console.page
    console.sign_in("yanling")
    expect(page.get_by_role("heading", name=re.compile("炎陵县 · .* 概览"))).to_be_visible()

    title = _open_certifiable_pending_product(page)
    page.get_by_label("同时认定为扶贫产品").check()
    page.get_by_label("认定证书编号").fill("YL-FP-2026-0815")
    page.get_by_role("button", name="通过并上架").click()
    expect(page.get_by_text(f"商品「{title}」已审核通过并认定为扶贫产品")).to_be_visible()
    expect(page.get_by_text("扶贫产品 YL-FP-2026-0815")).to_be_visible()

    page.get_by_role("link", name="概览").click()
    page.locator("a[href*='target=station']").click()  # the poverty villages still without a station
    page.get_by_role("link", name="村情").first.click()
    village = page.get_by_role("heading", level=1).inner_text()
    page.get_by_text("在本村开设服务站").click()
    page.get_by_label("服务站名称").fill(f"{village}新服务站")
    page.get_by_label("站长用户名").fill("xinzhan")
    page.get_by_label("初始密码").fill("xinzhan-2026")
    page.get_by_label("站长姓名").fill("肖站长")
    page.get_by_role("button", name="开设服务站").click()
    expect(page.get_by_text(f"服务站「{village}新服务站」已开设")).to_be_visible()
    expect(page.get_by_text("肖站长（xinzhan）")).to_be_visible()

    page.get_by_role("link", name="月报").click()
    page.get_by_label("月份").fill(THIS_MONTH)  # the demo's orders are this month's
    page.get_by_role("button", name="生成").click()
    expect(page.get_by_text(f"{THIS_MONTH} 月报已生成（草稿）")).to_be_visible()
    digest = page.locator("[data-digest]").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    page.get_by_role("button", name="提交扶贫办").click()
    expect(page.get_by_text("月报已提交扶贫办审核")).to_be_visible()
    expect(page.get_by_text("待审核", exact=True)).to_be_visible()


def test_station_manager_on_a_phone_prints_the_pick_list_and_ships_an_order(open_console):
    console = open_console(PHONE, is_mobile=True, has_touch=True)
    page = console.page
    console.sign_in("liu")
    expect(page.get_by_role("heading", name=re.compile("今日工作"))).to_be_visible()
    expect(page.get_by_role("button", name="菜单")).to_be_visible()  # the menu folds away on a phone

    page.get_by_role("link", name=re.compile("拣货单")).click()
    page.evaluate("window.print = () => { window.__printed = (window.__printed || 0) + 1; }")
    page.get_by_role("button", name="打印拣货单").click()
    assert page.evaluate("window.__printed") >= 1
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "station-pick-list-print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.get_by_role("link", name="返回").click()

    order = page.locator("article[aria-label^='订单']").first
    order_name = order.get_attribute("aria-label")
    order.get_by_label("快递公司").fill("顺丰速运")
    order.get_by_label("运单号").fill("SF2026081512")
    order.get_by_role("button", name="发货").click()
    expect(page.get_by_text(re.compile(r"订单 \d+ 已发货（顺丰速运 SF2026081512）"))).to_be_visible()
    expect(page.locator(f"article[aria-label='{order_name}']")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"


def test_poverty_office_approves_a_county_report_and_downloads_the_xlsx(open_console):
    county = open_console(DESKTOP)
    county.sign_in("chaling")
    county.page.get_by_role("link", name="月报").click()
    county.page.get_by_label("月份").fill(THIS_MONTH)
    county.page.get_by_role("button", name="生成").click()
    county.page.get_by_role("button", name="提交扶贫办").click()
    expect(county.page.get_by_text("月报已提交扶贫办审核")).to_be_visible()
    report_url = county.page.url

    office = open_console(DESKTOP)
    page = office.page
    office.sign_in("fupin")
    page.get_by_role("link", name="月报").click()
    page.locator(f"a[href='{report_url.removeprefix(office.base)}']").click()
    expect(page.get_by_text("摘要一致：冻结数据未被改动")).to_be_visible()
    expect(page.get_by_role("heading", name="本月数据与上月对照")).to_be_visible()
    page.get_by_label("审核意见").fill("数据与台账一致，同意。")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_text("月报已审核通过")).to_be_visible()
    expect(page.get_by_text("已审核通过", exact=True).first).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载 XLSX").click()
    download = download_info.value
    saved = ARTIFACTS / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    assert book.sheetnames[:3] == ["汇总", "分村", "分品类"]
    status = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert status["状态"] == "已审核通过"


def test_scope_and_csrf_are_enforced_in_the_browser(open_console):
    county = open_console(DESKTOP)
    county.expected_statuses |= {400, 403}
    page = county.page
    county.sign_in("yanling")
    response = page.goto(county.url("/console/dashboard?region=430224"))  # 茶陵县
    assert response.status == 403
    expect(page.get_by_role("heading", name=re.compile("没有权限"))).to_be_visible()
    response = page.goto(county.url("/console/stations/villages/430224100201"))
    assert response.status in (403, 404)

    page.goto(county.url("/console/reports/"))
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((input) => input.remove())")
    with page.expect_response(lambda r: r.url.endswith("/console/reports/") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="生成").click()
    assert posted.value.status == 400
    expect(page.get_by_role("heading", name=re.compile("表单已失效"))).to_be_visible()

    station = open_console(PHONE)
    station.expected_statuses |= {403}
    station.sign_in("liu")
    response = station.page.goto(station.url("/console/stations/"))
    assert response.status == 403
    response = station.page.goto(station.url("/console/reports/"))
    assert response.status == 403
    expect(station.page.get_by_text("没有权限").first).to_be_visible()


def test_every_menu_page_loads_cleanly_for_every_role(open_console, live_server):
    for username in ("admin", "fupin", "yanling", "liu"):
        console = open_console(DESKTOP)
        page = console.page
        console.sign_in(username)
        menu = page.locator("#console-menu .nav-link")
        hrefs = [menu.nth(i).get_attribute("href") for i in range(menu.count())]
        assert hrefs, f"{username} has no menu"
        for href in hrefs:
            response = page.goto(console.url(href))
            assert response.status == 200, (username, href)
            page.wait_for_load_state("networkidle")
        if username == "fupin":
            page.goto(console.url("/console/dashboard"))
            page.wait_for_timeout(1200)  # let the charts finish drawing for the screenshot


def test_a_payout_batchs_status_refreshes_itself(open_console):
    console = open_console(DESKTOP)
    page = console.page
    console.sign_in("yanling")
    page.get_by_role("link", name="结算").click()
    expect(page.get_by_role("heading", name="各方余额（卖家、服务站、县域电商中心）")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^批次 \d+$")).first.click()  # the demo's batch, not yet sent
    expect(page.get_by_text("转账进行中，本页自动刷新")).to_be_visible()
    for _ in range(2):  # htmx asks for the status part every 2 s: two refreshes arrive with no click
        page.wait_for_event("response", lambda r: r.url.endswith("/status") and r.status == 200)
    assert page.locator("#batch-status tbody tr").count() >= 1


def test_station_manager_on_a_phone_receives_pickups_and_plans_the_presale_harvest(open_console):
    console = open_console(PHONE, is_mobile=True, has_touch=True)
    console.expected_statuses |= {422}  # the wrong code below is refused with 422
    page = console.page
    console.sign_in("liu")
    expect(page.get_by_role("heading", name=re.compile("到站自提"))).to_be_visible()

    waiting = page.locator("article[aria-label^='自提订单']").filter(has_text="待到货").first
    waiting_name = waiting.get_attribute("aria-label")
    waiting.get_by_role("button", name="商品已到站，通知买家来取").click()
    expect(page.get_by_text(re.compile(r"自提订单 \d+ 已登记到站"))).to_be_visible()
    arrived = page.locator(f"article[aria-label='{waiting_name}']")
    expect(arrived).to_contain_text("已到站，待取货")

    arrived.get_by_label(re.compile("取货码")).fill("000000")
    arrived.get_by_role("button", name="核对并交付").click()
    expect(page.get_by_text("取货码不正确").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    arrived.screenshot(path=str(ARTIFACTS / "station-pickup-wrong-code.png"))

    page.get_by_role("link", name="预售备货").click()
    expect(page.get_by_role("heading", name=re.compile("预售备货"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"3月25日 – 4月10日发货"))).to_be_visible()  # the station's own 明前茶
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
