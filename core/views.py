"""System endpoints (health, readiness, API docs) and the auth API."""

from flask import Blueprint, abort, request, send_from_directory
from flask_smorest import Blueprint as ApiBlueprint
from swagger_ui_bundle import swagger_ui_path

from core import errors, readiness, services
from core.auth import authenticated
from core.client_config import client_config
from core.openapi import may_answer
from core.schemas import (
    ClientConfigSchema,
    MeSchema,
    PasswordLoginArgs,
    PhoneCodeArgs,
    PhoneSchema,
    RefreshArgs,
    TokenSchema,
    WechatLoginArgs,
)

system_bp = Blueprint("system", __name__)

_DOCS_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>株洲农村电商 API 文档</title>
<link rel="stylesheet" href="/api/v1/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/v1/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""
_DOCS_ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js"}


@system_bp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@system_bp.get("/readyz")
def readyz():
    """The database answers, and Redis and the task broker when configured; 503 names what fails."""
    checks = readiness.check_all()
    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        message = "服务未就绪：" + "、".join(failing)
        return errors.body("not_ready", message, checks), 503
    return {"status": "ok"}


@system_bp.get("/api/v1/docs")
def docs_page():
    """Browsable API docs; assets come from this app, never a CDN."""
    return _DOCS_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@system_bp.get("/api/v1/docs/assets/<name>")
def docs_asset(name: str):
    """Swagger UI's static files, shipped in the swagger-ui-bundle package."""
    if name not in _DOCS_ASSETS:
        abort(404)
    return send_from_directory(swagger_ui_path, name, max_age=86400)


auth_blp = ApiBlueprint("auth", __name__, description="登录与当前用户")


@auth_blp.post("/auth/wechat-login")
@auth_blp.arguments(WechatLoginArgs)
@auth_blp.response(200, TokenSchema)
@may_answer(auth_blp, 401, 502)
def wechat_login(args):
    """Sign in a mini-program user with the code from wx.login()."""
    return services.login_with_wechat(args["code"])


@auth_blp.post("/auth/login")
@auth_blp.arguments(PasswordLoginArgs)
@auth_blp.response(200, TokenSchema)
@may_answer(auth_blp, 401, 429)
def password_login(args):
    """Sign in staff with username and password; repeated failures make the next try wait (429)."""
    return services.login_with_password(args["username"], args["password"], request.remote_addr)


@auth_blp.post("/auth/refresh")
@auth_blp.arguments(RefreshArgs)
@auth_blp.response(200, TokenSchema)
@may_answer(auth_blp, 401)
def refresh(args):
    """Exchange a refresh token for a new access token."""
    return services.refresh_session(args["refresh_token"])


@auth_blp.get("/me")
@authenticated
@auth_blp.response(200, MeSchema)
def me(actor):
    """The signed-in user with roles and scopes."""
    return actor


@auth_blp.post("/auth/phone")
@authenticated
@auth_blp.arguments(PhoneCodeArgs)
@auth_blp.response(200, PhoneSchema)
@may_answer(auth_blp, 502)
def confirm_phone(args, actor):
    """Keep the phone number WeChat confirms for a getPhoneNumber button's code (stored encrypted)."""
    return services.confirm_phone_number(actor, args["code"])


@auth_blp.get("/client-config")
@auth_blp.response(200, ClientConfigSchema)
def get_client_config():
    """What the mini-program needs at start: office name, service phone, subscribe-message templates (public)."""
    return client_config()
