"""Regions, villages, county centres, service stations, sellers, workers, metrics."""


def register(app) -> None:
    """The region, village and station endpoints and the regions/users commands."""
    from core.extensions import api
    from villages.cli import regions_cli, users_cli
    from villages.seller_views import sellers_blp
    from villages.station_views import stations_blp
    from villages.views import regions_blp, villages_blp

    for blueprint in (regions_blp, villages_blp, stations_blp, sellers_blp):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    app.cli.add_command(users_cli)
    app.cli.add_command(regions_cli)
