"""The verification email travels through a real broker to a real worker (the dsar queue)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsar.models import DataSubjectRequest

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_broker(celery_worker_process):
    """Undo the in-process mode of this folder's conftest: tasks must go through the broker. The
    shared fixture switches brokers by closing the app's pool, but kombu keeps the closed pool
    registered and Celery caches a producer pool on it; drop both before and after, so neither
    this test nor the next one publishes through a stale connection."""
    from kombu import pools

    from privacyops.celery import app

    def fresh_pools():
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.task_always_eager = False
    fresh_pools()
    yield celery_worker_process
    fresh_pools()


def test_the_verification_email_is_sent_by_a_worker_after_the_form_is_submitted(real_broker, client):
    celery_worker_process = real_broker
    response = client.post("/dsar/", {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com"})
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    # django-environ drops the leading slash of filemail:///abs/path, so the worker writes under
    # the work tree (see the request in docs/DSAR.md); look in both places and clean up.
    root = Path(__file__).resolve().parents[2]
    folders = [celery_worker_process.mail_dir, root / str(celery_worker_process.mail_dir).lstrip("/")]

    def written():
        return [path for folder in folders if folder.is_dir() for path in folder.glob("*")]

    try:
        celery_worker_process.wait_for(lambda: bool(written()), timeout=90, what="the verification email")
        message = "".join(path.read_text() for path in written())
    finally:
        stray = folders[1]
        if stray.is_dir():
            shutil.rmtree(stray)
            for parent in stray.parents:
                if parent == root or any(parent.iterdir()):
                    break
                parent.rmdir()
    assert "alice@example.com" in message and "/dsar/verify/" in message
    request.refresh_from_db()
    assert request.verification_sent_at is not None
