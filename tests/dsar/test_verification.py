from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dsar import jobs, services
from dsar.models import DataSubjectRequest, EventKind, RequestStatus, VerificationMethod

from .conftest import link_in

pytestmark = pytest.mark.django_db


def test_following_the_emailed_link_verifies_the_request_and_only_then_links_the_person(
    submit, client, mailoutbox, alice
):
    request = submit("alice@example.com")
    assert request.subject is None
    path = link_in(mailoutbox[0])
    # Opening the link only shows a button (a mail scanner's GET must not use it up).
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"Confirm the request" in page.content
    request.refresh_from_db()
    assert request.email_confirmed_at is None

    response = client.post(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert request.reference.encode() in response.content
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED
    assert request.verification_method == VerificationMethod.EMAIL_LINK
    assert request.subject == alice
    assert request.verification_nonce_hash == ""
    assert list(request.events.values_list("kind", flat=True)) == [
        EventKind.RECEIVED,
        EventKind.NOTICE_SENT,
        EventKind.EMAIL_CONFIRMED,
        EventKind.VERIFIED,
    ]


def test_a_verified_request_for_an_unknown_email_links_nobody(verified):
    request = verified("stranger@example.com")
    assert request.status == RequestStatus.VERIFIED and request.subject is None
    assert request.events.get(kind=EventKind.VERIFIED).data == {"method": "email_link", "subject_found": False}


def test_a_reused_link_gets_a_clear_page_not_an_error(submit, client, mailoutbox):
    submit()
    path = link_in(mailoutbox[0])
    assert client.post(path).status_code == 200
    for method in (client.get, client.post):
        again = method(path, HTTP_ACCEPT_LANGUAGE="en")
        assert again.status_code == 410
        assert b"already used" in again.content


def test_an_expired_link_gets_a_clear_page_and_verifies_nothing(submit, client, mailoutbox, settings):
    request = submit()
    path = link_in(mailoutbox[0])
    with time_machine.travel(timezone.now() + timedelta(hours=settings.DSAR_VERIFY_TTL_HOURS, minutes=1)):
        for method in (client.get, client.post):
            response = method(path, HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 410
            assert b"has expired" in response.content
    request.refresh_from_db()
    assert request.verified_at is None and request.status == RequestStatus.SUBMITTED


def test_a_tampered_or_foreign_link_gets_a_clear_page(submit, client, mailoutbox):
    submit()
    path = link_in(mailoutbox[0])
    for bad in (path[:-3] + "xx/", "/dsar/verify/garbage/", "/dsar/verify/" + "a" * 500 + "/"):
        response = client.post(bad, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert b"This link is not valid" in response.content
    assert not DataSubjectRequest.objects.filter(verified_at__isnull=False).exists()


def test_a_link_whose_secret_no_longer_matches_the_request_is_refused(submit, client, mailoutbox):
    request = submit("a@example.com")
    # As if a newer link had been issued: the stored hash is another one.
    DataSubjectRequest.objects.filter(pk=request.pk).update(verification_nonce_hash="0" * 64)
    response = client.post(link_in(mailoutbox[0]))
    assert response.status_code == 404
    assert not DataSubjectRequest.objects.filter(verified_at__isnull=False).exists()


def test_an_agents_request_waits_for_staff_to_accept_the_power_of_attorney(
    db, client, mailoutbox, django_capture_on_commit_callbacks, alice, officer, approve
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        request = services.submit_request(
            request_type="access",
            name="Alice Kim",
            email="alice@example.com",
            is_agent=True,
            agent_name="Dan Park",
            agent_email="dan@example.com",
            agent_relationship="lawyer",
            power_of_attorney=SimpleUploadedFile("poa.pdf", b"%PDF-1.4 signed"),
        )
    assert mailoutbox[0].to == ["dan@example.com"]
    assert client.post(link_in(mailoutbox[0]), HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    request.refresh_from_db()
    assert request.email_confirmed_at is not None
    assert request.status == RequestStatus.SUBMITTED and request.subject is None
    with pytest.raises(services.RequestError, match="not been verified"):
        services.start_request(request=request, actor=officer)

    services.verify_identity(request=request, actor=officer, note="Signed power of attorney with ID copy checked")
    approve(request)
    request.refresh_from_db()
    assert request.verification_method == VerificationMethod.POWER_OF_ATTORNEY
    assert request.verified_by == officer
    assert request.subject == alice


def test_work_cannot_start_before_the_identity_is_verified(submit, officer):
    request = submit()
    with pytest.raises(services.RequestError, match="not been verified"):
        services.start_request(request=request, actor=officer)
    with pytest.raises(services.RequestError, match="verified by the requester through the emailed link"):
        services.verify_identity(request=request, actor=officer, note="looked fine to me")


def test_unverified_requests_are_destroyed_after_the_ttl_with_their_upload(
    db, django_capture_on_commit_callbacks, settings, submit
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        stale = services.submit_request(
            request_type="access",
            name="Alice",
            email="alice@example.com",
            is_agent=True,
            agent_name="Dan",
            agent_email="dan@example.com",
            agent_relationship="lawyer",
            power_of_attorney=SimpleUploadedFile("poa.pdf", b"%PDF-1.4 x"),
        )
    upload = settings.DSAR_PRIVATE_ROOT / stale.power_of_attorney.name
    assert upload.exists()
    later = timezone.now() + timedelta(hours=settings.DSAR_UNVERIFIED_TTL_HOURS - 1)
    with time_machine.travel(later):
        fresh = submit("bob@example.com")

    with time_machine.travel(timezone.now() + timedelta(hours=settings.DSAR_UNVERIFIED_TTL_HOURS, minutes=5)):
        preview = jobs.expire_dsar_requests(dry_run=True)
        assert preview.unverified_destroyed == 1
        assert DataSubjectRequest.objects.count() == 2
        with django_capture_on_commit_callbacks(execute=True):
            result = jobs.expire_dsar_requests()
    assert result.unverified_destroyed == 1
    assert list(DataSubjectRequest.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not upload.exists()


def test_a_verified_request_is_never_destroyed_by_the_unverified_sweep(verified, settings):
    request = verified()
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        jobs.expire_dsar_requests()
    assert DataSubjectRequest.objects.filter(pk=request.pk).exists()


def test_the_sweep_sends_the_email_a_request_never_got_and_no_second_one(db, mailoutbox, submit, committed):
    # Submitted while the broker was down: the on-commit task never ran.
    lost = services.submit_request(request_type="access", name="Carol", email="carol@example.com")
    sent = submit("dave@example.com")
    assert len(mailoutbox) == 1
    assert jobs.resend_dsar_verifications() == 0  # inside the grace period
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        with committed():
            assert jobs.resend_dsar_verifications() == 1
        with committed():
            assert jobs.resend_dsar_verifications() == 0
    assert [m.to for m in mailoutbox] == [["dave@example.com"], ["carol@example.com"]]
    lost.refresh_from_db()
    sent.refresh_from_db()
    assert lost.verification_sent_at is not None


def test_a_retried_verification_task_does_not_send_a_second_link(submit, mailoutbox):
    request = submit()
    assert services.issue_verification(request_id=request.pk) is False
    assert len(mailoutbox) == 1


def test_the_status_page_shows_the_state_and_no_personal_data(verified, client):
    request = verified()
    response = client.get(services.status_url(request).removeprefix("http://testserver"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert request.reference in body and "Verified" in body
    assert "alice" not in body.lower() and "Kim" not in body
    assert client.get("/dsar/status/forged:token/").status_code == 404
