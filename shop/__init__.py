"""Catalogue, orders and shipping."""
