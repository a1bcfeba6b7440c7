"""平台管理 (platform admins): the managed category list and staff accounts."""

from flask import Blueprint, redirect, render_template, request, url_for

from console.auth import signed_in_staff, staff_required
from console.feedback import notify
from console.forms import form_page, load_form
from console.menus import ADMIN_ROLES
from shop import categories
from shop.schemas import CategoryArgs, CategoryPatchArgs
from villages import staff as staff_accounts
from villages.schemas import StaffArgs

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@staff_required(*ADMIN_ROLES)
def index():
    """Categories (active and inactive) and staff accounts."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return render_template(
        "admin/index.html",
        categories=categories.list_categories(True, 1, 100)["items"],
        accounts=staff_accounts.list_staff(signed_in_staff(), page, 50),
    )


@bp.post("/categories")
@staff_required(*ADMIN_ROLES)
@form_page(index)
def create_category():
    """Add a category (its slug never changes)."""
    category = categories.create_category(
        signed_in_staff(), load_form(CategoryArgs(), ints=("sort_order",), booleans=("is_active",))
    )
    notify("category_created", name=category.name)
    return redirect(url_for(".index"))


@bp.post("/categories/<slug>")
@staff_required(*ADMIN_ROLES)
@form_page(index)
def update_category(slug: str):
    """Rename, reorder, (de)activate."""
    changes = load_form(CategoryPatchArgs(), ints=("sort_order",), booleans=("is_active",))
    category = categories.update_category(signed_in_staff(), slug, changes)
    notify("category_updated", name=category.name)
    return redirect(url_for(".index"))


@bp.post("/staff")
@staff_required(*ADMIN_ROLES)
@form_page(index)
def create_staff():
    """A staff account with its role and region (or station)."""
    user = staff_accounts.create_staff_account(signed_in_staff(), load_form(StaffArgs(), ints=("station_id",)))
    notify("staff_created", username=user.username)
    return redirect(url_for(".index"))


@bp.post("/staff/<int:user_id>/<any(suspend, reactivate):action>")
@staff_required(*ADMIN_ROLES)
@form_page(index)
def staff_account(user_id: int, action: str):
    """Suspend (ends every sign-in at once) or restore an account."""
    user = staff_accounts.set_staff_active(signed_in_staff(), user_id, action == "reactivate")
    notify("account_reactivated" if user.is_active else "account_suspended", "info", username=user.username)
    return redirect(url_for(".index"))
