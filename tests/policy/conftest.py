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


SEEDED_MODELS = [
    "policy.PrivacyOfficer",
    "policy.ComplaintInstitution",
    "policy.PolicyVersion",
    "thirdparty.Processor",
    "retention.RetentionRule",
    "consent.Purpose",
    "consent.CookieCategory",
]


@pytest.fixture(scope="session", autouse=True)
def seeded_rows(django_db_setup, django_db_blocker) -> str:
    """The rows the policy page is rendered from, as the migrations seeded them, captured before
    any transactional test flushes the database. (Django's serialized_rollback keeps its copy on
    the connection object, which Playwright's running event loop hides: asgiref gives async
    contexts their own connections.)"""
    from django.apps import apps
    from django.core import serializers

    objects = []
    with django_db_blocker.unblock():
        for label in SEEDED_MODELS:
            try:
                model = apps.get_model(label)
            except LookupError:
                continue
            objects.extend(model._default_manager.order_by("pk"))
        return serializers.serialize("json", objects)


@pytest.fixture
def seeded_database(seeded_rows, transactional_db) -> None:
    """Put the seed rows back after an earlier transactional test flushed them."""
    from django.core import serializers

    # Per model: some apps re-seed their rows on post_migrate, which a flush also sends.
    empty: dict[type, bool] = {}
    for obj in serializers.deserialize("json", seeded_rows):
        model = type(obj.object)
        if model not in empty:
            empty[model] = not model._default_manager.exists()
        if empty[model]:
            obj.save()
