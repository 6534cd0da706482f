"""Runs that overlap or die: real threads and a real subprocess, on a committed database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from retention.locks import rule_lock
from retention.models import DestructionRun, RetentionRule, RunStatus
from retention.services import destroy_expired
from subjects.models import VisitLog
from tests.conftest import worker_database_url

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _old_visits(n: int) -> None:
    old = timezone.now() - timedelta(days=365)
    VisitLog.objects.bulk_create([VisitLog(visited_at=old, path=f"/v/{i}") for i in range(n)], batch_size=1000)


def _in_thread(target, results: dict, name: str) -> threading.Thread:
    def body():
        try:
            results[name] = target()
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


@transactional
def test_two_concurrent_runs_of_one_rule_never_both_delete():
    _old_visits(40)
    first_batch_done, release = threading.Event(), threading.Event()
    results: dict = {}

    def pause_after_first_batch(run, label, done, total):
        first_batch_done.set()
        release.wait(15)

    first = _in_thread(
        lambda: destroy_expired(actor=SYSTEM, rule_key="visit_logs", batch_size=5, on_progress=pause_after_first_batch)[
            0
        ],
        results,
        "first",
    )
    assert first_batch_done.wait(15)
    second = _in_thread(lambda: destroy_expired(actor=SYSTEM, rule_key="visit_logs")[0], results, "second")
    second.join(15)
    release.set()
    first.join(30)

    assert results["second"].status == RunStatus.SKIPPED
    assert results["second"].destroyed == 0
    assert results["first"].status == RunStatus.SUCCEEDED
    assert results["first"].destroyed == 40
    skipped = DestructionRun.objects.get(pk=results["second"].run_id)
    assert "in progress" in skipped.error


@transactional
def test_a_run_skips_while_the_rule_is_locked_elsewhere():
    _old_visits(3)
    results: dict = {}
    with rule_lock(RetentionRule.objects.get(key="visit_logs")) as lock:
        assert lock.acquired
        _in_thread(lambda: destroy_expired(actor=SYSTEM, rule_key="visit_logs")[0], results, "other").join(15)
    assert results["other"].status == RunStatus.SKIPPED
    assert VisitLog.objects.count() == 3
    assert destroy_expired(actor=SYSTEM, rule_key="visit_logs")[0].destroyed == 3


@transactional
def test_a_killed_run_leaves_the_data_and_its_ledger_consistent_and_the_next_run_finishes(settings):
    total = 3000
    _old_visits(total)
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "CELERY_TASK_ALWAYS_EAGER": "True"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "destroy_expired", "--rule", "visit_logs", "--batch-size", "1"],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not DestructionRun.objects.filter(status=RunStatus.RUNNING, progress_done__gte=20).exists():
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the subprocess never got going"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()

    killed = DestructionRun.objects.get(status=RunStatus.RUNNING)
    remaining = VisitLog.objects.count()
    assert 0 < remaining < total
    # Each batch commits its deletions and its ledger counts together: a kill loses neither.
    assert killed.counts["subjects.VisitLog"]["destroyed"] == total - remaining

    # SQLite's lock row outlives the killed process until it is stale; PostgreSQL's advisory
    # lock went with the connection.
    settings.RETENTION_LOCK_STALE_SECONDS = 1
    time.sleep(1.2)
    rerun = destroy_expired(actor=SYSTEM, rule_key="visit_logs")[0]
    assert rerun.status == RunStatus.SUCCEEDED
    assert rerun.destroyed == remaining
    assert VisitLog.objects.count() == 0
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED and "Interrupted" in killed.error
