"""Crash points (core.faults) are armed only by a test's configuration, never by the environment alone."""

import pytest

from app import create_app
from core import faults
from core.config import Config, ProductionConfig, TestConfig
from tests.core.test_config import _problems, production  # noqa: F401 - the fixture


@pytest.fixture
def restore_armed():
    yield
    faults._armed = None


def test_the_environment_does_not_arm_a_development_app(monkeypatch, tmp_path, restore_armed):
    monkeypatch.setenv("ZZ_FAULT_AT", "checkout.reserved")
    monkeypatch.setenv("SECRET_KEY", "k" * 64)  # not the dev key file under instance/
    config = Config()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/dev.db"
    assert config.FAULT_AT is None
    create_app(config)
    assert faults.armed() is None
    faults.fault_point("checkout.reserved")  # still alive


def test_a_test_configuration_arms_the_named_point_only(monkeypatch, tmp_path, restore_armed):
    monkeypatch.setenv("ZZ_FAULT_AT", "refund.gateway_answered")
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/test.db"
    create_app(config)
    assert faults.armed() == "refund.gateway_answered"
    faults.fault_point("checkout.reserved")  # another point: nothing happens
    died = []
    monkeypatch.setattr(faults.os, "_exit", died.append)
    faults.fault_point("refund.gateway_answered")
    assert died == [faults.EXIT_STATUS]


def test_production_refuses_a_crash_point(production, monkeypatch):  # noqa: F811
    monkeypatch.setattr(ProductionConfig, "FAULT_AT", "payout.transferred")
    assert "crash points (FAULT_AT) and TESTING are for the test suite only" in _problems(ProductionConfig())
