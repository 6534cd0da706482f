"""The visit log's monthly partitions on PostgreSQL (issue 20): created by the migration and
ahead of time, the destination of every visit, dropped whole by the destruction run when every
row is due and none held, left to the batch path otherwise. SQLite keeps a plain table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dsar.package import collect
from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun, LegalHold, RetentionRule
from retention.services import destroy_expired, place_hold
from subjects import partitions
from subjects.models import CollectionSource, DataSubject, VisitLog
from subjects.services import record_visit

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only")

OLD_MONTH = datetime(2025, 3, 1, tzinfo=UTC)  # long past the visit log's 3 months


def _table_of(visit: VisitLog) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM subjects_visitlog WHERE id = %s", [visit.pk])
        return cursor.fetchone()[0]


def _exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def _old_partition() -> str:
    assert partitions.ensure_visit_partitions(months_ahead=0, now=OLD_MONTH) == ["subjects_visitlog_p202503"]
    return "subjects_visitlog_p202503"


def _run():
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    return result


def test_the_migration_leaves_a_partitioned_table_with_months_ahead_and_a_default(db):
    assert partitions.is_partitioned()
    names = [p.name for p in partitions.visit_partitions()]
    this_month = partitions.month_start(timezone.now())
    assert partitions.partition_name(this_month) in names
    assert len(names) >= 4  # this month and three ahead
    assert _exists(partitions.DEFAULT)


def test_a_visit_lands_in_its_months_partition_and_a_stray_in_the_default(db):
    now = timezone.now()
    visit = VisitLog.objects.create(visited_at=now)
    assert _table_of(visit) == partitions.partition_name(partitions.month_start(now))
    stray = VisitLog.objects.create(visited_at=now + timedelta(days=3650))
    assert _table_of(stray) == partitions.DEFAULT


def test_ensure_visit_partitions_is_idempotent_and_moves_strays_out_of_the_default(db):
    now = timezone.now()
    ahead = partitions.month_start(now + timedelta(days=31 * 6))
    stray = VisitLog.objects.create(visited_at=ahead + timedelta(days=2))
    assert _table_of(stray) == partitions.DEFAULT
    created = partitions.ensure_visit_partitions(months_ahead=7)
    assert partitions.partition_name(ahead) in created
    assert _table_of(stray) == partitions.partition_name(ahead)
    before = partitions.visit_partitions()
    assert partitions.ensure_visit_partitions(months_ahead=7) == []
    assert partitions.visit_partitions() == before
    call_command("ensure_visit_partitions", "--months-ahead", "7")  # the command door: nothing new either
    assert partitions.visit_partitions() == before


def test_a_reference_stays_unique_across_months(db):
    first, created = record_visit(external_ref="site-1", visited_at=OLD_MONTH + timedelta(days=400))
    again, created_again = record_visit(external_ref="site-1", visited_at=timezone.now())
    assert created and not created_again and again.pk == first.pk
    assert VisitLog.objects.filter(external_ref="site-1").count() == 1


def test_a_fully_due_partition_is_dropped_and_recorded_with_its_count(db):
    name = _old_partition()
    for day in range(4):
        VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day, hours=1))
    recent = VisitLog.objects.create(visited_at=timezone.now() - timedelta(days=1))
    result = _run()
    assert not _exists(name)
    assert result.counts["subjects.VisitLog"] == {"destroyed": 4, "partitions_dropped": 1, "dropped_months": "2025-03"}
    run = DestructionRun.objects.get(pk=result.run_id)
    assert run.total_destroyed == 4 and run.batches >= 1
    assert run.counts["subjects.VisitLog"]["partitions_dropped"] == 1
    assert list(VisitLog.objects.all()) == [recent]


def test_several_due_months_are_counted_each_and_dropped_together_as_one_batch(db):
    _old_partition()
    partitions.ensure_visit_partitions(months_ahead=1, now=OLD_MONTH + timedelta(days=31))
    for day in range(3):
        VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day))
    VisitLog.objects.create(visited_at=datetime(2025, 5, 9, tzinfo=UTC))  # April stays empty
    result = _run()
    assert not any(_exists(f"subjects_visitlog_p2025{m:02}") for m in (3, 4, 5))
    assert result.counts["subjects.VisitLog"] == {
        "destroyed": 4,
        "partitions_dropped": 3,
        "dropped_months": "2025-03, 2025-04, 2025-05",
    }
    assert DestructionRun.objects.get(pk=result.run_id).batches == 1
    assert not VisitLog.objects.exists()


def test_a_partition_holding_a_held_subjects_visit_is_not_dropped(db, officer):
    name = _old_partition()
    subject = DataSubject.objects.create(email="held@example.com", source=CollectionSource.AUTOMATIC)
    held = VisitLog.objects.create(subject=subject, visited_at=OLD_MONTH + timedelta(days=5))
    for day in range(3):
        VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day))
    place_hold(placed_by=officer, subject_id=subject.pk, reason="Investigation")
    result = _run()
    assert _exists(name)
    assert list(VisitLog.objects.all()) == [held]
    assert _table_of(held) == name
    assert result.counts["subjects.VisitLog"] == {"destroyed": 3, "kept": 1}


def test_a_held_visit_keeps_its_own_month_and_the_other_due_months_are_still_dropped(db, officer):
    """The due months are asked about together first; a hold in one of them must not keep the rest."""
    march = _old_partition()
    may = datetime(2025, 5, 1, tzinfo=UTC)
    assert partitions.ensure_visit_partitions(months_ahead=0, now=may) == ["subjects_visitlog_p202505"]
    subject = DataSubject.objects.create(email="held@example.com", source=CollectionSource.AUTOMATIC)
    held = VisitLog.objects.create(subject=subject, visited_at=may + timedelta(days=3))
    VisitLog.objects.create(visited_at=may + timedelta(days=4))
    for day in range(2):
        VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day))
    place_hold(placed_by=officer, subject_id=subject.pk, reason="Investigation")
    result = _run()
    assert not _exists(march)
    assert _table_of(held) == "subjects_visitlog_p202505"
    assert list(VisitLog.objects.all()) == [held]
    assert result.counts["subjects.VisitLog"] == {
        "destroyed": 3,
        "partitions_dropped": 1,
        "dropped_months": "2025-03",
        "kept": 1,
    }


def test_the_access_export_reads_visits_of_every_month(db):
    subject = DataSubject.objects.create(email="export@example.com", source=CollectionSource.AUTOMATIC)
    _old_partition()
    VisitLog.objects.create(subject=subject, visited_at=OLD_MONTH + timedelta(days=1), path="/march")
    VisitLog.objects.create(subject=subject, visited_at=timezone.now(), path="/today")
    VisitLog.objects.create(subject=subject, visited_at=timezone.now() + timedelta(days=3650), path="/stray")
    package = collect(subject_id=subject.pk, reference="T-1")
    assert package.counts["subjects.VisitLog"] == 3


def test_a_hold_on_one_visit_or_on_the_rule_keeps_its_month_whole(db, officer):
    name = _old_partition()
    visits = [VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day)) for day in range(3)]
    hold = place_hold(placed_by=officer, record=visits[1], reason="Evidence")
    result = _run()
    assert _exists(name)
    assert list(VisitLog.objects.all()) == [visits[1]]
    assert result.counts["subjects.VisitLog"] == {"destroyed": 2, "kept": 1}

    LegalHold.objects.filter(pk=hold.pk).update(released_at=timezone.now(), released_by=officer)
    place_hold(placed_by=officer, rule=RetentionRule.objects.get(key="visit_logs"), reason="Regulator")
    assert _run().counts["subjects.VisitLog"] == {"destroyed": 0, "kept": 1}
    assert _exists(name)


def test_a_hold_on_someone_with_no_visit_that_month_does_not_keep_it(db, officer):
    name = _old_partition()
    elsewhere = DataSubject.objects.create(email="other@example.com", source=CollectionSource.AUTOMATIC)
    VisitLog.objects.create(subject=elsewhere, visited_at=timezone.now())
    VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=2))
    place_hold(placed_by=officer, subject_id=elsewhere.pk, reason="Investigation")
    result = _run()
    assert not _exists(name)
    assert result.counts["subjects.VisitLog"]["partitions_dropped"] == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_month_whose_lock_is_not_had_in_time_goes_to_the_batches(settings):
    """A reader holding the visit log (a long export) keeps the drop from its lock: the run waits
    no longer than the setting, then destroys the month's rows by batches, and nothing is lost."""
    settings.RETENTION_PARTITION_LOCK_TIMEOUT_MS = 200
    name = _old_partition()
    for day in range(3):
        VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day))
    reader = psycopg.connect(**_connection_kwargs())
    try:
        with reader.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT count(*) FROM subjects_visitlog")
        result = _run()
    finally:
        reader.close()
    try:
        assert _exists(name)
        assert result.counts["subjects.VisitLog"] == {"destroyed": 3}
        assert not VisitLog.objects.exists()
    finally:  # a committed test leaves its tables behind: the next test creates this month again
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _connection_kwargs() -> dict:
    params = connection.get_connection_params()
    return {key: params[key] for key in ("dbname", "user", "host", "port") if params.get(key)}


def test_a_month_detached_by_a_run_that_stopped_is_dropped_and_counted_by_the_next(db):
    name = _old_partition()
    for day in range(2):
        VisitLog.objects.create(visited_at=OLD_MONTH + timedelta(days=day))
    with connection.cursor() as cursor:  # the first step of an earlier run, which then died
        cursor.execute(f"ALTER TABLE subjects_visitlog DETACH PARTITION {name}")
    assert [p.name for p in partitions.detached_months()] == [name]
    assert not VisitLog.objects.exists()  # out of the product's reach, but still on disk
    result = _run()
    assert not _exists(name) and partitions.detached_months() == []
    assert result.counts["subjects.VisitLog"] == {"destroyed": 2, "partitions_dropped": 1, "dropped_months": "2025-03"}
