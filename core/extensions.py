"""Extension instances, created unbound and initialised by the app factory."""

from typing import ClassVar

from flask import request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api, Blueprint
from flask_sqlalchemy import SQLAlchemy
from webargs.flaskparser import FlaskParser

from core.db import Base
from core.errors import error_response


class ContractApi(Api):
    """flask-smorest Api whose HTTP errors use the contract's error body."""

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
