"""Cart API: the signed-in user's cart, kept on the server."""

from flask_smorest import Blueprint

from core.auth import authenticated
from shop.cart import services
from shop.cart.schemas import CartQuantityArgs, CartSchema

cart_blp = Blueprint("cart", __name__, description="购物车")


@cart_blp.get("/cart")
@authenticated
@cart_blp.response(200, CartSchema)
def get_cart(actor):
    """The caller's cart at today's prices; items that cannot be ordered stay with ``available: false``."""
    return services.get_cart(actor)


@cart_blp.put("/cart/items/<int:sku_id>")
@authenticated
@cart_blp.arguments(CartQuantityArgs)
@cart_blp.response(200, CartSchema)
def put_item(args, sku_id, actor):
    """Set a SKU's quantity (1–99; 0 removes it); at most 50 distinct SKUs (409)."""
    return services.set_quantity(actor, sku_id, args["quantity"])


@cart_blp.delete("/cart/items/<int:sku_id>")
@authenticated
@cart_blp.response(200, CartSchema)
def delete_item(sku_id, actor):
    """Take a SKU out of the cart."""
    return services.remove_item(actor, sku_id)
