"""What the mini-program reads at start: names, the service phone and the subscribe-message templates."""

from flask import current_app

# The topics the client asks a buyer to subscribe to, and the setting holding each one's template id.
SUBSCRIBE_TEMPLATES = {
    "order_shipped": "WECHAT_ORDER_SHIPPED_TEMPLATE_ID",
    "pickup_ready": "WECHAT_PICKUP_READY_TEMPLATE_ID",
    "refund_result": "WECHAT_REFUND_RESULT_TEMPLATE_ID",
    "group_result": "WECHAT_GROUP_RESULT_TEMPLATE_ID",
    "presale_due": "WECHAT_PRESALE_DUE_TEMPLATE_ID",
}


def client_config() -> dict:
    """The public client configuration; an unconfigured template is ``None``."""
    config = current_app.config
    return {
        "office_name": config["OFFICE_NAME"],
        "service_phone": config.get("SERVICE_PHONE") or None,
        "subscribe_templates": {
            topic: (config.get(setting) or "").strip() or None for topic, setting in SUBSCRIBE_TEMPLATES.items()
        },
        "min_client_version": config["MINIPROGRAM_MIN_VERSION"],
    }
