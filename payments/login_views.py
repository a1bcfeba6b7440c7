"""``POST /auth/alipay-login``: the Alipay mini-program's sign-in, beside the WeChat and password logins.

The Alipay code exchange needs the Alipay SDK client (``payments.providers``),
which core may not import; so the route lives here, on a blueprint of its own
that shares the auth blueprint's OpenAPI tag, and ``payments.register`` mounts it.
"""

from flask_smorest import Blueprint

from core.openapi import may_answer
from core.schemas import AlipayLoginArgs, TokenSchema
from payments.login import login_with_alipay

alipay_login_blp = Blueprint("alipay_auth", __name__, description="支付宝小程序登录")


@alipay_login_blp.post("/auth/alipay-login")
@alipay_login_blp.arguments(AlipayLoginArgs)
@alipay_login_blp.response(200, TokenSchema)
@may_answer(alipay_login_blp, 401, 502)
def alipay_login(args):
    """Sign in an Alipay mini-program user with the auth code from my.getAuthCode."""
    return login_with_alipay(args["auth_code"])
