"""Suspension, consent withdrawal, correction, refusal and withdrawal of a request: each changes
what it should, is on the timeline, and the requester gets a result email."""

from __future__ import annotations

import pytest
from django.test import TestCase

from consent.models import ConsentEvent, ConsentState
from consent.services import grant_consent, may_process
from dsar import fulfilment, jobs, services
from dsar.models import DataSubjectRequest, EventKind, RequestStatus
from subjects.models import DataSubject
from thirdparty.models import VendorErasureJob
from thirdparty.services import close_job_manually

pytestmark = pytest.mark.django_db

INSTITUTION_NUMBERS = ("118", "1833-6972", "1301", "182")


def finish_vendor_jobs(request, officer):
    for job in VendorErasureJob.objects.filter(reference=request.reference):
        close_job_manually(job=job, user=officer, note="confirmed by the processor")
    with TestCase.captureOnCommitCallbacks(execute=True):
        jobs.close_dsar_requests()
    return DataSubjectRequest.objects.get(pk=request.pk)


def test_suspension_restricts_processing_and_tells_processors(verified, alice, bob, officer, mailoutbox):
    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    request = verified("alice@example.com", "suspension")
    fulfilment.suspend_processing(request=request, actor=officer, note="All processing except legal duties")
    assert DataSubject.objects.get(pk=alice.pk).processing_restricted is True
    assert DataSubject.objects.get(pk=bob.pk).processing_restricted is False
    assert not may_process(subject=DataSubject.objects.get(pk=alice.pk), purpose="marketing")
    request.refresh_from_db()
    restricted = request.events.get(kind=EventKind.RESTRICTED)
    assert restricted.actor == officer and restricted.data == {"subject_id": alice.pk}
    assert set(VendorErasureJob.objects.filter(reference=request.reference).values_list("kind", flat=True)) <= {
        "suppress"
    }
    mailoutbox.clear()
    request = finish_vendor_jobs(request, officer)
    assert request.status == RequestStatus.COMPLETED
    assert mailoutbox[0].to == ["alice@example.com"]


def test_consent_withdrawal_goes_through_the_consent_ledger(verified, alice, officer, mailoutbox):
    grant_consent(subject=alice, purpose="marketing", channel="web_form")
    grant_consent(subject=alice, purpose="personalised_content", channel="web_form")
    request = verified("alice@example.com", "withdrawal")
    fulfilment.withdraw_consents(request=request, actor=officer)
    assert not ConsentState.objects.filter(subject=alice, granted=True).exists()
    channels = set(ConsentEvent.objects.filter(subject=alice, action="withdrawn").values_list("channel", flat=True))
    assert channels == {"web_form"}
    mailoutbox.clear()
    request = finish_vendor_jobs(request, officer)
    assert request.status == RequestStatus.COMPLETED
    assert request.outcome["consents_withdrawn"] == 2


def test_a_correction_is_recorded_and_the_requester_told(verified, alice, officer, mailoutbox, committed):
    request = verified("alice@example.com", "correction")
    # Staff corrected the record in the admin first.
    DataSubject.objects.filter(pk=alice.pk).update(phone="010-9999-0000")
    with pytest.raises(services.RequestError, match="at least"):
        services.record_correction(request=request, actor=officer, note="ok")
    mailoutbox.clear()
    with committed():
        services.record_correction(request=request, actor=officer, note="Phone number updated as requested.")
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert request.events.get(kind=EventKind.CORRECTED).actor == officer
    assert "Phone number updated as requested." in mailoutbox[0].body


def test_a_refusal_carries_the_reason_how_to_object_and_where_to_complain(verified, officer, mailoutbox, committed):
    request = verified("alice@example.com", "deletion")
    DataSubjectRequest.objects.filter(pk=request.pk).update(language="en")
    with pytest.raises(services.RequestError, match="statutory ground"):
        services.reject_request(request=request, actor=officer, ground="", note="Evidence in a court case.")
    assert DataSubjectRequest.objects.get(pk=request.pk).is_open
    mailoutbox.clear()
    with committed():
        services.reject_request(
            request=request, actor=officer, ground="36-1", note="The Commercial Act names these records."
        )
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED and request.closed_at is not None
    body = mailoutbox[0].body
    assert "PIPA art. 36(1) proviso" in body and "Commercial Act names" in body
    assert "How to object" in body and request.reference in body
    assert all(number in body for number in INSTITUTION_NUMBERS)
    assert request.events.filter(kind=EventKind.NOTICE_SENT, data__notice="refused").exists()


def test_a_korean_refusal_is_in_korean(verified, officer, mailoutbox, committed):
    request = verified("alice@example.com", "deletion")
    mailoutbox.clear()
    with committed():
        services.reject_request(request=request, actor=officer, ground="36-1", note="법원 소송의 증거입니다.")
    body = mailoutbox[0].body
    assert "이의" in body and "118" in body and "법원 소송" in body
    assert "제36조제1항 단서" in body


def test_a_withdrawn_request_is_closed_and_confirmed(verified, officer, mailoutbox, committed):
    request = verified()
    mailoutbox.clear()
    with committed():
        services.withdraw_request(request=request, actor=officer, note="The requester called to cancel.")
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    assert len(mailoutbox) == 1
    with pytest.raises(services.RequestError, match="already closed"):
        services.build_access_package(request=request, actor=officer)


def test_the_institutions_come_from_the_policy_records_when_present(verified, officer, mailoutbox, committed):
    from django.apps import apps

    institution = apps.get_model("policy", "ComplaintInstitution")
    institution.objects.filter(phone__contains="118").update(phone="118 (changed)")
    request = verified()
    mailoutbox.clear()
    with committed():
        services.reject_request(request=request, actor=officer, ground="38-1")
    assert "118 (changed)" in mailoutbox[0].body
