from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import time_machine
from django.utils import timezone
from werkzeug import Response

from thirdparty import services
from thirdparty.models import IdentityKind, JobStatus, Processor, RateLimitState, VendorErasureJob, VendorName

from .google_token_server import CLIENT_EMAIL

UPSERT = "/analytics/v3/userDeletion/userDeletionRequests:upsert"


def _identities(subject, *pairs):
    for kind, value in pairs:
        services.record_vendor_identity(subject=subject, vendor=VendorName.GOOGLE_ANALYTICS, kind=kind, value=value)


def _ga_job(alice, ga, reference="DSAR-1"):
    Processor.objects.exclude(pk=ga.pk).update(active=False)
    jobs = services.create_erasure_jobs(subject=alice, reference=reference)
    return next(job for job in jobs if job.processor_id == ga.pk)


def test_it_sends_one_upsert_per_identifier_and_keeps_deletion_request_time_as_receipt(
    alice, ga, vendors, google_tokens, no_secrets_in_logs
):
    _identities(alice, (IdentityKind.CLIENT_ID, "1197596843.1673515603"), (IdentityKind.USER_ID, "member-77"))
    job = _ga_job(alice, ga)
    for _ in range(2):
        vendors.expect_oneshot_request(UPSERT, method="POST").respond_with_json(
            {"kind": "analytics#userDeletionRequest", "deletionRequestTime": "2025-03-01T10:00:00.000Z"}
        )

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.send_vendor_erasure_jobs()
        traveller.shift(timedelta(seconds=1))
        services.send_vendor_erasure_jobs()

    bodies = [json.loads(request.get_data()) for request, _ in vendors.log]
    assert bodies == [
        {
            "kind": "analytics#userDeletionRequest",
            "id": {"type": "CLIENT_ID", "userId": "1197596843.1673515603"},
            "propertyId": "123456789",
        },
        {
            "kind": "analytics#userDeletionRequest",
            "id": {"type": "USER_ID", "userId": "member-77"},
            "propertyId": "123456789",
        },
    ]
    # The service account's token, obtained from the key file's token URI with its client_email.
    assert all(r.headers["Authorization"] == "Bearer ya29.sa-token-1" for r, _ in vendors.log)
    assert [claims["iss"] for claims in google_tokens.assertions] == [CLIENT_EMAIL]
    assert google_tokens.assertions[0]["scope"] == "https://www.googleapis.com/auth/analytics.user.deletion"
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED
    assert job.receipt["deletions"] == [
        {"type": "CLIENT_ID", "deletionRequestTime": "2025-03-01T10:00:00.000Z"},
        {"type": "USER_ID", "deletionRequestTime": "2025-03-01T10:00:00.000Z"},
    ]
    # Confirmed: the identifiers the job carried are gone.
    assert job.identifiers == "" and job.identifiers_wiped_at is not None
    no_secrets_in_logs("1197596843.1673515603", "member-77", "alice@example.com")


def test_it_spaces_ga_requests_to_the_per_second_quota_across_runs(alice, bob, ga, vendors):
    _identities(alice, (IdentityKind.CLIENT_ID, "111.1"))
    _identities(bob, (IdentityKind.CLIENT_ID, "222.2"))
    _ga_job(alice, ga, "DSAR-A")
    _ga_job(bob, ga, "DSAR-B")
    vendors.expect_request(UPSERT, method="POST").respond_with_json({"deletionRequestTime": "2025-03-01T10:00:00Z"})

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        summary = services.send_vendor_erasure_jobs()
        assert (summary.confirmed, summary.deferred) == (1, 1)
        assert len(vendors.log) == 1
        # 0.5 s later the next slot (1/1.5 s after the first) has not come: nothing is sent.
        traveller.shift(timedelta(seconds=0.5))
        services.send_vendor_erasure_jobs()
        assert len(vendors.log) == 1
        traveller.shift(timedelta(seconds=0.2))
        services.send_vendor_erasure_jobs()
        assert len(vendors.log) == 2
    assert VendorErasureJob.objects.filter(status=JobStatus.CONFIRMED).count() == 2


def test_it_stops_at_the_daily_quota_and_resumes_after_midnight_pacific(alice, ga, vendors, settings):
    settings.GA_REQUESTS_PER_DAY = 2
    _identities(alice, (IdentityKind.CLIENT_ID, "1.1"), (IdentityKind.CLIENT_ID, "2.2"), (IdentityKind.USER_ID, "u-3"))
    vendors.expect_request(UPSERT, method="POST").respond_with_json({"deletionRequestTime": "2025-03-01T10:00:00Z"})

    # 12:00 in Los Angeles on 2025-03-01 is 20:00 UTC.
    with time_machine.travel("2025-03-01T20:00:00+00:00", tick=False) as traveller:
        job = _ga_job(alice, ga)
        for _ in range(5):
            services.send_vendor_erasure_jobs()
            traveller.shift(timedelta(seconds=2))
        assert len(vendors.log) == 2
        job.refresh_from_db()
        assert job.status == JobStatus.PENDING
        assert len(job.receipt["deletions"]) == 2
        # Rescheduled to the next Google quota day: midnight Pacific (08:00 UTC, PST).
        assert job.next_attempt_at.isoformat() == "2025-03-02T08:00:00+00:00"
        assert RateLimitState.objects.get(key="ga:123456789").sent_today == 2

        traveller.move_to("2025-03-02T08:00:01+00:00")
        services.send_vendor_erasure_jobs()
    assert len(vendors.log) == 3
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED


def test_it_retries_on_429_and_5xx_with_exponential_backoff(alice, ga, vendors):
    _identities(alice, (IdentityKind.CLIENT_ID, "1.1"))
    job = _ga_job(alice, ga)
    vendors.expect_oneshot_request(UPSERT).respond_with_json(
        {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, status=429
    )
    vendors.expect_oneshot_request(UPSERT).respond_with_data("upstream down", status=503)
    vendors.expect_oneshot_request(UPSERT).respond_with_json({"deletionRequestTime": "2025-03-01T10:00:00Z"})

    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        services.send_vendor_erasure_jobs()
        job.refresh_from_db()
        assert (job.status, job.attempts, job.last_response_code) == (JobStatus.FAILED, 1, 429)
        assert job.next_attempt_at == start + timedelta(seconds=60)
        # Not due yet: nothing is sent.
        traveller.shift(timedelta(seconds=59))
        services.send_vendor_erasure_jobs()
        assert len(vendors.log) == 1
        traveller.shift(timedelta(seconds=1))
        services.send_vendor_erasure_jobs()
        job.refresh_from_db()
        assert (job.attempts, job.last_response_code) == (2, 503)
        assert job.next_attempt_at == start + timedelta(seconds=60 + 120)
        traveller.shift(timedelta(seconds=120))
        services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED
    assert [t.response_code for t in job.tries.order_by("pk")] == [429, 503, 200]


def test_it_honours_retry_after(alice, ga, vendors):
    _identities(alice, (IdentityKind.CLIENT_ID, "1.1"))
    job = _ga_job(alice, ga)
    vendors.expect_oneshot_request(UPSERT).respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "900"})
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.next_attempt_at == start + timedelta(seconds=900)


def test_a_permanent_refusal_waits_for_staff_instead_of_retrying(alice, ga, vendors):
    _identities(alice, (IdentityKind.CLIENT_ID, "1.1"))
    job = _ga_job(alice, ga)
    vendors.expect_oneshot_request(UPSERT).respond_with_json(
        {"error": {"code": 400, "status": "INVALID_ARGUMENT", "errors": [{"reason": "invalid"}]}}, status=400
    )
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is None
    assert "INVALID_ARGUMENT" in job.last_error
    assert services.open_jobs("DSAR-1").filter(pk=job.pk).exists()


def test_a_timeout_is_retried(alice, ga, vendors, settings):
    settings.VENDOR_HTTP_TIMEOUT_SECONDS = 0.2
    _identities(alice, (IdentityKind.CLIENT_ID, "1.1"))
    job = _ga_job(alice, ga)

    finished = threading.Event()

    def slow(request):
        time.sleep(0.6)
        finished.set()
        return Response("{}", status=200)

    vendors.expect_oneshot_request(UPSERT).respond_with_handler(slow)
    services.send_vendor_erasure_jobs()
    # Let the server finish the abandoned request, so it does not land in the next test's log.
    assert finished.wait(5)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.last_error == "timed out" and job.last_response_code is None
    assert job.next_attempt_at is not None
