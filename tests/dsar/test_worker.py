"""The verification email travels through a real broker to a real worker (the dsar queue)."""

from __future__ import annotations

import pytest

from dsar.models import DataSubjectRequest

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_verification_email_is_sent_by_a_worker_after_the_form_is_submitted(celery_worker_process, client):
    response = client.post("/dsar/", {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com"})
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()

    def written() -> str:
        # The file backend creates the file before it writes the message: wait for the whole of it.
        mail_dir = celery_worker_process.mail_dir
        return "".join(path.read_text() for path in mail_dir.glob("*")) if mail_dir.is_dir() else ""

    celery_worker_process.wait_for(lambda: "/dsar/verify/" in written(), timeout=90, what="the verification email")
    assert "alice@example.com" in written()
    request.refresh_from_db()
    assert request.verification_sent_at is not None
