from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
import time_machine

from thirdparty import services
from thirdparty.connectors import meta
from thirdparty.models import (
    IdentityKind,
    JobKind,
    JobStatus,
    MetaDeletionRequest,
    MetaDeletionStatus,
    VendorErasureJob,
    VendorName,
)

from .meta_contract import validate

AUDIENCE_PATH = "/v21.0/23850000000000001/users"
TOKEN, APP_SECRET = "EAAB-meta-secret-token", "meta-app-secret"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _payload(request) -> dict:
    """The request's parameters, after checking them against the SDK's names and shape."""
    return validate(request, token=TOKEN, app_secret=APP_SECRET)


def test_it_removes_a_withdrawn_person_from_every_audience_with_sha256_of_normalised_email_and_phone(
    alice, meta_processor, only, vendors, no_secrets_in_logs
):
    only(meta_processor)
    alice.email = "  Alice@Example.com "
    alice.save()
    vendors.expect_oneshot_request(AUDIENCE_PATH, method="DELETE").respond_with_json(
        {"audience_id": "23850000000000001", "session_id": "9778993", "num_received": 1, "num_invalid_entries": 0}
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="CONSENT-7", kind=JobKind.SUPPRESS)

    services.send_vendor_erasure_jobs()

    request, _ = vendors.log[0]
    assert request.method == "DELETE"
    # access_token and appsecret_proof as the SDK's session sends them, no Bearer header (validate).
    sent = _payload(request)
    # Email lower-cased and trimmed; Korean national number 010-1111-2222 becomes 821011112222.
    assert sent["payload"] == {
        "schema": ["EMAIL", "PHONE"],
        "is_raw": True,
        "data": [[_sha("alice@example.com"), _sha("821011112222")]],
    }
    assert sent["session"] is None
    # Nothing identifying, and no token, travels in the URL.
    assert request.query_string == b""
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED
    assert job.receipt["audiences"][0]["num_received"] == 1
    no_secrets_in_logs("alice@example.com", _sha("alice@example.com"))


def test_it_batches_due_meta_jobs_into_one_call_per_audience(alice, bob, meta_processor, only, vendors, settings):
    only(meta_processor)
    settings.META_CUSTOM_AUDIENCE_IDS = ["111", "222"]
    for audience in ("111", "222"):
        vendors.expect_oneshot_request(f"/v21.0/{audience}/users", method="DELETE").respond_with_json(
            {"num_received": 2}
        )
    services.create_erasure_jobs(subject=alice, reference="A", kind=JobKind.SUPPRESS)
    services.create_erasure_jobs(subject=bob, reference="B", kind=JobKind.SUPPRESS)

    summary = services.send_vendor_erasure_jobs()

    assert summary.confirmed == 2
    assert [r.path for r, _ in vendors.log] == ["/v21.0/111/users", "/v21.0/222/users"]
    assert len(_payload(vendors.log[0][0])["payload"]["data"]) == 2


def test_it_sends_at_most_10000_rows_per_call(vendors):
    vendors.expect_request(AUDIENCE_PATH, method="DELETE").respond_with_json({"num_received": 1})
    rows = [meta.hashed_row(email=f"person{i}@example.com") for i in range(10_001)]

    responses = meta.remove_users("23850000000000001", rows)

    assert [r.extra["rows"] for r in responses] == [10_000, 1]
    sent = [_payload(r) for r, _ in vendors.log]
    assert [len(s["payload"]["data"]) for s in sent] == [10_000, 1]
    # One upload session across the calls, as Meta's batch protocol wants.
    sessions = [s["session"] for s in sent]
    assert sessions[0]["session_id"] == sessions[1]["session_id"]
    assert [(x["batch_seq"], x["last_batch_flag"], x["estimated_num_total"]) for x in sessions] == [
        (1, False, 10_001),
        (2, True, 10_001),
    ]


def test_a_meta_failure_retries_every_job_of_the_batch(alice, meta_processor, only, vendors):
    only(meta_processor)
    vendors.expect_oneshot_request(AUDIENCE_PATH, method="DELETE").respond_with_json(
        {"error": {"message": "Please retry", "type": "OAuthException", "code": 2}}, status=500
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="R", kind=JobKind.ERASE)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is not None and job.last_response_code == 500


# The codes and subcodes as Meta's pages give them (docs/THIRDPARTY.md); 32 and 80003 unconfirmed.
THROTTLED = [
    {"code": 4, "error_subcode": 1504022},
    {"code": 17, "error_subcode": 2446079},
    {"code": 613, "error_subcode": 1487742},
    {"code": 80004},
    {"code": 32},
    {"code": 80003},
    {"code": 2},  # "API Service: temporary issue due to downtime"
    {"code": 1, "is_transient": True},  # Meta marks it transient, as the SDK reads it
]


@pytest.mark.parametrize("error", THROTTLED, ids=lambda e: f"code-{e['code']}")
def test_a_throttled_removal_waits_and_retries_instead_of_failing_for_good(alice, meta_processor, only, vendors, error):
    only(meta_processor)
    vendors.expect_oneshot_request(AUDIENCE_PATH, method="DELETE").respond_with_json(
        {"error": {"message": "Too many calls", "type": "OAuthException", "fbtrace_id": "A1", **error}},
        status=400,
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="R", kind=JobKind.SUPPRESS)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.last_response_code == 400
    assert job.next_attempt_at is not None, "a throttled job must be tried again later"


@pytest.mark.parametrize(
    "error",
    [
        {"code": 100},
        {"code": 1, "error_subcode": 99},  # "An unknown error occurred" (e.g. too many rows): not retried blindly
        {"code": 100, "is_transient": False},
    ],
    ids=["invalid-parameter", "unknown-99", "not-transient"],
)
def test_an_invalid_parameter_is_a_permanent_failure(alice, meta_processor, only, vendors, error):
    only(meta_processor)
    vendors.expect_oneshot_request(AUDIENCE_PATH, method="DELETE").respond_with_json(
        {"error": {"message": "Invalid parameter", "type": "OAuthException", **error}}, status=400
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="R", kind=JobKind.SUPPRESS)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is None


def test_num_invalid_entries_is_kept_on_the_job_and_shown_in_the_admin(
    alice, bob, meta_processor, only, vendors, officer, admin_login
):
    only(meta_processor)
    vendors.expect_oneshot_request(AUDIENCE_PATH, method="DELETE").respond_with_json(
        {"audience_id": "23850000000000001", "session_id": "1", "num_received": 2, "num_invalid_entries": 1}
    )
    services.create_erasure_jobs(subject=alice, reference="R", kind=JobKind.SUPPRESS)
    [job2] = services.create_erasure_jobs(subject=bob, reference="R2", kind=JobKind.SUPPRESS)
    services.send_vendor_erasure_jobs()
    job2.refresh_from_db()
    assert job2.status == JobStatus.CONFIRMED
    assert job2.receipt["num_invalid_entries"] == 1
    client = admin_login(officer)
    page = client.get("/admin/thirdparty/vendorerasurejob/").content.decode()
    assert '<strong style="color:#b00">1</strong>' in page


def test_a_removal_meta_rejected_entirely_is_not_confirmed(alice, meta_processor, only, vendors):
    only(meta_processor)
    vendors.expect_oneshot_request(AUDIENCE_PATH, method="DELETE").respond_with_json(
        {"audience_id": "23850000000000001", "session_id": "1", "num_received": 1, "num_invalid_entries": 1}
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="R", kind=JobKind.SUPPRESS)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.last_error == "Meta rejected every entry as invalid"


def test_the_default_api_version_is_the_sdks_own_and_not_expired():
    from datetime import date
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assert f"META_API_VERSION={meta.SDK_API_VERSION}\n" in example
    expires = meta.VERSION_EXPIRES[meta.SDK_API_VERSION]
    assert expires is None or expires > date(2026, 12, 1)


def _check_ids(settings, version, today):
    from django.core.checks import run_checks

    settings.META_API_VERSION = version
    with time_machine.travel(today, tick=False):
        return {m.id for m in run_checks() if m.id and m.id.startswith("thirdparty.")}


def test_the_system_check_warns_90_days_before_the_version_expires_and_errors_after(settings, db):
    # v25.0 ends 2027-02-23 (Meta's Marketing API version history).
    assert _check_ids(settings, "v25.0", "2026-11-01") == set()
    assert _check_ids(settings, "v25.0", "2026-12-01") == {"thirdparty.W011"}
    assert _check_ids(settings, "v25.0", "2027-02-23") == {"thirdparty.E010"}
    assert _check_ids(settings, "v21.0", "2026-12-01") == {"thirdparty.E010"}
    assert _check_ids(settings, "v26.0", "2026-12-01") == set()
    assert _check_ids(settings, "v99.0", "2026-12-01") == {"thirdparty.W010"}


# --- data-deletion callback -------------------------------------------------------------------


def _signed_request(payload: dict, secret: str = "meta-app-secret") -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signature).decode().rstrip("=") + "." + encoded


def _callback(client, signed_request):
    return client.post("/api/thirdparty/meta/data-deletion", {"signed_request": signed_request})


@pytest.fixture
def facebook_user(alice):
    services.record_vendor_identity(
        subject=alice, vendor=VendorName.META, kind=IdentityKind.USER_ID, value="10215550001"
    )
    return "10215550001"


def test_the_callback_verifies_the_signature_and_answers_url_and_confirmation_code(
    client, alice, facebook_user, vendors, settings
):
    settings.SITE_URL = "https://privacy.example.com"
    now = int(time.time())
    response = _callback(
        client,
        _signed_request({"algorithm": "HMAC-SHA256", "user_id": facebook_user, "issued_at": now, "expires": now + 600}),
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"url", "confirmation_code"}
    deletion = MetaDeletionRequest.objects.get()
    assert body["confirmation_code"] == deletion.confirmation_code
    assert body["url"] == f"https://privacy.example.com/thirdparty/meta/deletion/{deletion.confirmation_code}/"
    assert deletion.subject_found and deletion.status == MetaDeletionStatus.IN_PROGRESS
    # Erasure at every processor is queued under the request's reference.
    assert VendorErasureJob.objects.filter(reference=deletion.reference).count() >= 2
    # The Facebook user id is not stored in the clear.
    assert deletion.meta_user_hash == _sha(facebook_user)


def test_the_callback_rejects_a_forged_signature(client, facebook_user, vendors):
    forged = _signed_request(
        {"algorithm": "HMAC-SHA256", "user_id": facebook_user, "issued_at": int(time.time())}, secret="guess"
    )
    response = _callback(client, forged)
    assert response.status_code == 403
    assert "signature" in response.json()["detail"]
    assert not MetaDeletionRequest.objects.exists()


def test_the_callback_rejects_an_expired_request(client, facebook_user, vendors):
    old = int(time.time()) - 7200
    response = _callback(
        client, _signed_request({"algorithm": "HMAC-SHA256", "user_id": facebook_user, "issued_at": old})
    )
    assert response.status_code == 403
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize("value", ["", "not-a-signed-request", "a.b.c", "%%%.###"])
def test_the_callback_answers_malformed_input_with_400(client, vendors, db, value):
    response = _callback(client, value)
    assert response.status_code in (400, 422)
    assert not MetaDeletionRequest.objects.exists()


def test_the_status_page_shows_a_human_readable_status_in_korean_and_english(client, vendors, facebook_user):
    now = int(time.time())
    code = _callback(
        client, _signed_request({"algorithm": "HMAC-SHA256", "user_id": facebook_user, "issued_at": now})
    ).json()["confirmation_code"]

    korean = client.get(f"/thirdparty/meta/deletion/{code}/", HTTP_ACCEPT_LANGUAGE="ko")
    english = client.get(f"/thirdparty/meta/deletion/{code}/", HTTP_ACCEPT_LANGUAGE="en")

    assert korean.status_code == english.status_code == 200
    assert code in english.content.decode()
    assert "In progress" in english.content.decode()
    assert "진행 중" in korean.content.decode()
    assert client.get("/thirdparty/meta/deletion/NOPE/").status_code == 404


def test_an_unknown_facebook_user_gets_a_completed_status_saying_we_hold_nothing(client, vendors, db):
    now = int(time.time())
    code = _callback(client, _signed_request({"algorithm": "HMAC-SHA256", "user_id": "999", "issued_at": now})).json()[
        "confirmation_code"
    ]
    page = client.get(f"/thirdparty/meta/deletion/{code}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "We hold no personal data linked to your Facebook account" in page


def test_a_signed_request_is_accepted_once_and_a_replay_within_its_hour_starts_nothing(
    client, alice, facebook_user, vendors
):
    now = int(time.time())
    signed = _signed_request({"algorithm": "HMAC-SHA256", "user_id": facebook_user, "issued_at": now})
    first = _callback(client, signed)
    assert first.status_code == 200
    jobs = VendorErasureJob.objects.count()
    assert jobs >= 2

    signature, payload = signed.split(".")
    # The same text again, and the same signature re-padded (base64 ignores the extra "=").
    for replay in (signed, f"{signature}==.{payload}"):
        again = _callback(client, replay)
        assert again.status_code == 409, again.content
        assert "already received" in again.json()["detail"]
        assert first.json()["confirmation_code"] not in again.content.decode()
    assert MetaDeletionRequest.objects.count() == 1
    assert VendorErasureJob.objects.count() == jobs

    # A new request from Meta for the same person (issued later) is a new request.
    later = _signed_request({"algorithm": "HMAC-SHA256", "user_id": facebook_user, "issued_at": now + 1})
    assert _callback(client, later).status_code == 200
    assert MetaDeletionRequest.objects.count() == 2


def test_the_meta_processor_page_names_what_meta_does_not_confirm(meta_processor, officer, admin_login):
    page = (
        admin_login(officer)
        .get(f"/admin/thirdparty/processor/{meta_processor.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "vendor-unconfirmed" in page
    assert "batch session keys and throttling codes 32 and 80003" in page
