"""Sign-in for the Alipay mini-program build: alipay.system.oauth.token through the SDK."""

import sqlalchemy as sa

from core.errors import Unauthorized, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.services import grant_role, start_session
from payments.providers import Channel, PaymentGatewayError, PaymentRejected, channel_active, get_alipay


def login_with_alipay(auth_code: str) -> dict:
    """Exchange the auth code and find or create the buyer by Alipay user id / open id."""
    if not channel_active(Channel.ALIPAY_MINI):
        raise ValidationFailed.field("auth_code", "本平台未开通支付宝登录")
    try:
        identity = get_alipay().exchange_auth_code(auth_code)
    except PaymentRejected as exc:
        raise Unauthorized("支付宝授权码无效或已使用，请重新登录") from exc
    except PaymentGatewayError:
        raise
    alipay_id = identity.get("user_id") or identity.get("open_id")
    if not alipay_id:
        raise PaymentGatewayError()
    user = db.session.scalar(sa.select(User).where(User.alipay_user_id == alipay_id))
    if user is None:
        user = User(alipay_user_id=alipay_id, display_name="支付宝用户")
        db.session.add(user)
        db.session.flush()
    if not user.is_active:
        raise Unauthorized("账号已停用")
    grant_role(user, Role.BUYER)
    return start_session(user)
