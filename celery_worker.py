"""Celery entry point: ``celery -A celery_worker worker`` and ``celery -A celery_worker beat`` (see docs/deploy.md)."""

import os

from celery.signals import worker_process_shutdown

from app import create_app
from core.metrics import mark_process_dead

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_process_shutdown.connect
def _forget_live_gauges(**_):
    mark_process_dead(os.getpid())
