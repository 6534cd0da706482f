from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from privacyops.celery import app as celery_app

from . import mail_backends

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


@pytest.fixture
def now():
    """Time frozen at 1 March 2026, 15:00 Seoul (ticking, so timestamps still advance)."""
    with time_machine.travel(seoul(2026, 3, 1, 15, 0), tick=True) as traveller:
        yield traveller


@pytest.fixture
def scripted_mail(settings):
    settings.EMAIL_BACKEND = "tests.policy.mail_backends.ScriptedBackend"
    mail_backends.reset()
    yield mail_backends.ScriptedBackend
    mail_backends.reset()


@pytest.fixture
def eager_celery():
    """Run tasks enqueued on commit in-process (a convenience; the worker path is the same service)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def english():
    """Messages of services and forms in English, to match them in assertions."""
    with translation.override("en"):
        yield
