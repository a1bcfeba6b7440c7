"""Signals the villages package sends; higher packages subscribe (never import down-up)."""

from blinker import Namespace

_signals = Namespace()

# Sent with the Seller as sender when a villager opens their own page; receivers
# return a dict of extra sections (products, sales, balances) to merge in.
seller_dashboard_requested = _signals.signal("seller-dashboard-requested")
