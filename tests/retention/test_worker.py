"""The admin's "run now" travels through a real broker to a real worker process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from retention.models import DestructionRun, RunStatus, Trigger
from retention.tasks import destroy_expired
from subjects.models import VisitLog

pytestmark = pytest.mark.worker


def test_a_queued_destruction_runs_on_the_worker_and_lands_in_the_register(celery_worker_process, officer):
    old = timezone.now() - timedelta(days=365)
    VisitLog.objects.bulk_create([VisitLog(visited_at=old, path=f"/{i}") for i in range(30)])
    VisitLog.objects.create(path="/today")
    destroy_expired.delay(rule_key="visit_logs", trigger=Trigger.ADMIN, user_id=officer.pk)
    celery_worker_process.wait_for(
        lambda: DestructionRun.objects.filter(rule_key="visit_logs", status=RunStatus.SUCCEEDED).exists(),
        what="the destruction run to finish",
    )
    run = DestructionRun.objects.get(rule_key="visit_logs")
    assert (run.trigger, run.triggered_by_user_id) == (Trigger.ADMIN, officer.pk)
    assert run.counts["subjects.VisitLog"]["destroyed"] == 30
    assert list(VisitLog.objects.values_list("path", flat=True)) == ["/today"]
