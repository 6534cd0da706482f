from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from consent.models import ConsentEvent, ConsentState
from consent.services import grant_consent
from dsar import fulfilment, jobs, services
from dsar.models import DataSubjectRequest, EventKind, RequestStatus
from retention.models import DestructionRun
from retention.services import place_hold
from subjects.models import DataSubject, EventAttendance, Inquiry, InquiryKind, VisitLog
from thirdparty.models import VendorErasureJob
from thirdparty.services import close_job_manually

pytestmark = pytest.mark.django_db


@pytest.fixture
def deletion(verified, alice, bob, officer):
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="v1")
    EventAttendance.objects.create(subject=alice, event_name="Spring seminar", event_date=date(2026, 4, 1))
    held = EventAttendance.objects.create(subject=alice, event_name="Disputed seminar", event_date=date(2026, 5, 1))
    place_hold(placed_by=officer, reason="Dispute over a seminar fee", record=held)
    request = verified("alice@example.com", "deletion")
    return request, held


def test_deletion_deletes_anonymises_and_keeps_exactly_what_the_registry_and_holds_say(
    approve, deletion, alice, bob, officer
):
    request, held = deletion
    fulfilment.carry_out_deletion(request=request, actor=officer)
    approve(request)

    # Deleted: plain questions, unheld event attendance, consent records.
    assert list(Inquiry.objects.filter(subject=alice).values_list("kind", flat=True)) == [InquiryKind.COMPLAINT]
    assert list(EventAttendance.objects.filter(subject=alice)) == [held]
    assert not ConsentEvent.objects.filter(subject=alice).exists()
    assert not ConsentState.objects.filter(subject=alice).exists()
    # Kept by statute: complaint records (3 years), visit logs (3 months), this request's own record.
    assert VisitLog.objects.filter(subject=alice).count() == 3
    assert DataSubjectRequest.objects.filter(pk=request.pk, subject=alice).exists()
    # The person's row stays, restricted, because kept records point at it.
    assert DataSubject.objects.get(pk=alice.pk).processing_restricted is True
    # Bob is untouched.
    assert (
        VisitLog.objects.filter(subject=bob).count() == 1
        and not DataSubject.objects.get(pk=bob.pk).processing_restricted
    )


def test_the_destruction_ledger_names_the_request_and_holds_no_personal_data(approve, deletion, officer, overseer):
    request, _held = deletion
    fulfilment.carry_out_deletion(request=request, actor=officer)
    approve(request)
    run = DestructionRun.objects.get(reference=request.reference)
    # Carried out by the second person who approved it.
    assert run.trigger == "dsar" and run.triggered_by_user == overseer
    assert run.counts["subjects.Inquiry"] == {"erased": 1, "anonymised": 0, "kept": 1}
    ledger = repr(run.__dict__)
    for personal in ("alice", "Alice", "203.0.113.7", "Where is my order"):
        assert personal not in ledger


def test_consents_are_withdrawn_through_the_ledger_before_the_erasure(approve, deletion, officer):
    request, _held = deletion
    fulfilment.carry_out_deletion(request=request, actor=officer)
    approve(request)
    request.refresh_from_db()
    assert request.outcome["consents_withdrawn"] == 1
    assert request.events.get(kind=EventKind.CONSENTS_WITHDRAWN).data == {"count": 1}


def test_a_pending_vendor_job_blocks_closing_until_it_is_confirmed_or_closed_with_a_note(
    approve, deletion, officer, mailoutbox, committed
):
    request, _held = deletion
    fulfilment.carry_out_deletion(request=request, actor=officer)
    approve(request)
    request.refresh_from_db()
    vendor_jobs = list(VendorErasureJob.objects.filter(reference=request.reference))
    assert vendor_jobs, "alice has an email address: Meta and Stibee get erasure jobs"
    assert request.status == RequestStatus.AWAITING_VENDORS and request.closed_at is None

    mailoutbox.clear()
    with pytest.raises(services.RequestError, match="processor job"):
        fulfilment.close_request(request=request, actor=officer)
    assert jobs.close_dsar_requests() == 0
    assert DataSubjectRequest.objects.get(pk=request.pk).status == RequestStatus.AWAITING_VENDORS
    assert mailoutbox == []

    for job in vendor_jobs[:-1]:
        close_job_manually(job=job, user=officer, note="Processor confirmed by phone")
    with pytest.raises(services.RequestError, match="1 processor job"):
        fulfilment.close_request(request=request, actor=officer)
    close_job_manually(job=vendor_jobs[-1], user=officer, note="Processor confirmed by letter")

    with committed():
        call_command("close_dsar_requests")
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED and request.closed_at is not None
    assert len(mailoutbox) == 1


def test_the_subject_is_told_what_was_kept_why_and_until_when(approve, deletion, officer, mailoutbox, alice, committed):
    request, _held = deletion
    DataSubjectRequest.objects.filter(pk=request.pk).update(language="en")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    approve(request)
    for job in VendorErasureJob.objects.filter(reference=request.reference):
        close_job_manually(job=job, user=officer, note="done")
    mailoutbox.clear()
    with committed():
        fulfilment.close_request(request=DataSubjectRequest.objects.get(pk=request.pk), actor=officer)
    body = mailoutbox[0].body
    assert mailoutbox[0].to == ["alice@example.com"]
    complaint = Inquiry.objects.get(subject=alice, kind=InquiryKind.COMPLAINT)
    complaint_due = timezone.localtime(complaint.closed_at).date().replace(year=complaint.closed_at.year + 3)
    assert "a law requires us to keep it for a set period" in body
    assert "legal hold" in body
    assert f"Destroyed by {complaint_due:%Y-%m-%d}" in body
    assert "Inquiries: 1" in body  # the question, deleted
    assert "Visit logs: 3. Why: a law requires us to keep it for a set period. Destroyed by" in body
    assert "Destroyed when the legal matter ends." in body
    assert "Destroyed 3 years after this request is closed." in body
    # DSAR-05: the profile itself is kept (restricted) for the kept records, and the email says so.
    assert "Your profile (name and contact details). Why: the records kept above must stay linked to you" in body
    assert "Destroyed with the last of the records kept above." in body  # a legal hold has no end date
    assert "set apart" not in body
    for number in ("118", "1833-6972", "1301", "182"):
        assert number in body
    assert "How to object" in body


def test_deletion_is_refused_before_verification_and_for_another_request_type(submit, verified, officer):
    unverified = submit("alice@example.com", "deletion")
    with pytest.raises(services.RequestError, match="not been verified"):
        fulfilment.carry_out_deletion(request=unverified, actor=officer)
    access = verified("alice@example.com", "access")
    with pytest.raises(services.RequestError, match="does not apply"):
        fulfilment.carry_out_deletion(request=access, actor=officer)


def test_the_deletion_runs_once(approve, deletion, officer):
    request, _held = deletion
    fulfilment.carry_out_deletion(request=request, actor=officer)
    approve(request)
    with pytest.raises(services.RequestError):
        fulfilment.carry_out_deletion(request=DataSubjectRequest.objects.get(pk=request.pk), actor=officer)
    assert DestructionRun.objects.filter(reference=request.reference).count() == 1
