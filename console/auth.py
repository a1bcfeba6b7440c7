"""Console sign-in: a signed session cookie naming the staff member, with idle expiry.

The cookie holds the user id, the user's ``token_version`` (bumped to revoke
every sign-in, as for API tokens) and the time of the last request; a session
idle for longer than ``CONSOLE_IDLE_MINUTES`` is dropped.
"""

import functools
import re
import time

from flask import current_app, g, redirect, request, session, url_for

from core.auth import scope_for
from core.extensions import db
from core.models import STAFF_ROLES, User

# Re-stamp the last-seen time at most this often, so not every response sets a cookie.
_SEEN_RESOLUTION = 60


def sign_in(user: User) -> None:
    """Start a console session for ``user`` (a fresh session: nothing survives from before)."""
    session.clear()
    session["staff_id"] = user.id
    session["staff_ver"] = user.token_version
    session["seen"] = int(time.time())


def sign_out() -> None:
    session.clear()


def signed_in_staff() -> User | None:
    """The staff member of this session, or None (never signed in, idle too long, revoked)."""
    if "staff" in g:
        return g.staff
    g.staff = None
    user_id = session.get("staff_id")
    if user_id is None:
        return None
    now = int(time.time())
    if now - int(session.get("seen", 0)) > current_app.config["CONSOLE_IDLE_MINUTES"] * 60:
        session.clear()
        g.session_expired = True
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.token_version != session.get("staff_ver"):
        session.clear()
        return None
    if not user.has_role(*STAFF_ROLES):
        session.clear()
        return None
    if now - int(session["seen"]) >= _SEEN_RESOLUTION:
        session["seen"] = now
    g.staff = user
    return user


# Control characters (C0, DEL, C1) and whitespace: a Location header cannot carry them, and a browser
# strips some of them, so "/console\t//evil" could leave the site.
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f-\x9f\s]")


def mangled(target: str | None) -> bool:
    """Whether a return address carries characters no link of ours has (a forged or mangled form)."""
    return bool(target and _UNSAFE_IN_PATH.search(target))


def safe_next(target: str | None) -> str | None:
    """A local console path to return to after sign-in (never another site, never a header injection)."""
    if (
        target
        and target.startswith("/console")
        and not target.startswith("//")
        and "\\" not in target
        and not mangled(target)
    ):
        return target
    return None


def staff_required(*roles: str):
    """The view needs a signed-in staff member (→ sign-in page) holding one of ``roles`` (→ 403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = signed_in_staff()
            if user is None:
                target = request.full_path.rstrip("?") if request.method == "GET" else None
                login = url_for("console.auth.login", next=target)
                if request.headers.get("HX-Request"):  # a partial update: htmx loads the sign-in page whole
                    return "", 204, {"HX-Redirect": login}
                return redirect(login)
            if roles:
                scope_for(user, *roles)  # Forbidden unless one of the roles is held
            return view(*args, **kwargs)

        return wrapper

    return decorator
