from __future__ import annotations

import json

import pytest

from consent import services as consent_services
from consent.models import ConsentEvent
from thirdparty import services
from thirdparty.models import JobKind, JobStatus, VendorErasureJob

LIST = "/v1/lists/4242/subscribers"
OK = {"Ok": True, "Error": None, "Value": {"success": ["alice@example.com"], "fail": []}}


def test_a_marketing_withdrawal_unsubscribes_at_stibee(alice, stibee_processor, only, vendors, no_secrets_in_logs):
    only(stibee_processor)
    vendors.expect_oneshot_request(LIST + "/unsubscribe", method="PUT").respond_with_json(OK)
    [job] = services.create_erasure_jobs(subject=alice, reference="W-1", kind=JobKind.SUPPRESS)

    services.send_vendor_erasure_jobs()

    request, _ = vendors.log[0]
    assert request.headers["AccessToken"] == "stibee-secret-key"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == ["alice@example.com"]
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED
    assert job.receipt == {"operation": "unsubscribe", "ok": True, "success_count": 1, "fail_count": 0, "status": 200}
    no_secrets_in_logs("alice@example.com")


def test_an_erasure_purges_the_subscriber_at_stibee(alice, stibee_processor, only, vendors):
    only(stibee_processor)
    vendors.expect_oneshot_request(LIST, method="DELETE").respond_with_json(OK)
    [job] = services.create_erasure_jobs(subject=alice, reference="E-1", kind=JobKind.ERASE)
    services.send_vendor_erasure_jobs()
    request, _ = vendors.log[0]
    assert (request.method, request.path) == ("DELETE", LIST)
    assert json.loads(request.get_data()) == ["alice@example.com"]
    job.refresh_from_db()
    assert job.receipt["operation"] == "purge" and job.status == JobStatus.CONFIRMED


def test_stibee_ok_false_is_a_failure(alice, stibee_processor, only, vendors):
    only(stibee_processor)
    vendors.expect_oneshot_request(LIST, method="DELETE").respond_with_json(
        {"Ok": False, "Error": {"Code": "Errors.List.NotFound"}}
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="E-1")
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "Ok=false" in job.last_error


def test_a_job_still_runs_after_the_subject_row_is_erased(stibee_processor, only, vendors):
    from retention.services import erase_subject
    from subjects.models import DataSubject

    only(stibee_processor)
    carol = DataSubject.objects.create(email="carol@example.com", source="customer_service")
    vendors.expect_oneshot_request(LIST, method="DELETE").respond_with_json(OK)
    [job] = services.create_erasure_jobs(subject=carol, reference="E-2")
    # What the DSAR erasure does next: the person's rows go (no PROTECT from the job), the job stays.
    erase_subject(subject_id=carol.pk, reference="E-2", triggered_by="dsar")
    assert not DataSubject.objects.filter(pk=carol.pk).exists()

    services.send_vendor_erasure_jobs()

    assert json.loads(vendors.log[0][0].get_data()) == ["carol@example.com"]
    job.refresh_from_db()
    assert job.subject_id == carol.pk and job.status == JobStatus.CONFIRMED and job.identifiers == ""


# --- webhook --------------------------------------------------------------------------------------


@pytest.fixture
def marketing_consent(alice):
    consent_services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    assert consent_services.may_process(subject=alice, purpose="marketing")
    return alice


def _hook(client, body, token="stibee-hook-secret"):
    return client.post(
        f"/api/thirdparty/stibee/webhook?token={token}", json.dumps(body), content_type="application/json"
    )


def test_an_unsubscribe_in_stibee_withdraws_marketing_consent_and_suppresses_at_meta(
    client, marketing_consent, vendors
):
    response = _hook(client, {"event": "UNSUBSCRIBED", "email": "Alice@Example.com"})

    assert response.status_code == 200 and response.json() == {"received": 1, "withdrawn": 1}
    assert not consent_services.may_process(subject=marketing_consent, purpose="marketing")
    event = ConsentEvent.objects.filter(subject=marketing_consent).order_by("-pk").first()
    assert event.channel == "processor_webhook"
    jobs = VendorErasureJob.objects.filter(kind=JobKind.SUPPRESS)
    # Stibee already has the refusal; Meta is asked to drop the person from its audiences.
    assert [j.processor.connector for j in jobs] == ["meta"]


def test_the_webhook_refuses_a_wrong_token(client, marketing_consent, vendors):
    response = _hook(client, {"event": "UNSUBSCRIBED", "email": "alice@example.com"}, token="guess")
    assert response.status_code == 403
    assert consent_services.may_process(subject=marketing_consent, purpose="marketing")


@pytest.mark.parametrize("body", [{"event": "UNSUBSCRIBED"}, [], "text", [{"email": "a@b.c"}]])
def test_the_webhook_answers_malformed_bodies_with_400(client, vendors, db, body):
    assert _hook(client, body).status_code == 400


def test_a_subscribe_event_changes_no_consent(client, marketing_consent, vendors):
    response = _hook(client, [{"event": "SUBSCRIBED", "subscriber": {"email": "alice@example.com"}}])
    assert response.json() == {"received": 1, "withdrawn": 0}
    assert consent_services.may_process(subject=marketing_consent, purpose="marketing")


def test_an_unconfigured_webhook_answers_404(client, settings, db):
    settings.STIBEE_WEBHOOK_SECRET = ""
    response = _hook(client, {"event": "UNSUBSCRIBED", "email": "alice@example.com"}, token="")
    assert response.status_code == 404


def test_a_nul_byte_in_a_webhook_email_is_ignored_not_a_server_error(client, vendors, db):
    response = _hook(client, {"event": "UNSUBSCRIBED", "email": "a\x00@example.com"})
    assert response.status_code == 200 and response.json() == {"received": 1, "withdrawn": 0}


def test_the_default_base_url_is_stibees_v2_api():
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assert "STIBEE_API_BASE_URL=https://api.stibee.com/v2\n" in example


def test_a_400_names_stibees_documented_error_code_and_is_not_retried(alice, stibee_processor, only, vendors):
    only(stibee_processor)
    vendors.expect_oneshot_request(LIST + "/unsubscribe", method="PUT").respond_with_json(
        {"code": "Errors.Data.InvalidRequest", "message": "invalid request"}, status=400
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="W-1", kind=JobKind.SUPPRESS)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is None
    assert job.last_error == "HTTP 400: Errors.Data.InvalidRequest"


def test_a_stibee_outage_is_retried(alice, stibee_processor, only, vendors):
    only(stibee_processor)
    # Stibee's documentation: any 5xx is an outage, to be retried.
    vendors.expect_oneshot_request(LIST + "/unsubscribe", method="PUT").respond_with_data("", status=503)
    [job] = services.create_erasure_jobs(subject=alice, reference="W-1", kind=JobKind.SUPPRESS)
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is not None


def test_calls_are_paced_under_1000_a_minute(vendors, settings):
    import time

    from thirdparty.connectors import stibee

    vendors.expect_request(LIST + "/unsubscribe", method="PUT").respond_with_json(OK)
    started = time.monotonic()
    for _ in range(11):
        stibee.unsubscribe(["alice@example.com"])
    # Ten gaps of 60 ms at least.
    assert time.monotonic() - started >= 0.6


def test_the_stibee_processor_page_says_its_endpoint_shape_is_not_confirmed(stibee_processor, officer, admin_login):
    client = admin_login(officer)
    page = client.get(
        f"/admin/thirdparty/processor/{stibee_processor.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "vendor-unconfirmed" in page
    # Google's request shapes come from its discovery documents: no badge.
    ga = stibee_processor.__class__.objects.get(connector="google_analytics")
    assert "vendor-unconfirmed" not in client.get(f"/admin/thirdparty/processor/{ga.pk}/change/").content.decode()
