from __future__ import annotations

import io
from datetime import date

import pytest

from audit.models import AccessLog
from dsar.models import DataSubjectRequest, EventKind, RequestChannel, RequestStatus, VerificationMethod

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\nletter scan"


def scan(name="letter.pdf", content=PDF):
    file = io.BytesIO(content)
    file.name = name
    return file


def intake(client, **overrides):
    data = {
        "channel": "letter",
        "received_at": "2026-03-02T10:00",
        "request_type": "access",
        "language": "ko",
        "name": "Alice Kim",
        "email": "alice@example.com",
        "phone": "",
        "details": "Please send me my data.",
        "original_document": scan(),
        "identity_checked": "on",
        "identity_note": "Signature and ID copy in the letter match our records.",
    }
    data.update(overrides)
    return client.post("/admin/dsar/datasubjectrequest/add/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_staff_record_a_letter_with_its_original_and_the_clock_runs_from_receipt(
    admin_login, officer, alice, mailoutbox, settings, committed, approve
):
    with committed():
        response = intake(admin_login(officer))
    assert response.status_code == 302, response.content.decode()[:2000]
    request = DataSubjectRequest.objects.get()
    assert response["Location"] == f"/admin/dsar/datasubjectrequest/{request.pk}/workflow/"
    assert request.channel == RequestChannel.LETTER
    assert request.due_on == date(2026, 3, 12)
    # Four eyes: the identity check the intake ticked counts once a second person approves it.
    assert request.verified_at is None and request.events.filter(kind=EventKind.APPROVAL_REQUESTED).exists()
    approve(request)
    request.refresh_from_db()
    assert request.verification_method == VerificationMethod.STAFF_CHECK and request.verified_by == officer
    assert request.subject == alice
    assert (settings.DSAR_PRIVATE_ROOT / request.original_document.name).read_bytes() == PDF
    received = request.events.get(kind=EventKind.RECEIVED)
    assert received.actor == officer and received.data["channel"] == "letter"
    # The person gets an acknowledgement with the due date, in their language.
    assert mailoutbox[0].to == ["alice@example.com"] and "2026-03-12" in mailoutbox[0].body


def test_a_phone_request_without_email_is_answered_by_the_same_channel(admin_login, officer):
    response = intake(admin_login(officer), channel="phone", email="", original_document="", identity_checked="")
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    assert request.status == RequestStatus.SUBMITTED and request.subject is None
    assert request.due_on == date(2026, 3, 12)


def test_staff_intake_refuses_a_wrong_file_and_a_web_channel(admin_login, officer):
    client = admin_login(officer)
    response = intake(client, original_document=scan("letter.pdf", b"GIF89a not a pdf"))
    assert response.status_code == 200 and b"Upload a PDF, JPEG or PNG file" in response.content
    response = intake(client, channel="web_form")
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not DataSubjectRequest.objects.exists()


def test_the_original_document_is_downloaded_through_the_admin_and_logged(admin_login, officer, alice):
    client = admin_login(officer)
    intake(client)
    request = DataSubjectRequest.objects.get()
    response = client.get(f"/admin/dsar/datasubjectrequest/{request.pk}/file/original_document/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    log = AccessLog.objects.filter(action="download").latest("seq")
    assert log.reason == f"DSAR {request.reference}"


def test_the_workflow_page_runs_actions_through_the_services_and_shows_the_timeline(
    admin_login, officer, verified, alice
):
    request = verified("alice@example.com", "access")
    client = admin_login(officer)
    url = f"/admin/dsar/datasubjectrequest/{request.pk}/workflow/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert b'data-action="build_package"' in page.content and b"dsar-timeline" in page.content
    assert AccessLog.objects.filter(reason=f"DSAR {request.reference}", action="view").exists()

    assert client.post(url, {"action": "assign_to_me"}).status_code == 302
    assert client.post(url, {"action": "build_package"}).status_code == 302
    request.refresh_from_db()
    assert request.assignee == officer and request.status == RequestStatus.IN_PROGRESS and request.package_file
    # DSAR-04: PIPA has no extension: the action is not offered, and a forged post changes nothing.
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert b'data-action="extend"' not in page.content and b'data-action="postpone"' in page.content
    response = client.post(
        url,
        {"action": "extend", "extend-months": "1", "extend-reason": "x" * 20},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert b"not available" in response.content
    request.refresh_from_db()
    assert request.due_on == request.original_due_on


def test_staff_without_change_permission_cannot_act(client, admin_login, marketer, verified):
    from django.contrib.auth.models import Permission

    marketer.user_permissions.add(Permission.objects.get(codename="view_datasubjectrequest"))
    request = verified()
    response = admin_login(marketer).post(
        f"/admin/dsar/datasubjectrequest/{request.pk}/workflow/", {"action": "reject", "reject-reason": "x" * 20}
    )
    assert response.status_code == 403
    assert DataSubjectRequest.objects.get(pk=request.pk).is_open


def test_requests_cannot_be_deleted_from_the_admin(admin_login, officer, verified):
    request = verified()
    response = admin_login(officer).get(f"/admin/dsar/datasubjectrequest/{request.pk}/delete/")
    assert response.status_code == 403


def test_the_monthly_review_accepts_a_download_only_when_its_reason_names_a_real_request(verified):
    from audit.services import download_reason_matches

    request = verified()
    assert download_reason_matches(f"DSAR {request.reference}")
    assert not download_reason_matches("DSAR DSAR-NOSUCH99")
    assert not download_reason_matches("because I wanted to")


def test_the_change_page_shows_the_request_and_assigning_goes_through_the_service(
    admin_login, officer, support, verified
):
    request = verified()
    client = admin_login(officer)
    page = client.get(f"/admin/dsar/datasubjectrequest/{request.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert request.reference.encode() in page.content and b"Workflow and timeline" in page.content
    assert client.get("/admin/dsar/datasubjectrequest/add/").status_code == 200
    response = client.post(
        f"/admin/dsar/datasubjectrequest/{request.pk}/change/",
        {"assignee": support.pk, "subject": "", "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.assignee == support
    assert request.events.get(kind=EventKind.ASSIGNED).actor == officer
