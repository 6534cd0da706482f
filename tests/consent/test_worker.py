"""The result notice travels through a real broker to a real worker process."""

from __future__ import annotations

import pytest

from consent import services
from consent.models import MarketingNotice, NoticeKind

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(celery_worker_process):
    # The shared fixture closes the app's connection pool to switch brokers, but kombu keeps the
    # closed pool registered under the same broker URL and Celery caches it (and a producer pool
    # built on it); drop them so the next send opens a fresh connection.
    from kombu import pools

    from privacyops.celery import app

    def fresh_pools():
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    fresh_pools()
    yield celery_worker_process
    fresh_pools()
    # The shared fixture's EMAIL_URL (filemail:///tmp/...) loses its leading slash in
    # django-environ, so the worker writes under the work tree; remove what this test wrote.
    import shutil
    from pathlib import Path

    stray = Path(__file__).resolve().parents[2] / str(celery_worker_process.mail_dir).lstrip("/")
    if stray.is_dir():
        shutil.rmtree(stray.parent)
        for parent in stray.parent.parents:
            if parent == Path(__file__).resolve().parents[2] or any(parent.iterdir()):
                break
            parent.rmdir()


def test_a_marketing_consent_reaches_the_worker_which_emails_the_result_notice(worker, alice):
    celery_worker_process = worker
    event = services.grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="News?")
    celery_worker_process.wait_for(
        lambda: MarketingNotice.objects.filter(event_id=event.pk, kind=NoticeKind.RESULT).exists(),
        what="the result notice to be recorded",
    )
    # The worker logs this line only after the mail backend accepted the message.
    assert f"result notice sent: subject={alice.pk} event={event.pk}" in celery_worker_process.log()
