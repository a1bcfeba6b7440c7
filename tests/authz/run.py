"""Running one cell of the matrix: the request a role makes to a route, and the class of the answer."""

from tests.authz.requests import ARGUMENTS, BODIES, URL_ARGUMENTS
from tests.console.conftest import csrf_token, sign_in

# Values of URL arguments that are not records.
LITERALS = {
    "docs_asset": "swagger-ui.css",
    "static_file": "robots.txt",  # the app has no static folder of its own: 404 for everyone
    "console_css": "css/console.css",
    "unknown_path": "no-such-page",
    "suspend": "suspend",
}

# The error code the contract gives each refusal (API.md, Conventions).
REFUSAL_CODES = {401: "invalid_token", 403: "forbidden", 404: "not_found"}


def find_rule(app, method: str, rule: str):
    for candidate in app.url_map.iter_rules():
        if candidate.rule == rule and method in candidate.methods:
            return candidate
    raise LookupError(f"no rule {method} {rule} in app.url_map")


def url_for_cell(app, world: dict, method: str, rule: str) -> str:
    ids = {**LITERALS, **world["ids"]}
    overrides = URL_ARGUMENTS.get((method, rule), {})
    target = find_rule(app, method, rule)
    values = {argument: ids[overrides.get(argument, ARGUMENTS[argument])] for argument in target.arguments}
    return target.build(values, append_unknown=False)[1]


def is_console(rule: str) -> bool:
    return rule.startswith("/console")


def request_cell(app, client, world: dict, method: str, rule: str, role: str):
    """The response to ``role`` asking ``method rule`` with the world's records and a minimal valid body."""
    url = url_for_cell(app, world, method, rule)
    kwargs = BODIES[(method, rule)](world["ids"]) if (method, rule) in BODIES else {}
    if is_console(rule):
        if role != "anonymous":
            sign_in(client, _user(world, role))
        if method == "POST":
            kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": csrf_token(app, client)}
    else:
        kwargs["headers"] = {**world["headers"][role], **kwargs.get("headers", {})}
    return client.open(url, method=method, **kwargs)


def _user(world, role):
    from core.extensions import db
    from core.models import User

    return db.session.get(User, world["users"][role])


def outcome(response, rule: str) -> str:
    """The class of an answer: ``login``, ``401``, ``403``, ``404``, ``422`` or ``ok`` (past authorization).

    An API refusal carrying another error code than the contract's is reported with it
    (``403:some_code``), so a refusal for the wrong reason does not pass for the right one.
    """
    status = response.status_code
    if status in (301, 302, 303) and response.headers.get("Location", "").startswith("/console/login"):
        return "login"
    if status not in (401, 403, 404, 422):
        return "ok"
    if is_console(rule) or status == 422:
        return str(status)
    body = response.get_json(silent=True) or {}
    code = (body.get("error") or {}).get("code")
    return str(status) if code == REFUSAL_CODES[status] else f"{status}:{code}"
