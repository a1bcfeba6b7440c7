"""Catalogue, orders and shipping."""


def register(app) -> None:
    """Catalogue, order, group, batch and cart endpoints, the media files, the shop's receivers, commands and jobs."""
    import shop.groups.tasks
    import shop.orders.tasks  # noqa: F401 - declares the order jobs (core.tasks)
    from core.extensions import api
    from shop import receivers
    from shop.batches.views import batches_blp, trace_page_blp
    from shop.cart.views import cart_blp
    from shop.groups.views import groups_blp
    from shop.orders.cli import orders_cli
    from shop.orders.views import orders_blp
    from shop.views import media_bp, products_blp

    app.register_blueprint(media_bp)
    for blueprint in (products_blp, orders_blp, groups_blp, batches_blp, cart_blp):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    api.register_blueprint(trace_page_blp)  # /t/<code>: the short URL printed in QR codes
    receivers.connect()
    app.cli.add_command(orders_cli)
