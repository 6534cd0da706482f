"""The broker is down when a person submits a request: the request is saved, the person sees
the normal page, and the verification email goes out once the broker is back."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from dsar.models import DataSubjectRequest
from privacyops.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(settings):
    """Point the producer at a port where nothing listens: a real refused connection."""
    keys = ("broker_url", "broker_write_url", "broker_transport_options", "task_always_eager")
    previous = {key: app.conf[key] for key in keys}
    # broker_write_url was filled from broker_url when the app was configured: change both.
    app.conf.update(broker_url="redis://127.0.0.1:1/0", broker_write_url="redis://127.0.0.1:1/0")
    app.conf.update(broker_transport_options={}, task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None
    yield
    app.conf.update(previous)
    app._pool, app.amqp._producer_pool = None, None


def test_a_request_submitted_while_the_broker_is_down_is_kept_and_verified_later(
    client, broker_down, django_capture_on_commit_callbacks, mailoutbox, caplog
):
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/dsar/",
            {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com", "phone": "", "details": ""},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 302 and response["Location"] == "/dsar/submitted/"
    assert client.get(response["Location"]).status_code == 200
    request = DataSubjectRequest.objects.get()
    assert request.verification_sent_at is None
    assert mailoutbox == []
    assert "could not enqueue dsar.tasks.send_verification_email" in caplog.text
    assert "alice@example.com" not in caplog.text

    # The broker is back; the periodic sweep finds the request whose email never went out.
    app.conf.task_always_eager = True
    with time_machine.travel(timezone.now() + timedelta(minutes=5)), django_capture_on_commit_callbacks(execute=True):
        call_command("resend_dsar_verifications")  # the email leaves after the sweep's commit
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    request.refresh_from_db()
    assert request.verification_sent_at is not None
