"""Extension instances, created unbound and initialised by the app factory."""

from typing import ClassVar

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name
from flask_migrate import Migrate
from flask_smorest import Api, Blueprint
from flask_sqlalchemy import SQLAlchemy
from webargs.flaskparser import FlaskParser

from core.db import Base
from core.errors import error_response
from core.openapi import ErrorResponsesPlugin, ErrorSchema


class ContractApi(Api):
    """flask-smorest Api whose HTTP errors, and their documentation, use the contract's error body.

    Every operation documents its own error statuses (core.openapi), not a catch-all ``default``.
    """

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

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
