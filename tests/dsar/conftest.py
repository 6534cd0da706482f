"""Fixtures for the data-subject-request tests: private storage in a temporary folder, a clean
rate limiter, Celery tasks run in-process, and requests in each state of the workflow."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.utils import translation

from dsar import services
from dsar.models import DataSubjectRequest, RequestType


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DSAR_PRIVATE_ROOT = tmp_path / "media" / "private" / "dsar"
    settings.SITE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _clean_limiter(django_db_setup, django_db_blocker):
    # The counters live in the database's cache table, which a test that commits (a live server,
    # a worker) leaves behind: each test starts with none spent.
    with django_db_blocker.unblock():
        cache.clear()


@pytest.fixture(autouse=True)
def _english_messages():
    """Service errors are asserted in English; notices follow each request's own language."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _eager_tasks():
    from privacyops.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


LINK = re.compile(r"http://testserver(/dsar/[a-z]+/[^\s]+/)")


def link_in(message) -> str:
    """The path of the /dsar/ link in an email."""
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def submit(db, django_capture_on_commit_callbacks):
    """Submit a web request and run what is queued on commit (the verification email)."""

    def _submit(email: str = "alice@example.com", request_type: str = RequestType.ACCESS, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return services.submit_request(
                request_type=request_type, name=extra.pop("name", "Alice Kim"), email=email, **extra
            )

    return _submit


@pytest.fixture
def verified(submit, client, mailoutbox):
    """A web request confirmed through its emailed link: `verified("alice@example.com", "deletion")`."""

    def _verified(email: str = "alice@example.com", request_type: str = RequestType.ACCESS) -> DataSubjectRequest:
        request = submit(email, request_type)
        path = link_in(mailoutbox[-1])
        response = client.post(path)
        assert response.status_code == 200, response.content
        request.refresh_from_db()
        assert request.verified_at is not None
        # The request left its language active in this thread; service errors are asserted in English.
        translation.activate("en")
        return request

    return _verified


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs what the services inside leave for after their commit (emails,
    vendor calls), as production does once the transaction commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def approve(overseer):
    """The second person's approval of what waits on a request (four eyes)."""
    from dsar import services

    def _approve(request, **kwargs):
        return services.decide_request_approval(request=request, actor=overseer, approve=True, **kwargs)

    return _approve
