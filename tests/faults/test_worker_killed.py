"""The Celery worker is killed (SIGKILL) in the middle of a scheduled destruction: nothing
newer than the cutoff is lost, the ledger agrees with the data, and the next run finishes."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun, RunStatus
from retention.services import destroy_expired
from retention.tasks import destroy_expired as destroy_expired_task
from subjects.models import VisitLog

pytestmark = pytest.mark.worker

EXPIRED, RECENT = 3000, 200


@pytest.fixture
def one_row_batches(monkeypatch):
    """Batches of one row, so the worker is surely mid-run when it is killed."""
    monkeypatch.setenv("RETENTION_BATCH_ROWS", "1")


def test_a_worker_killed_mid_destruction_loses_nothing_and_the_next_run_finishes(
    one_row_batches, celery_worker_process, settings
):
    now = timezone.now()
    VisitLog.objects.bulk_create(
        [VisitLog(visited_at=now - timedelta(days=200), path="/old") for _ in range(EXPIRED)]
        + [VisitLog(visited_at=now - timedelta(days=5), path="/recent") for _ in range(RECENT)],
        batch_size=1000,
    )
    destroy_expired_task.apply_async(kwargs={"rule_key": "visit_logs"})
    celery_worker_process.wait_for(
        lambda: DestructionRun.objects.filter(status=RunStatus.RUNNING, progress_done__gte=50).exists(),
        what="the destruction to be under way",
    )
    celery_worker_process.stop(signal.SIGKILL)

    killed = DestructionRun.objects.get(rule__key="visit_logs", status=RunStatus.RUNNING)
    old_left = VisitLog.objects.filter(path="/old").count()
    assert 0 < old_left < EXPIRED
    assert VisitLog.objects.filter(path="/recent").count() == RECENT
    assert killed.counts["subjects.VisitLog"]["destroyed"] == EXPIRED - old_left

    # SQLite's lock row outlives the killed process until it is stale; PostgreSQL's advisory
    # lock went with the worker's connection.
    settings.RETENTION_LOCK_STALE_SECONDS = 1
    time.sleep(1.2)
    rerun = destroy_expired(actor=SYSTEM, rule_key="visit_logs")[0]
    assert rerun.status == RunStatus.SUCCEEDED and rerun.destroyed == old_left
    assert VisitLog.objects.filter(path="/old").count() == 0
    assert VisitLog.objects.filter(path="/recent").count() == RECENT
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED
