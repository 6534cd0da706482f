from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from retention.approvals import decide_hold_release, request_hold_release
from retention.models import DestructionRun, RuleAction, RunStatus, Trigger
from retention.services import RetentionError, destroy_expired, place_hold
from subjects.models import (
    AdPerformanceRecord,
    CollectionSource,
    DataSubject,
    Inquiry,
    InquiryKind,
    SocialAccount,
    VisitLog,
)
from subjects.registry import Erase, registry

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2025, 6, 15, 3, 30, tzinfo=SEOUL)


def _run(key: str, **kwargs):
    [result] = destroy_expired(actor=SYSTEM, rule_key=key, **kwargs)
    return result


@time_machine.travel(NOW, tick=False)
def test_a_row_one_second_past_the_cutoff_goes_and_one_at_the_cutoff_stays(db):
    cutoff = NOW - relativedelta(months=3)
    past = VisitLog.objects.create(visited_at=cutoff - timedelta(seconds=1), path="/past")
    at = VisitLog.objects.create(visited_at=cutoff, path="/at")
    result = _run("visit_logs")
    assert result.cutoff == cutoff
    assert not VisitLog.objects.filter(pk=past.pk).exists()
    assert VisitLog.objects.filter(pk=at.pk).exists()
    assert result.counts["subjects.VisitLog"]["destroyed"] == 1


def test_it_works_in_batches_and_records_each_in_the_ledger(old_visits):
    old, new = old_visits
    result = _run("visit_logs", batch_size=2)
    assert set(VisitLog.objects.values_list("pk", flat=True)) == {v.pk for v in new}
    run = DestructionRun.objects.get(pk=result.run_id)
    assert run.status == RunStatus.SUCCEEDED and run.trigger == Trigger.COMMAND
    assert run.batches == 3  # ids of the 5 old visits, 2 per batch
    assert run.batch_size == 2
    assert run.counts["subjects.VisitLog"]["destroyed"] == 5
    assert run.progress_percent == 100
    assert run.cutoff == result.cutoff and run.finished_at >= run.started_at
    assert run.method == "delete_overwrite"
    assert "3 months" in run.legal_basis or "15-2" in run.legal_basis


def test_a_second_run_destroys_nothing(old_visits):
    _run("visit_logs")
    again = _run("visit_logs")
    assert again.status == RunStatus.SUCCEEDED
    assert again.destroyed == 0
    assert VisitLog.objects.count() == 3


def test_a_dry_run_destroys_nothing_and_reports_counts(old_visits):
    result = _run("visit_logs", dry_run=True)
    assert VisitLog.objects.count() == 8
    assert result.status == RunStatus.DRY_RUN
    assert result.counts["subjects.VisitLog"]["destroyed"] == 5
    assert DestructionRun.objects.get(pk=result.run_id).status == RunStatus.DRY_RUN


def test_a_hold_on_a_subject_protects_its_rows(db, officer):
    subject = DataSubject.objects.create(email="held@example.com", source=CollectionSource.AUTOMATIC)
    old = timezone.now() - timedelta(days=365)
    held = VisitLog.objects.create(subject=subject, visited_at=old)
    free = VisitLog.objects.create(visited_at=old)
    place_hold(placed_by=officer, subject_id=subject.pk, reason="Investigation")
    result = _run("visit_logs")
    assert VisitLog.objects.filter(pk=held.pk).exists() and not VisitLog.objects.filter(pk=free.pk).exists()
    assert result.counts["subjects.VisitLog"] == {"destroyed": 1, "kept": 1}


@time_machine.travel(NOW, tick=False)
def test_a_hold_on_one_subject_leaves_the_others_and_the_anonymous_visits_to_the_purge(db, officer):
    """Many holds, many subjects: each held person's rows stay, every other row goes."""
    old = timezone.now() - timedelta(days=365)
    subjects = [
        DataSubject.objects.create(email=f"s{i}@example.com", source=CollectionSource.AUTOMATIC) for i in range(6)
    ]
    for subject in subjects:
        VisitLog.objects.create(subject=subject, visited_at=old)
    VisitLog.objects.create(visited_at=old)
    for subject in subjects[:3]:
        place_hold(placed_by=officer, subject_id=subject.pk, reason="Investigation")
    result = _run("visit_logs", batch_size=3)
    assert sorted(VisitLog.objects.values_list("subject_id", flat=True)) == sorted(s.pk for s in subjects[:3])
    assert result.counts["subjects.VisitLog"] == {"destroyed": 4, "kept": 3}


def test_a_hold_on_a_record_protects_that_record(old_visits, officer):
    old, _ = old_visits
    place_hold(placed_by=officer, record=old[2], reason="Evidence in a dispute")
    _run("visit_logs")
    assert list(VisitLog.objects.filter(pk__in=[v.pk for v in old])) == [old[2]]


def test_a_hold_placed_while_a_run_is_under_way_protects_its_row_in_a_later_batch(old_visits, officer):
    old, _ = old_visits
    last = max(old, key=lambda visit: visit.pk)  # in the last of the three batches
    placed = []

    def place_after_the_first_batch(run, label, done, total):
        if not placed:
            placed.append(place_hold(placed_by=officer, record=last, reason="Evidence found during the purge"))

    result = _run("visit_logs", batch_size=2, on_progress=place_after_the_first_batch)
    assert placed
    assert list(VisitLog.objects.filter(pk__in=[v.pk for v in old])) == [last]
    assert result.counts["subjects.VisitLog"] == {"destroyed": 4, "kept": 1}


def test_a_hold_on_a_rule_protects_everything_under_it_until_released(old_visits, officer, overseer, rule):
    hold = place_hold(placed_by=officer, rule=rule("visit_logs"), reason="Regulator's inspection")
    assert _run("visit_logs").destroyed == 0
    assert VisitLog.objects.count() == 8
    request_hold_release(hold_id=hold.pk, requested_by=officer)
    decide_hold_release(hold_id=hold.pk, decided_by=overseer, approve=True)
    assert _run("visit_logs").destroyed == 5


def test_an_expired_hold_no_longer_protects(old_visits, officer, rule):
    place_hold(
        placed_by=officer,
        rule=rule("visit_logs"),
        reason="Short hold",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert _run("visit_logs").destroyed == 5


def test_an_open_dispute_is_kept_and_a_closed_old_one_goes(alice):
    long_ago = timezone.now() - timedelta(days=4 * 365)
    open_dispute = Inquiry.objects.create(
        subject=alice, channel="phone", kind=InquiryKind.DISPUTE, body="open", opened_at=long_ago
    )
    closed = Inquiry.objects.create(
        subject=alice,
        channel="phone",
        kind=InquiryKind.DISPUTE,
        body="closed",
        opened_at=long_ago,
        closed_at=long_ago + timedelta(days=10),
    )
    old_question = Inquiry.objects.create(
        subject=alice, channel="web", body="q", opened_at=long_ago, closed_at=long_ago + timedelta(days=1)
    )
    _run("complaint_records")
    assert Inquiry.objects.filter(pk=open_dispute.pk).exists()
    assert not Inquiry.objects.filter(pk=closed.pk).exists()
    # A plain question is not a complaint: the complaint rule leaves it to the inquiries rule.
    assert Inquiry.objects.filter(pk=old_question.pk).exists()
    _run("inquiries")
    assert not Inquiry.objects.filter(pk=old_question.pk).exists()


def test_an_unlinked_account_goes_with_its_ad_records_and_a_linked_one_stays(carol):
    linked = SocialAccount.objects.create(subject=carol, platform="instagram", handle="@carol")
    AdPerformanceRecord.objects.create(account=linked, campaign="x")
    result = _run("sns_accounts")
    assert list(SocialAccount.objects.all()) == [linked]
    assert AdPerformanceRecord.objects.count() == 1
    assert result.counts["subjects.SocialAccount"]["destroyed"] == 1
    assert result.counts["subjects.AdPerformanceRecord"] == {"destroyed": 3, "with_parent": "subjects.SocialAccount"}


def test_a_held_account_keeps_its_ad_records(carol, officer):
    account = SocialAccount.objects.get(subject=carol)
    place_hold(placed_by=officer, record=account, reason="Contract dispute with the advertiser")
    _run("sns_accounts")
    assert SocialAccount.objects.filter(pk=account.pk).exists()
    assert AdPerformanceRecord.objects.filter(account=account).count() == 3


def test_a_held_ad_record_keeps_its_account(carol, officer):
    account = SocialAccount.objects.get(subject=carol)
    place_hold(placed_by=officer, record=account.ad_records.first(), reason="Evidence")
    result = _run("sns_accounts")
    assert SocialAccount.objects.filter(pk=account.pk).exists()
    assert AdPerformanceRecord.objects.filter(account=account).count() == 1
    assert result.counts["subjects.SocialAccount"] == {"destroyed": 0, "kept": 1}


def test_a_profile_goes_only_when_no_record_refers_to_it(db, officer):
    long_ago = timezone.now() - timedelta(days=400)
    lonely = DataSubject.objects.create(email="lonely@example.com", source=CollectionSource.AUTOMATIC)
    busy = DataSubject.objects.create(email="busy@example.com", source=CollectionSource.AUTOMATIC)
    held = DataSubject.objects.create(email="held@example.com", source=CollectionSource.AUTOMATIC)
    fresh = DataSubject.objects.create(email="fresh@example.com", source=CollectionSource.AUTOMATIC)
    VisitLog.objects.create(subject=busy)
    DataSubject.objects.exclude(pk=fresh.pk).update(updated_at=long_ago)
    place_hold(placed_by=officer, subject_id=held.pk, reason="Litigation")
    result = _run("subject_profiles")
    assert set(DataSubject.objects.values_list("email", flat=True)) == {
        "busy@example.com",
        "held@example.com",
        "fresh@example.com",
    }
    assert not DataSubject.objects.filter(pk=lonely.pk).exists()
    assert result.counts["subjects.DataSubject"] == {"destroyed": 1, "kept": 1}


@pytest.fixture
def anonymising_visits(rule, registry_as_it_was):
    """visit_logs switched to anonymisation, with the registry naming the fields to blank."""
    entry = registry.unregister(VisitLog)
    registry.register(
        VisitLog,
        subject_path=entry.subject_path,
        category=entry.category,
        sources=entry.sources,
        export_fields=entry.export_fields,
        erase=Erase.anonymise(ip=None, user_agent="", device_id="", cookie_id="", subject=None),
        retention=entry.retention,
    )
    visit_rule = rule("visit_logs")
    visit_rule.action = RuleAction.ANONYMISE
    visit_rule.save()
    return visit_rule


def test_anonymise_keeps_the_row_with_its_personal_fields_blanked(alice, anonymising_visits):
    old = VisitLog.objects.get(subject=alice, visited_at__lt=timezone.now() - timedelta(days=95))
    VisitLog.objects.filter(pk=old.pk).update(user_agent="Mozilla/5.0", cookie_id="c-1", device_id="d-1")
    result = _run("visit_logs")
    old.refresh_from_db()
    assert (old.ip, old.user_agent, old.cookie_id, old.device_id, old.subject_id) == (None, "", "", "", None)
    assert old.path == "/"  # not personal: kept for statistics
    assert VisitLog.objects.filter(subject=alice).count() == 2  # the recent ones are untouched
    assert result.counts["subjects.VisitLog"] == {"anonymised": 1}
    assert DestructionRun.objects.get(pk=result.run_id).method == "anonymise"
    assert _run("visit_logs").anonymised == 0


def test_an_anonymising_rule_over_a_model_without_fields_fails_clearly(old_visits, rule):
    visit_rule = rule("visit_logs")
    visit_rule.action = RuleAction.ANONYMISE
    visit_rule.save()
    result = _run("visit_logs")
    assert result.status == RunStatus.FAILED
    assert "names no fields to anonymise" in DestructionRun.objects.get(pk=result.run_id).error
    assert VisitLog.objects.count() == 8


def _make_delete_fail_on(path: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_visit_delete() RETURNS trigger AS $$ BEGIN "
                f"IF OLD.path = '{path}' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN OLD; END; "
                "$$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_visit_delete BEFORE DELETE ON subjects_visitlog "
                "FOR EACH ROW EXECUTE FUNCTION refuse_visit_delete()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_visit_delete BEFORE DELETE ON subjects_visitlog "
                f"WHEN OLD.path = '{path}' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
            )


def _drop_trigger() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER refuse_visit_delete ON subjects_visitlog")
            cursor.execute("DROP FUNCTION refuse_visit_delete()")
        else:
            cursor.execute("DROP TRIGGER refuse_visit_delete")


def test_a_run_that_fails_midway_is_recorded_as_failed_and_the_rerun_completes(old_visits):
    old, new = old_visits
    _make_delete_fail_on(old[3].path)
    failed = _run("visit_logs", batch_size=2)
    run = DestructionRun.objects.get(pk=failed.run_id)
    assert run.status == RunStatus.FAILED
    assert "refused by test trigger" in run.error and run.finished_at
    # The first batch (ids of old[0], old[1]) committed; the failing batch rolled back whole.
    assert run.counts["subjects.VisitLog"]["destroyed"] == 2
    assert VisitLog.objects.count() == 6
    _drop_trigger()
    rerun = _run("visit_logs", batch_size=2)
    assert rerun.status == RunStatus.SUCCEEDED and rerun.destroyed == 3
    assert set(VisitLog.objects.values_list("pk", flat=True)) == {v.pk for v in new}


def test_an_unknown_rule_is_refused(db):
    with pytest.raises(RetentionError, match="No active retention rule"):
        destroy_expired(actor=SYSTEM, rule_key="nope")


def test_an_inactive_rule_is_not_run(old_visits, rule):
    visit_rule = rule("visit_logs")
    visit_rule.active = False
    visit_rule.save()
    results = destroy_expired(actor=SYSTEM)
    assert "visit_logs" not in [r.rule for r in results]
    assert VisitLog.objects.count() == 8
