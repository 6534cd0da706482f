from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from retention.models import DestructionRun, Trigger
from retention.services import LEGAL_HOLD, STATUTE, RetentionError, erase_subject, place_hold
from subjects.models import (
    AdPerformanceRecord,
    CollectionSource,
    DataSubject,
    EventAttendance,
    Inquiry,
    InquiryKind,
    SocialAccount,
    VisitLog,
)


def _erase(subject, **kwargs):
    return erase_subject(subject_id=subject.pk, reference="DSAR-2025-0001", triggered_by=Trigger.DSAR, **kwargs)


def test_it_keeps_what_a_statute_keeps_and_erases_the_rest(alice):
    complaint = Inquiry.objects.get(subject=alice, kind=InquiryKind.COMPLAINT)
    result = _erase(alice)

    assert list(Inquiry.objects.filter(subject=alice)) == [complaint]
    inquiries = result.for_model(Inquiry)
    assert inquiries.erased == 1
    assert [(k.reason, k.rule, k.count) for k in inquiries.kept] == [(STATUTE, "complaint_records", 1)]
    assert inquiries.kept[0].due_on == (timezone.localtime(complaint.closed_at) + timedelta(days=0)).date().replace(
        year=timezone.localtime(complaint.closed_at).year + 3
    )
    # Visit logs are kept 3 months under the Protection of Communications Secrets Act.
    visits = result.for_model(VisitLog)
    assert visits.kept[0].reason == STATUTE and visits.kept[0].count == 3
    assert VisitLog.objects.filter(subject=alice).count() == 3
    alice.refresh_from_db()
    assert alice.processing_restricted
    assert result.subject_restricted and not result.subject_deleted


def test_it_records_one_ledger_row_without_personal_data(alice):
    result = _erase(alice)
    run = DestructionRun.objects.get(pk=result.run_id)
    assert run.trigger == Trigger.DSAR and run.reference == "DSAR-2025-0001"
    assert run.counts["subjects.Inquiry"] == {"erased": 1, "anonymised": 0, "kept": 1}
    dumped = json.dumps(run.counts) + run.error + run.legal_basis
    for personal in ("alice", "Alice", "203.0.113.7", "Where is my order", str(alice.pk) + '"'):
        assert personal not in dumped


def test_it_deletes_the_subject_once_nothing_refers_to_it(db):
    dave = DataSubject.objects.create(name="Dave", email="dave@example.com", source=CollectionSource.OFFLINE_EVENT)
    EventAttendance.objects.create(subject=dave, event_name="Seminar", event_date=timezone.localdate())
    Inquiry.objects.create(subject=dave, channel="email", kind=InquiryKind.QUESTION, body="Slides?")
    result = _erase(dave)
    assert result.subject_deleted
    assert not DataSubject.objects.filter(pk=dave.pk).exists()
    assert result.for_model(EventAttendance).erased == 1
    assert result.for_model(DataSubject).erased == 1


def test_it_removes_ad_records_before_their_account(carol):
    result = _erase(carol)
    assert result.for_model(AdPerformanceRecord).erased == 3
    assert result.for_model(SocialAccount).erased == 1
    assert result.subject_deleted
    assert not AdPerformanceRecord.objects.exists()


def test_a_subject_hold_keeps_everything_of_that_person(alice, officer):
    place_hold(placed_by=officer, subject_id=alice.pk, reason="Litigation 2025-가합-123")
    result = _erase(alice)
    assert Inquiry.objects.filter(subject=alice).count() == 2
    question = result.for_model(Inquiry)
    assert question.erased == 0
    assert (LEGAL_HOLD, "inquiries", 1) in [(k.reason, k.rule, k.count) for k in question.kept]
    assert DataSubject.objects.filter(pk=alice.pk).exists()
    assert [k.reason for k in result.for_model(DataSubject).kept] == [LEGAL_HOLD]


def test_a_record_hold_keeps_that_record_only(db, officer):
    erin = DataSubject.objects.create(email="erin@example.com", source=CollectionSource.CUSTOMER_SERVICE)
    held = Inquiry.objects.create(subject=erin, channel="web", kind=InquiryKind.QUESTION, body="one")
    Inquiry.objects.create(subject=erin, channel="web", kind=InquiryKind.QUESTION, body="two")
    place_hold(placed_by=officer, record=held, reason="Police request")
    result = _erase(erin)
    assert list(Inquiry.objects.filter(subject=erin)) == [held]
    assert result.for_model(Inquiry).erased == 1
    assert result.for_model(Inquiry).kept[0].reason == LEGAL_HOLD
    # The held inquiry still points at the person, so the profile stays, restricted.
    assert DataSubject.objects.get(pk=erin.pk).processing_restricted


def test_a_released_hold_no_longer_protects(db, officer, overseer):
    from retention.approvals import decide_hold_release, request_hold_release

    erin = DataSubject.objects.create(email="erin@example.com", source=CollectionSource.CUSTOMER_SERVICE)
    held = Inquiry.objects.create(subject=erin, channel="web", kind=InquiryKind.QUESTION, body="one")
    hold = place_hold(placed_by=officer, record=held, reason="Police request")
    request_hold_release(hold_id=hold.pk, requested_by=officer)
    decide_hold_release(hold_id=hold.pk, decided_by=overseer, approve=True)
    assert _erase(erin).subject_deleted


def test_an_open_dispute_is_kept_with_no_due_date(db):
    frank = DataSubject.objects.create(email="frank@example.com", source=CollectionSource.CUSTOMER_SERVICE)
    Inquiry.objects.create(subject=frank, channel="phone", kind=InquiryKind.DISPUTE, body="Refund refused")
    kept = _erase(frank).for_model(Inquiry).kept
    assert [(k.reason, k.count, k.due_on) for k in kept] == [(STATUTE, 1, None)]


def test_a_dry_run_changes_nothing_and_reports_the_same_counts(alice):
    before = (Inquiry.objects.count(), VisitLog.objects.count(), DestructionRun.objects.count())
    preview = _erase(alice, dry_run=True)
    assert (Inquiry.objects.count(), VisitLog.objects.count(), DestructionRun.objects.count()) == before
    assert preview.run_id is None
    real = _erase(alice)
    assert [(m.model, m.erased, m.kept_count) for m in preview.models] == [
        (m.model, m.erased, m.kept_count) for m in real.models
    ]


def test_an_unknown_subject_or_trigger_is_refused(db):
    with pytest.raises(RetentionError, match="No data subject"):
        erase_subject(subject_id=999999, reference="x", triggered_by="dsar")
    with pytest.raises(RetentionError, match="triggered_by"):
        erase_subject(subject_id=1, reference="x", triggered_by="someone")


def test_a_rule_hold_keeps_that_rules_rows_from_an_erasure(alice, officer, rule):
    place_hold(placed_by=officer, rule=rule("inquiries"), reason="Regulator's inspection of customer service")
    result = _erase(alice)
    question = Inquiry.objects.get(subject=alice, kind=InquiryKind.QUESTION)
    kept = result.for_model(Inquiry).kept
    assert (LEGAL_HOLD, "inquiries", 1) in [(k.reason, k.rule, k.count) for k in kept]
    # The question is still open (no closing date), so its period has not started: no due date.
    assert question.closed_at is None and [k.due_on for k in kept if k.reason == LEGAL_HOLD] == [None]
