"""Rules with nothing due: one question for all of them, one INSERT for their register rows; the
register still shows every rule's run, and whatever needs the full path still gets it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun, RetentionRule, RunStatus
from retention.services import destroy_expired, place_hold, rules_with_last_run
from subjects.models import CollectionSource, DataSubject, VisitLog

pytestmark = pytest.mark.django_db


def test_a_run_with_nothing_due_records_every_rule_in_a_handful_of_statements(db):
    VisitLog.objects.create(visited_at=timezone.now() - timedelta(days=1), path="/recent")
    rules = list(RetentionRule.objects.active())
    with CaptureQueriesContext(connection) as queries:
        results = destroy_expired(actor=SYSTEM)
    assert [r.rule for r in results] == [rule.key for rule in rules]
    assert all(r.status == RunStatus.SUCCEEDED and r.destroyed == 0 for r in results)
    # Read the rules, one question for all of them, one INSERT of the register rows.
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 4, statements
    runs = DestructionRun.objects.filter(pk__in=[r.run_id for r in results])
    assert runs.count() == len(rules)
    visit_run = runs.get(rule_key="visit_logs")
    assert visit_run.counts == {"subjects.VisitLog": {"destroyed": 0}}
    assert visit_run.cutoff is not None and visit_run.finished_at is not None
    assert visit_run.legal_basis and visit_run.method == "delete_overwrite"
    assert VisitLog.objects.count() == 1
    # The officer's desk shows each rule's latest run: this one.
    last = dict((rule.key, run) for rule, run in rules_with_last_run())
    assert last["visit_logs"].pk == visit_run.pk


def test_only_the_rule_with_due_rows_takes_the_full_path(old_visits):
    results = {r.rule: r for r in destroy_expired(actor=SYSTEM)}
    assert results["visit_logs"].destroyed == 5
    assert DestructionRun.objects.get(pk=results["visit_logs"].run_id).batches == 1
    assert all(r.status == RunStatus.SUCCEEDED for r in results.values())
    assert VisitLog.objects.count() == 3


def test_held_rows_are_still_reported_as_kept(db, officer):
    subject = DataSubject.objects.create(email="held@example.com", source=CollectionSource.AUTOMATIC)
    VisitLog.objects.create(subject=subject, visited_at=timezone.now() - timedelta(days=365))
    place_hold(placed_by=officer, subject_id=subject.pk, reason="Investigation")
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    assert result.counts["subjects.VisitLog"] == {"destroyed": 0, "kept": 1}


def test_a_killed_run_is_marked_interrupted_even_when_nothing_is_due(db, rule):
    killed = DestructionRun.objects.create(
        rule=rule("visit_logs"), rule_key="visit_logs", trigger="command", method="delete_overwrite"
    )
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    assert result.status == RunStatus.SUCCEEDED
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED and "Interrupted" in killed.error


def test_a_dry_run_still_counts_every_rule(old_visits):
    results = {r.rule: r for r in destroy_expired(actor=SYSTEM, dry_run=True)}
    assert results["visit_logs"].counts["subjects.VisitLog"]["destroyed"] == 5
    assert all(r.status == RunStatus.DRY_RUN for r in results.values())
    assert VisitLog.objects.count() == 8


def test_the_questions_compiled_once_are_asked_with_each_runs_cutoff(db):
    VisitLog.objects.create(visited_at=timezone.now() - timedelta(days=1), path="/recent")
    [first] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    assert first.destroyed == 0
    # A year on, the same visit is due: the question compiled by the first run must not answer
    # with the first run's cutoff (nor with the one it was compiled with).
    [later] = destroy_expired(actor=SYSTEM, rule_key="visit_logs", now=timezone.now() + timedelta(days=365))
    assert later.destroyed == 1
    assert VisitLog.objects.count() == 0


def test_every_rules_question_from_the_cache_is_the_one_the_orm_compiles(db):
    from retention.services import _compile_question, _due_question
    from subjects.registry import registry

    for rule in RetentionRule.objects.active():
        for entry, retention in registry.bindings_for_rule(rule.key):
            for cutoff in (rule.cutoff(), rule.cutoff(timezone.now() - timedelta(days=400))):
                sql, params = _compile_question(rule, entry, retention, cutoff)
                assert _due_question(rule, entry, retention, cutoff) == (sql, list(params)), (rule.key, entry.label)
