"""Production refuses settings that break once several processes and machines serve (issue 15)."""

import pytest

from core.config import ProductionConfig
from tests.core.test_config import _problems, production  # noqa: F401 - the fixture


def test_production_needs_a_shared_store_that_is_also_the_broker(production):  # noqa: F811
    production.delenv("REDIS_URL")
    production.setenv("CELERY_BROKER_URL", "amqp://guest:guest@mq//")
    assert "REDIS_URL is required in production" in _problems(ProductionConfig())
    production.setenv("REDIS_URL", "redis://cache:6379/0")
    production.setenv("WEB_CONCURRENCY", "9")
    ProductionConfig().validate()  # several workers with Redis and RabbitMQ: fine


def test_production_refuses_sqlite_and_inline_tasks(production):  # noqa: F811
    production.setenv("DATABASE_URL", "sqlite:////srv/zhuzhou.db")
    production.setenv("TASKS_EAGER", "1")
    production.setenv("WEB_CONCURRENCY", "5")
    problems = _problems(ProductionConfig())
    assert "production needs PostgreSQL (DATABASE_URL): several processes (5 gunicorn workers" in problems
    assert "TASKS_EAGER must be off in production" in problems


def test_production_refuses_s3_storage_with_a_missing_variable(production):  # noqa: F811
    production.setenv("STORAGE_BACKEND", "s3")
    for name, value in {
        "S3_BUCKET": "zz",
        "S3_REGION": "cn-hangzhou",
        "S3_ACCESS_KEY_ID": "id",
        "S3_PUBLIC_BASE_URL": "https://media.example.cn/",
    }.items():
        production.setenv(name, value)
    production.delenv("S3_SECRET_ACCESS_KEY", raising=False)
    assert "STORAGE_BACKEND=s3 needs S3_SECRET_ACCESS_KEY" in _problems(ProductionConfig())
    production.setenv("S3_SECRET_ACCESS_KEY", "secret")
    ProductionConfig().validate()


def test_production_runs_no_in_process_scheduler_and_logs_json(production):  # noqa: F811
    config = ProductionConfig()
    assert config.IN_PROCESS_SCHEDULER is False
    assert config.LOG_FORMAT == "json"
    assert config.SQLALCHEMY_ENGINE_OPTIONS["hide_parameters"] is True


@pytest.mark.parametrize("value", ["xml", "JSONL"])
def test_an_unknown_log_format_is_refused(production, value):  # noqa: F811
    production.setenv("LOG_FORMAT", value)
    assert "LOG_FORMAT must be json or text" in _problems(ProductionConfig())
