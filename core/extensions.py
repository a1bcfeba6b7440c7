"""Extension instances, created unbound and initialised by the app factory."""

from flask import request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from core.db import Base
from core.errors import error_response


class ContractApi(Api):
    """flask-smorest Api whose HTTP errors use the contract's error body."""

    def handle_http_exception(self, error):
        return error_response(error)


def _client_address() -> str:
    return request.remote_addr or "unknown"


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = ContractApi()
limiter = Limiter(key_func=_client_address, default_limits=[])
