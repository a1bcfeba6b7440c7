"""What ``GET /readyz`` checks: the database, and Redis and the task broker when configured."""

import sqlalchemy as sa
from flask import current_app

from core.extensions import db

TIMEOUT_SECONDS = 2


def check_database() -> None:
    try:
        db.session.execute(sa.text("SELECT 1"))
    finally:
        db.session.rollback()


def check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()


def check_broker(url: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=TIMEOUT_SECONDS) as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)


def check_all() -> dict[str, str]:
    """``{"database": "ok", "redis": "ConnectionError", …}``: each configured dependency and how it answered."""
    from core.tasks import broker_url, uses_celery

    config = current_app.config
    checks = {"database": check_database}
    if config.get("REDIS_URL"):
        checks["redis"] = lambda: check_redis(config["REDIS_URL"])
    if uses_celery(current_app):
        checks["broker"] = lambda: check_broker(broker_url(config))
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; its type names it (no URLs, secrets)
            results[name] = type(exc).__name__
    return results
