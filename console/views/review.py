"""商品审核 (county): the queue with photos and the content check, decisions, certification."""

from flask import Blueprint, redirect, render_template, request, url_for

from console.auth import signed_in_staff, staff_required
from console.feedback import notify
from console.forms import form_page, load_form
from console.menus import REVIEW_ROLES
from shop import review
from shop.access import product_for_reviewer
from shop.models import ProductStatus, ReviewDecision
from shop.schemas import CertifyArgs, ReviewArgs, RevokeArgs

bp = Blueprint("review", __name__, url_prefix="/review")
PER_PAGE = 20


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/")
@staff_required(*REVIEW_ROLES)
def queue():
    """Listings of the county in a status (waiting for review by default), oldest submission first."""
    status = request.args.get("status", ProductStatus.PENDING_REVIEW)
    if status not in tuple(ProductStatus):
        status = ProductStatus.PENDING_REVIEW
    result = review.review_queue(signed_in_staff(), status, None, max(_page(), 1), PER_PAGE)
    return render_template("review/queue.html", result=result, status=status, statuses=tuple(ProductStatus))


@bp.get("/products/<int:product_id>")
@staff_required(*REVIEW_ROLES)
def product(product_id: int):
    """One listing with its photos, text, SKUs, the content check, the seller's facts and the trail."""
    staff = signed_in_staff()
    item = product_for_reviewer(staff, product_id)
    return render_template(
        "review/product.html",
        product=item,
        history=review.review_history(staff, product_id),
        certifiable=review.certification_allowed(item),
    )


def _back(product_id: int):
    return redirect(url_for(".product", product_id=product_id))


@bp.post("/products/<int:product_id>/decision")
@staff_required(*REVIEW_ROLES)
@form_page(product)
def decide(product_id: int):
    """Approve (optionally certifying) or reject with a reason."""
    decision = load_form(ReviewArgs(), booleans=("poverty_certified",))
    item = review.review_product(signed_in_staff(), product_id, decision)
    if decision["decision"] == ReviewDecision.REJECT:
        notify("product_rejected", "info", title=item.title)
        return redirect(url_for(".queue"))
    notify("product_approved_certified" if item.poverty_certified else "product_approved", title=item.title)
    return _back(product_id)


@bp.post("/products/<int:product_id>/certification")
@staff_required(*REVIEW_ROLES)
@form_page(product)
def certify(product_id: int):
    """Certify as a poverty-alleviation product with its certificate number."""
    data = load_form(CertifyArgs())
    item = review.certify_product(signed_in_staff(), product_id, data["certificate_no"], data.get("certified_on"))
    notify("product_certified", title=item.title)
    return _back(product_id)


@bp.post("/products/<int:product_id>/certification/revoke")
@staff_required(*REVIEW_ROLES)
@form_page(product)
def revoke(product_id: int):
    """Withdraw the certification, with a reason for the trail."""
    data = load_form(RevokeArgs())
    item = review.revoke_certification(signed_in_staff(), product_id, data["reason"])
    notify("certification_revoked", "info", title=item.title)
    return _back(product_id)
