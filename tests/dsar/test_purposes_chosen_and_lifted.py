"""DSAR-06 / DSAR-07: the person chooses on the public form which purposes a suspension or a
withdrawal covers (checked against the purposes on record, with a clear 400 otherwise), and the
privacy officer can lift a purpose suspension later, with a note, on the request's timeline and
in the access log."""

from __future__ import annotations

import pytest

from audit.models import AccessLog
from consent.models import ConsentState, PurposeSuspension
from consent.services import grant_consent, may_process
from dsar import fulfilment
from dsar.models import DataSubjectRequest, EventKind

pytestmark = pytest.mark.django_db


def post_form(client, **overrides):
    data = {"request_type": "suspension", "name": "Alice Kim", "email": "alice@example.com", "phone": ""}
    data.update(overrides)
    return client.post("/dsar/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_the_public_form_records_the_purposes_the_person_chose_for_a_suspension(client):
    """DSAR-06: part of the processing, chosen by the person on the form."""
    page = client.get("/dsar/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="purposes"' in page and 'value="third_party_integration"' in page
    response = post_form(client, purposes=["third_party_integration", "service_improvement"])
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    assert request.requested_purposes == ["service_improvement", "third_party_integration"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"purposes": ["no_such_purpose"]}, "is not one of the purposes listed in the privacy policy"),
        ({"request_type": "access", "purposes": ["marketing"]}, "only for a suspension or a withdrawal"),
        ({"request_type": "withdrawal", "purposes": ["security"]}, "Only purposes that rely on your consent"),
    ],
)
def test_a_purpose_that_does_not_fit_gets_a_400_that_says_why_and_nothing_is_saved(client, overrides, message):
    """DSAR-06/07: validated against the purposes on record; no request half-written."""
    response = post_form(client, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not DataSubjectRequest.objects.exists()


def test_the_service_refuses_purposes_the_form_would_refuse(submit):
    """The same check below the form (staff tools and tests call the service directly)."""
    with pytest.raises(fulfilment.RequestError, match="Only purposes that rely on your consent"):
        submit("alice@example.com", "withdrawal", purposes=["security"])
    with pytest.raises(fulfilment.RequestError, match="listed in the privacy policy"):
        submit("alice@example.com", "suspension", purposes=["no_such_purpose"])
    assert not DataSubjectRequest.objects.exists()


def test_a_withdrawal_of_chosen_purposes_withdraws_only_those(verified, alice, officer):
    """DSAR-07: the person withdrew marketing only; the integration consent stays."""
    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    grant_consent(subject=alice, purpose="third_party_integration", channel="web_form")
    request = verified("alice@example.com", "withdrawal")
    DataSubjectRequest.objects.filter(pk=request.pk).update(requested_purposes=["marketing"])
    request.refresh_from_db()
    fulfilment.withdraw_consents(request=request, actor=officer)
    assert not ConsentState.objects.get(subject=alice, purpose__key="marketing").granted
    assert ConsentState.objects.get(subject=alice, purpose__key="third_party_integration").granted


@pytest.fixture
def suspended(verified, alice, officer):
    request = verified("alice@example.com", "suspension")
    fulfilment.suspend_processing(request=request, actor=officer, purposes=["service_improvement"])
    assert not may_process(subject=alice, purpose="service_improvement")
    request.refresh_from_db()
    return request


def test_the_officer_lifts_a_purpose_suspension_with_a_note_on_the_timeline_and_in_the_access_log(
    suspended, alice, officer, admin_login
):
    """DSAR-06, DSAR-13: the lift is the officer's act, with a reason, recorded where the
    suspension was; processing for that purpose may resume."""
    client = admin_login(officer)
    url = f"/admin/dsar/datasubjectrequest/{suspended.pk}/workflow/"
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert 'data-action="lift_suspension"' in page
    logged = AccessLog.objects.count()
    response = client.post(
        url,
        {
            "action": "lift_suspension",
            "lift_suspension-purposes": ["service_improvement"],
            "lift_suspension-note": "The person asked to resume notices by phone on 3 March.",
        },
    )
    assert response.status_code == 302
    assert may_process(subject=alice, purpose="service_improvement")
    assert PurposeSuspension.objects.get(subject=alice).lifted_at is not None
    event = suspended.events.get(kind=EventKind.SUSPENSION_LIFTED)
    assert event.actor == officer and "resume notices" in event.note
    assert event.data == {"purposes": ["service_improvement"]}
    row = AccessLog.objects.order_by("-seq").first()
    assert AccessLog.objects.count() > logged
    assert row.action == "change" and row.reason == f"DSAR {suspended.reference}"
    # Nothing left to lift: the action is gone.
    page = client.get(url, headers={"accept-language": "en"}).content.decode()
    assert 'data-action="lift_suspension"' not in page


def test_lifting_needs_the_officer_and_a_reason(suspended, alice, support):
    """DSAR-06: customer support cannot lift a suspension; the officer must say why."""
    with pytest.raises(fulfilment.RequestError, match="Only the privacy officer"):
        fulfilment.lift_suspension(request=suspended, actor=support, purposes=["service_improvement"], note="x" * 20)
    assert not may_process(subject=alice, purpose="service_improvement")


def test_lifting_without_a_reason_or_for_a_purpose_not_suspended_is_refused(suspended, alice, officer):
    with pytest.raises(fulfilment.RequestError, match="Say why"):
        fulfilment.lift_suspension(request=suspended, actor=officer, purposes=["service_improvement"], note="ok")
    with pytest.raises(fulfilment.RequestError, match="no suspension in force"):
        fulfilment.lift_suspension(request=suspended, actor=officer, purposes=["marketing"], note="x" * 20)
    assert not may_process(subject=alice, purpose="service_improvement")


def test_staff_record_the_purposes_of_a_phone_request(admin_login, officer):
    """DSAR-01, DSAR-06: a suspension asked for by phone can be limited to purposes too; a purpose
    that does not fit is refused with the reason and nothing is recorded."""
    client = admin_login(officer)
    data = {
        "channel": "phone",
        "received_at": "2026-03-02T10:00",
        "request_type": "withdrawal",
        "language": "ko",
        "name": "Alice Kim",
        "email": "alice@example.com",
        "purposes": ["security"],
    }
    refused = client.post("/admin/dsar/datasubjectrequest/add/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "Only purposes that rely on your consent" in refused.content.decode()
    assert not DataSubjectRequest.objects.exists()
    data.update(request_type="suspension", purposes=["security", "marketing"])
    response = client.post("/admin/dsar/datasubjectrequest/add/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert DataSubjectRequest.objects.get().requested_purposes == ["marketing", "security"]
