"""Extension instances, created unbound and initialised by the app factory."""

from typing import ClassVar

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name
from flask_migrate import Migrate
from flask_smorest import Api, Blueprint
from flask_sqlalchemy import SQLAlchemy
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter

from core.db import Base
from core.errors import NotFound, error_response
from core.openapi import ErrorResponsesPlugin, ErrorSchema

# The largest value of an INTEGER column (PostgreSQL's int4, the ids' type).
MAX_DATABASE_INTEGER = 2**31 - 1


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:…>`` path segments, documented as at most a database INTEGER.

    A larger number names nothing: ``not_found_past_database_integers`` answers
    404 before any view, whatever the method, where the database used to
    overflow (SQLite's OverflowError, PostgreSQL's DataError) into a 404 for GET
    but a 422 for other methods, undocumented for an action without a body.
    (Werkzeug's own ``max`` would turn such a path into a 405 where another
    method's route has the same shape.)
    """


def _integer_parameter_schema(converter) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": MAX_DATABASE_INTEGER}


def not_found_past_database_integers(endpoint, values) -> None:
    if values and any(type(value) is int and value > MAX_DATABASE_INTEGER for value in values.values()):
        raise NotFound()


class ContractApi(Api):
    """flask-smorest Api whose HTTP errors, and their documentation, use the contract's error body.

    Every operation documents its own error statuses (core.openapi), not a catch-all ``default``.
    """

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app, *args, **kwargs):
        app.url_map.converters["int"] = DatabaseIntegerConverter  # before any route is added
        app.url_value_preprocessor(not_found_past_database_integers)
        super().init_app(app, *args, **kwargs)
        self.register_converter(DatabaseIntegerConverter, _integer_parameter_schema)

    def _init_spec(self, *, extra_plugins=None, **options):
        plugins = [*(extra_plugins or ()), ErrorResponsesPlugin(self._view_is_rate_limited)]
        super()._init_spec(extra_plugins=plugins, **options)

    def _view_is_rate_limited(self, rule) -> bool:
        view = self._app.view_functions.get(rule.endpoint)
        return view is not None and bool(limiter.limit_manager.decorated_limits(get_qualified_name(view)))

    def handle_http_exception(self, error):
        return error_response(error)


class ContractParser(FlaskParser):
    """Unknown query parameters are a 422 like unknown JSON fields, not silently ignored.

    A misspelt filter (``?categroy=tea``) would otherwise return an unfiltered list
    that looks like an answer.
    """

    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }


# Every flask-smorest blueprint parses its arguments with this parser.
Blueprint.ARGUMENTS_PARSER = ContractParser()


def _client_address() -> str:
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = ContractApi()
limiter = Limiter(key_func=_client_address, default_limits=[])
