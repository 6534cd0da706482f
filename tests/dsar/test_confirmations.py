"""Each workflow step that destroys, sends or closes shows the confirmation page first: it says
what will happen, and nothing happens (no status change, no email, no erasure) until it is sent back."""

from __future__ import annotations

import pytest

from dsar.models import DataSubjectRequest, RequestStatus, RequestType, StatutoryGround
from dsar.services import pending_approvals
from subjects.models import VisitLog

URL = "/admin/dsar/datasubjectrequest/{}/workflow/"


def state(request):
    request = DataSubjectRequest.objects.get(pk=request.pk)
    return request.status, request.closed_at, request.events.count(), len(pending_approvals(request))


def confirm_page(client, request, data):
    response = client.post(URL.format(request.pk), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert 'id="confirm-action"' in page and "Nothing has happened yet." in page
    assert 'name="action" value="{}"'.format(data["action"]) in page
    return page


CASES = [
    # (request type, action, form data, a phrase of the consequences, the subject exists)
    (
        RequestType.DELETION,
        "carry_out_deletion",
        {},
        "Asks for the erasure of everything held about Alice Kim: 3 visit logs, 2 inquiries",
        True,
    ),
    (
        RequestType.DELETION,
        "reject",
        {"reject-ground": StatutoryGround.ERASURE_COLLECTION_REQUIRED},
        "Closes the request as refused",
        True,
    ),
    (RequestType.WITHDRAWAL, "withdraw_consents", {}, "Withdraws every consent Alice Kim gave", True),
    (RequestType.SUSPENSION, "suspend", {}, "Stops processing", True),
    (
        RequestType.CORRECTION,
        "record_correction",
        {"record_correction-note": "Phone number fixed."},
        "Records the correction",
        True,
    ),
    (RequestType.DELETION, "complete_no_data", {}, "no data is held about this person", False),
    (RequestType.DELETION, "withdraw_request", {}, "withdrawn by the requester", True),
]


@pytest.mark.parametrize(("kind", "action", "data", "phrase", "with_subject"), CASES, ids=[c[1] for c in CASES])
def test_the_step_asks_first_and_does_nothing_until_confirmed(
    admin_login, officer, verified, alice, mailoutbox, kind, action, data, phrase, with_subject
):
    request = verified("alice@example.com" if with_subject else "nobody@example.com", kind)
    client = admin_login(officer)
    before, mails = state(request), len(mailoutbox)
    page = confirm_page(client, request, {"action": action, **data})
    assert phrase in page, page[page.find("confirm-consequences") :][:1200]
    assert state(request) == before and len(mailoutbox) == mails and VisitLog.objects.filter(subject=alice).count() == 3
    # Sent back: the step happens.
    response = client.post(URL.format(request.pk), {"action": action, **data, "confirmed": "yes"})
    assert response.status_code == 302
    assert state(request) != before


def test_close_and_release_ask_first(admin_login, officer, verified, alice, mailoutbox):
    client = admin_login(officer)
    deletion = verified("alice@example.com", RequestType.DELETION)
    DataSubjectRequest.objects.filter(pk=deletion.pk).update(status=RequestStatus.AWAITING_VENDORS)
    before = state(deletion)
    assert "every processor confirmed the erasure" in confirm_page(client, deletion, {"action": "close"})
    assert state(deletion) == before

    access = verified("alice@example.com", RequestType.ACCESS)
    client.post(URL.format(access.pk), {"action": "build_package"})
    before, mails = state(access), len(mailoutbox)
    assert "the link to download the access package" in confirm_page(client, access, {"action": "release_package"})
    assert state(access) == before and len(mailoutbox) == mails


def test_the_second_persons_approval_of_an_erasure_asks_first(admin_login, officer, overseer, verified, alice):
    request = verified("alice@example.com", RequestType.DELETION)
    admin_login(officer).post(URL.format(request.pk), {"action": "carry_out_deletion", "confirmed": "yes"})
    assert len(pending_approvals(request)) == 1
    client = admin_login(overseer)
    page = confirm_page(client, request, {"action": "approve"})
    assert "Erases everything held about Alice Kim now" in page
    assert VisitLog.objects.filter(subject=alice).count() == 3
    client.post(URL.format(request.pk), {"action": "approve", "confirmed": "yes"})
    assert DataSubjectRequest.objects.get(pk=request.pk).outcome.get("erasure")
    assert not pending_approvals(request)
