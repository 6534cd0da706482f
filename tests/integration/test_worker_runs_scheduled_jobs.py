"""Periodic jobs travel through a real broker to a real worker (not eager mode)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from retention.models import DestructionRun
from retention.tasks import destroy_expired
from subjects.models import VisitLog

pytestmark = pytest.mark.worker


def visits(ages_in_days: list[int]) -> None:
    now = timezone.now()
    VisitLog.objects.bulk_create(VisitLog(visited_at=now - timedelta(days=age), path="/") for age in ages_in_days)


def test_a_destruction_sent_through_the_broker_runs_on_the_worker(celery_worker_process):
    visits([200] * 30 + [5] * 10)
    destroy_expired.apply_async(kwargs={"rule_key": "visit_logs"})
    celery_worker_process.wait_for(
        lambda: DestructionRun.objects.filter(rule__key="visit_logs", status="succeeded").exists(),
        what="the destruction run to succeed",
    )
    assert VisitLog.objects.count() == 10
    assert "retention.tasks.destroy_expired" in celery_worker_process.log()


def test_beat_in_the_worker_fires_a_job_scheduled_in_the_database(celery_worker_process):
    visits([200] * 5)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="test: destroy expired visit logs",
        task="retention.tasks.destroy_expired",
        interval=every_second,
        kwargs='{"rule_key": "visit_logs"}',
    )
    celery_worker_process.wait_for(
        lambda: not VisitLog.objects.exists(), timeout=90, what="beat to fire the job and the worker to destroy"
    )
    assert DestructionRun.objects.filter(rule__key="visit_logs", trigger="beat").exists()
