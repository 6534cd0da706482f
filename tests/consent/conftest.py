from __future__ import annotations

import pytest
from django.core.cache import cache

from privacyops.celery import app as celery_app


@pytest.fixture(autouse=True)
def _fresh_rate_limits(django_db_setup, django_db_blocker):
    # The rate limiter counts in the cache, a database table that a test that commits (a live
    # server, a worker) leaves behind; each test starts with none spent.
    with django_db_blocker.unblock():
        cache.clear()


@pytest.fixture
def eager_tasks():
    """Run tasks enqueued on commit in-process (a convenience; the worker test covers the real path)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def carol(db):
    from subjects.models import CollectionSource, DataSubject

    return DataSubject.objects.create(
        name="Carol Park", email="carol@example.com", phone="010-3333-4444", source=CollectionSource.OFFLINE_EVENT
    )


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the services inside leave for after their commit (emails),
    as production does once the transaction commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
