"""Sign-in and sign-out."""

from flask import Blueprint, g, redirect, render_template, request, url_for

from console.auth import mangled, safe_next, sign_in, sign_out, signed_in_staff
from console.feedback import notify
from console.menus import home_endpoint
from core import services
from core.errors import RateLimited, Unauthorized, ValidationFailed
from core.models import STAFF_ROLES

bp = Blueprint("auth", __name__)


def login_form(status: int = 200, **context):
    return (
        render_template(
            "auth/login.html",
            next=safe_next(request.values.get("next")),
            username=request.form.get("username", ""),
            expired=g.get("session_expired", False),
            **context,
        ),
        status,
    )


@bp.errorhandler(ValidationFailed)
def refused_input(error):
    """Input the request guard refused (a NUL in ``next`` …): the form again, not an error page."""
    return login_form(error.status, failure=error.message)


@bp.get("/login")
def login_page():
    """The sign-in form (a signed-in member goes straight to their home page)."""
    staff = signed_in_staff()
    if staff is not None and request.method == "GET":
        return redirect(url_for(home_endpoint(staff)))
    return login_form()


@bp.post("/login")
def login():
    """Check the password with the API's service: failures slow down per username and address, as for the API."""
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if mangled(request.form.get("next")):  # a forged or mangled form: show it again, without the address
        return login_form(422, failure="返回地址无效，请重新登录")
    if not username or not password:
        return login_form(422, missing=True)
    try:
        user = services.login_with_password(username, password, request.remote_addr)["user"]
    except Unauthorized as error:
        return login_form(401, failure=error.message)
    except RateLimited as error:
        return login_form(429, failure=error.message)
    if not user.has_role(*STAFF_ROLES):
        return login_form(401, not_staff=True)
    sign_in(user)
    notify("signed_in", name=user.display_name or user.username)
    return redirect(safe_next(request.form.get("next")) or url_for(home_endpoint(user)))


@bp.post("/logout")
def logout():
    """End the console session."""
    sign_out()
    notify("signed_out", "info")
    return redirect(url_for("console.auth.login_page"))
