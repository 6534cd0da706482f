"""GA deletions keep going when access tokens expire: google-auth obtains tokens from the
service-account key's token URI (a local token server here) and refreshes them; the fake API
checks every request against the analytics v3 discovery document and refuses expired tokens."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Request, Response

from thirdparty import services
from thirdparty.models import IdentityKind, JobStatus, Processor, VendorErasureAttempt, VendorErasureJob, VendorName

from .google_contract import validate_request
from .google_token_server import CLIENT_EMAIL

UPSERT = "/analytics/v3/userDeletion/userDeletionRequests:upsert"


def _google_error(status: int, reason: str, message: str) -> Response:
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def fake_analytics(google_tokens, accepted: list):
    """The upsert endpoint: schema first (400 as Google answers an invalid request), then the
    bearer token (401 once it has expired), then the receipt."""

    def handle(request: Request) -> Response:
        errors = validate_request(request, "analytics", "v3")
        if errors:
            return _google_error(400, "invalid", "; ".join(errors))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not google_tokens.is_valid(token):
            return _google_error(401, "authError", "Request had invalid authentication credentials.")
        accepted.append((token, json.loads(request.get_data())))
        body = {**json.loads(request.get_data()), "deletionRequestTime": "2026-12-01T10:00:00.000Z"}
        return Response(json.dumps(body), status=200, content_type="application/json")

    return handle


def _jobs(subjects, ga, per_subject: int):
    Processor.objects.exclude(pk=ga.pk).update(active=False)
    jobs = []
    for n, subject in enumerate(subjects):
        for i in range(per_subject):
            services.record_vendor_identity(
                subject=subject, vendor=VendorName.GOOGLE_ANALYTICS, kind=IdentityKind.CLIENT_ID, value=f"{n}{i}.1700"
            )
        created = services.create_erasure_jobs(subject=subject, reference=f"DSAR-{n}")
        jobs += [job for job in created if job.processor_id == ga.pk]
    return jobs


@pytest.fixture
def paced(settings):
    settings.GA_REQUESTS_PER_SECOND = 1.5
    settings.GA_MAX_INLINE_WAIT_SECONDS = 1


def test_deletions_run_for_fifteen_seconds_through_tokens_that_expire_every_five(
    alice, bob, ga, vendors, google_tokens, paced
):
    google_tokens.reset(expires_in=5)
    accepted = []
    vendors.expect_request(UPSERT, method="POST").respond_with_handler(fake_analytics(google_tokens, accepted))
    jobs = _jobs([alice, bob], ga, per_subject=12)

    started = time.monotonic()
    while VendorErasureJob.objects.exclude(status=JobStatus.CONFIRMED).exists() and time.monotonic() - started < 60:
        services.send_vendor_erasure_jobs()
    elapsed = time.monotonic() - started

    assert elapsed >= 15  # 24 upserts at 1.5/s: the run outlives three token lifetimes
    assert len(accepted) == 24
    assert all(json.loads(r.get_data())["propertyId"] == "123456789" for r, _ in vendors.log)
    assert [r.status_code for _, r in vendors.log] == [200] * 24
    # Tokens came from the key file's service account, and were renewed as they expired.
    assert {claims["iss"] for claims in google_tokens.assertions} == {CLIENT_EMAIL}
    assert len({token for token, _ in accepted}) >= 3
    assert google_tokens.refused == []
    assert all(VendorErasureJob.objects.get(pk=j.pk).status == JobStatus.CONFIRMED for j in jobs)
    assert not VendorErasureAttempt.objects.exclude(response_code=200).exists()


def test_a_token_google_stops_accepting_early_is_refreshed_once_and_the_upsert_retried(
    alice, ga, vendors, google_tokens, settings
):
    settings.GA_MAX_INLINE_WAIT_SECONDS = 0
    # The answer says an hour; Google stops honouring the token after one second.
    google_tokens.reset(expires_in=3600, lifetime=1)
    accepted = []
    vendors.expect_request(UPSERT, method="POST").respond_with_handler(fake_analytics(google_tokens, accepted))
    (job,) = _jobs([alice], ga, per_subject=2)

    services.send_vendor_erasure_jobs()  # first upsert with token 1; the second waits for its slot
    time.sleep(1.2)
    while VendorErasureJob.objects.exclude(status=JobStatus.CONFIRMED).exists():
        services.send_vendor_erasure_jobs()
        time.sleep(0.3)

    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED and job.attempts <= 2
    statuses = [r.status_code for _, r in vendors.log]
    assert statuses.count(401) >= 1 and statuses.count(200) == 2
    assert len(google_tokens.assertions) == 1 + statuses.count(401)


def test_a_401_that_survives_a_refresh_is_retried_later_not_failed_for_good(alice, ga, vendors, google_tokens):
    vendors.expect_request(UPSERT, method="POST").respond_with_response(
        _google_error(401, "authError", "Request had invalid authentication credentials.")
    )
    (job,) = _jobs([alice], ga, per_subject=1)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    # Refreshed once and retried once, then left for the backoff.
    assert len(vendors.log) == 2 and len(google_tokens.assertions) == 2
    assert job.status == JobStatus.FAILED and job.next_attempt_at is not None
    assert job.last_response_code == 401


def test_daily_quota_exceeded_waits_for_midnight_pacific(alice, ga, vendors):
    vendors.expect_oneshot_request(UPSERT, method="POST").respond_with_response(
        _google_error(403, "dailyLimitExceeded", "Quota Error: profileId 123 has exceeded the daily request limit.")
    )
    (job,) = _jobs([alice], ga, per_subject=1)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.last_response_code == 403
    local = job.next_attempt_at.astimezone(services.GOOGLE_QUOTA_TZ)
    assert (local.hour, local.minute) == (0, 0) and job.next_attempt_at - timezone.now() <= timedelta(days=1)
    assert "dailyLimitExceeded" in job.last_error


def test_user_rate_limit_is_retried_with_backoff(alice, ga, vendors):
    vendors.expect_oneshot_request(UPSERT, method="POST").respond_with_response(
        _google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
    )
    (job,) = _jobs([alice], ga, per_subject=1)
    before = timezone.now()
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at >= before + timedelta(seconds=59)


def test_the_contract_rejects_what_the_discovery_document_does_not_have(vendors):
    """The validator itself: an unknown body field, a read-only field and an unknown parameter."""
    import requests

    seen = []
    vendors.expect_request(UPSERT, method="POST").respond_with_handler(
        lambda request: seen.append(validate_request(request, "analytics", "v3")) or Response("{}")
    )
    body = {"kind": "analytics#userDeletionRequest", "id": {"type": "CLIENT_ID", "userId": "1", "scope": "x"}}
    requests.post(vendors.url_for(UPSERT) + "?alt=json&maxResults=5", json={**body, "deletionRequestTime": "now"})
    assert seen == [
        [
            "parameter maxResults: unknown",
            "body.id.scope: unknown field",
            "body.deletionRequestTime: read-only field sent",
        ]
    ]
    vendors.clear_log()
