"""订单: the county's and the city's order list with filters, one order with its trail."""

from tests.ledger_helpers import paid_order, ship_and_confirm
from tests.orders import place


def test_the_county_sees_orders_with_its_lines_only(client, staff, as_user):
    both = paid_order(client, staff, [(staff["peach_5"], 1), (staff["garlic"], 2)])
    garlic_only = paid_order(client, staff, [(staff["garlic"], 1)])
    html = as_user(staff["yanling"]).get("/console/orders/").text
    assert f'/console/orders/{both["id"]}"' in html and f'/console/orders/{garlic_only["id"]}"' not in html
    assert "茶陵大蒜" not in html and "¥68.00" in html


def test_filters_by_status_station_and_date(client, staff, as_user):
    paid = paid_order(client, staff, [(staff["peach_5"], 1)])
    unpaid = place(client, staff, [(staff["peach_5"], 1)]).json
    office = as_user(staff["office"])
    only_paid = office.get("/console/orders/?status=paid").text
    assert f'/console/orders/{paid["id"]}"' in only_paid and f'/console/orders/{unpaid["id"]}"' not in only_paid
    garlic = office.get(f"/console/orders/?station_id={staff['garlic_station'].id}").text
    assert f'/console/orders/{paid["id"]}"' not in garlic
    future = office.get("/console/orders/?placed_from=2099-01-01").text
    assert f'/console/orders/{paid["id"]}"' not in future
    today = office.get("/console/orders/?placed_from=2000-01-01&placed_to=2099-12-31").text
    assert f'/console/orders/{paid["id"]}"' in today and f'/console/orders/{unpaid["id"]}"' in today
    bad = office.get("/console/orders/?placed_from=yesterday")
    assert bad.status_code == 200 and "日期格式应为 YYYY-MM-DD" in bad.text


def test_an_order_shows_its_trail_and_masked_recipient(client, staff, as_user):
    order = paid_order(client, staff, [(staff["peach_5"], 1)])
    ship_and_confirm(client, staff, order["id"])
    html = as_user(staff["yanling"]).get(f"/console/orders/{order['id']}").text
    assert "138****5678" in html and "13812345678" not in html
    assert "顺丰速运" in html and "待支付 → 待发货" in html and "买家：已发货 → 已完成" in html
    assert staff["buyer"].display_name not in html


def test_another_countys_order_is_not_found_and_stations_use_their_own_page(client, staff, as_user):
    order = paid_order(client, staff, [(staff["garlic"], 1)])
    assert as_user(staff["yanling"]).get(f"/console/orders/{order['id']}").status_code == 404
    assert as_user(staff["liu"]).get("/console/orders/").status_code == 403
