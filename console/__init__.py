"""工作台: the server-rendered web console at /console, over the same services as the API.

The top floor of the packages: it imports services from core, villages, shop,
payments and reports; nothing imports it except the app factory, which calls
``register``.
"""


def register(app) -> None:
    """CSRF protection for the console's forms, its template filters and its blueprints."""
    from console.blueprint import console_bp, csrf
    from console.filters import register_filters

    csrf.init_app(app)
    register_filters(app)
    app.register_blueprint(console_bp)
