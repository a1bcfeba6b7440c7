"""商品审核: the queue, approving with certification, rejecting with a reason, certify and revoke."""

import sqlalchemy as sa

from shop.models import Product, ProductReviewEvent
from tests import factories


def _pending(staff, poor_household=True, **fields):
    seller = factories.seller(staff["peach_station"], poor_household=poor_household)
    return factories.product(staff["peach_station"], seller, status="pending_review", title="待审黄桃", **fields)


def _events(db, product_id):
    return list(
        db.session.scalars(sa.select(ProductReviewEvent.action).where(ProductReviewEvent.product_id == product_id))
    )


def test_the_queue_lists_the_countys_waiting_products_only(staff, as_user):
    mine = _pending(staff, content_flagged=True)
    factories.product(staff["garlic_station"], status="pending_review", title="茶陵待审大蒜")
    html = as_user(staff["yanling"]).get("/console/review/").text
    assert "待审黄桃" in html and "茶陵待审大蒜" not in html
    assert f"/console/review/products/{mine.id}" in html and "需人工复核" in html
    on_sale = as_user(staff["yanling"]).get("/console/review/?status=on_sale").text
    assert "待审黄桃" not in on_sale


def test_approve_and_certify_in_one_step(db, staff, as_user, post):
    product = _pending(staff)
    client = as_user(staff["yanling"])
    page = client.get(f"/console/review/products/{product.id}")
    assert page.status_code == 200 and "同时认定为扶贫产品" in page.text
    response = post(
        f"/console/review/products/{product.id}/decision",
        {"decision": "approve", "poverty_certified": "on", "certificate_no": "ZZFP-2026-001"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.status == "on_sale" and product.poverty_certified and product.certificate_no == "ZZFP-2026-001"
    assert _events(db, product.id) == ["approved", "certified"]
    assert "已审核通过并认定为扶贫产品" in client.get(response.headers["Location"]).text


def test_certifying_without_a_certificate_number_shows_the_error_by_the_field(db, staff, as_user, post):
    product = _pending(staff)
    as_user(staff["yanling"])
    response = post(
        f"/console/review/products/{product.id}/decision", {"decision": "approve", "poverty_certified": "on"}
    )
    assert response.status_code == 422
    assert 'class="form-control is-invalid" id="f-console-review-products-' in response.text
    assert "扶贫产品认定须填写认定证书编号" in response.text
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "pending_review"  # nothing changed
    assert _events(db, product.id) == []


def test_reject_needs_a_reason_and_records_it(db, staff, as_user, post):
    product = _pending(staff)
    as_user(staff["yanling"])
    refused = post(f"/console/review/products/{product.id}/decision", {"decision": "reject"})
    assert refused.status_code == 422 and "驳回时须填写原因" in refused.text
    response = post(f"/console/review/products/{product.id}/decision", {"decision": "reject", "reason": "图片模糊"})
    assert response.status_code == 302 and response.headers["Location"] == "/console/review/"
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.status == "rejected" and product.rejection_reason == "图片模糊"


def test_certify_then_revoke_an_on_sale_product(db, staff, as_user, post):
    seller = factories.seller(staff["peach_station"], poor_household=True)
    product = factories.product(staff["peach_station"], seller, title="在售黄桃")
    as_user(staff["yanling"])
    assert post(f"/console/review/products/{product.id}/certification", {"certificate_no": "ZZ-9"}).status_code == 302
    conflict = post(f"/console/review/products/{product.id}/certification", {"certificate_no": "ZZ-10"})
    assert conflict.status_code == 409 and "已认定为扶贫产品" in conflict.text
    assert post(f"/console/review/products/{product.id}/certification/revoke", {"reason": "x"}).status_code == 422
    revoked = post(f"/console/review/products/{product.id}/certification/revoke", {"reason": "抽检不合格"})
    assert revoked.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Product, product.id).poverty_certified
    assert _events(db, product.id) == ["certified", "certification_revoked"]


def test_another_countys_products_are_out_of_reach(staff, as_user, post):
    on_sale = factories.product(staff["garlic_station"], title="茶陵大蒜在售")
    pending = factories.product(staff["garlic_station"], status="pending_review")
    client = as_user(staff["yanling"])
    assert client.get(f"/console/review/products/{on_sale.id}").status_code == 403
    assert client.get(f"/console/review/products/{pending.id}").status_code == 404  # existence not revealed
    assert post(f"/console/review/products/{pending.id}/decision", {"decision": "approve"}).status_code == 404


def test_station_managers_and_the_office_cannot_review(staff, as_user):
    product = _pending(staff)
    for who in ("liu", "office"):
        client = as_user(staff[who])
        assert client.get("/console/review/").status_code == 403
        assert client.get(f"/console/review/products/{product.id}").status_code == 403


def test_decisions_need_the_csrf_token(db, staff, as_user):
    product = _pending(staff)
    client = as_user(staff["yanling"])
    response = client.post(f"/console/review/products/{product.id}/decision", data={"decision": "approve"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "pending_review"
