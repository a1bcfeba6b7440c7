"""Regions, villages, county centres, service stations, sellers, workers, metrics."""
