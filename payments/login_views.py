"""``POST /auth/alipay-login``, served by the auth blueprint beside the WeChat and password logins.

The Alipay code exchange needs the Alipay SDK client (``payments.providers``),
which core may not import; so this module adds the route to core's auth
blueprint. ``payments.views`` imports it, before the app registers the blueprints.
"""

from core.openapi import may_answer
from core.schemas import AlipayLoginArgs, TokenSchema
from core.views import auth_blp
from payments.login import login_with_alipay


@auth_blp.post("/auth/alipay-login")
@auth_blp.arguments(AlipayLoginArgs)
@auth_blp.response(200, TokenSchema)
@may_answer(auth_blp, 401, 502)
def alipay_login(args):
    """Sign in an Alipay mini-program user with the auth code from my.getAuthCode."""
    return login_with_alipay(args["auth_code"])
