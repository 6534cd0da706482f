"""The run history of the periodic jobs: `record_run(name, call)` wraps each run of a task named
in CELERY_BEAT_SCHEDULE (privacyops.celery.Task.__call__ calls it), writing one JobRun row when it
starts and completing it when it ends. The history must never stop a job: when the database cannot
take the row, the job still runs and the miss is logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from privacyops.lib.logs import redact

from .models import JobRun, JobRunStatus

logger = logging.getLogger(__name__)

# The jobs' names for people (the desk, the admin); a job missing here shows its task name.
JOB_NAMES = {
    "thirdparty.tasks.send_vendor_erasure_jobs": _("Erasure requests to processors"),
    "thirdparty.tasks.retry_youtube_revocations": _("YouTube disconnections, retried"),
    "thirdparty.tasks.refresh_youtube_data": _("YouTube data refresh"),
    "retention.tasks.destroy_expired": _("Destruction of expired data"),
    "subjects.tasks.ensure_visit_partitions": _("Visit-log partitions for the months ahead"),
    "audit.tasks.create_access_review": _("Monthly access-log review"),
    "audit.tasks.anchor_access_log": _("Access-log anchoring"),
    "incidents.tasks.send_incident_reminders": _("Breach deadline reminders"),
    "consent.tasks.reconfirm_marketing_consent": _("Marketing consent re-confirmation"),
    "consent.tasks.send_result_notices": _("Consent result notices"),
    "consent.tasks.purge_cookie_consent_records": _("Purge of old cookie-choice records"),
    "policy.tasks.send_policy_notices": _("Policy change notices"),
    "incidents.tasks.send_incident_notices": _("Breach notices to the people affected"),
    "dsar.tasks.send_dsar_reminders": _("Request deadline reminders"),
    "dsar.tasks.resend_dsar_verifications": _("Request verification emails, sent again"),
    "dsar.tasks.expire_dsar_requests": _("Unverified requests, expired"),
    "dsar.tasks.close_dsar_requests": _("Requests closed once every processor confirmed"),
}


def job_name(task: str) -> str:
    return str(JOB_NAMES.get(task, task))


def periodic_task_names() -> set[str]:
    return {entry["task"] for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values()}


def _safe(value: Any, depth: int = 0) -> Any:
    """The task's return value as JSON, keeping numbers, ids and short keys only."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return value[:80]
    if depth > 2:
        return None
    if isinstance(value, dict):
        return {str(k)[:40]: _safe(v, depth + 1) for k, v in list(value.items())[:20]}
    if isinstance(value, list | tuple):
        return [_safe(v, depth + 1) for v in list(value)[:20]]
    return str(type(value).__name__)


def summarise(result: Any) -> str:
    """What a run did, in words: a count, the counts by key, or the outcome of each item."""
    if result is None:
        return gettext("done")
    if isinstance(result, bool):
        return gettext("done") if result else gettext("nothing to do")
    if isinstance(result, int | float):
        return gettext("%(n)s handled") % {"n": result} if result else gettext("nothing to do")
    if isinstance(result, dict):
        parts = [f"{k}: {v}" for k, v in result.items() if isinstance(v, int | float | str)]
        return ", ".join(parts) or gettext("done")
    if isinstance(result, list):
        if not result:
            return gettext("nothing to do")
        statuses: dict[str, int] = {}
        for item in result:
            key = str(item.get("status")) if isinstance(item, dict) and "status" in item else "done"
            statuses[key] = statuses.get(key, 0) + 1
        return ", ".join(f"{key}: {n}" for key, n in sorted(statuses.items()))
    return gettext("done")


def _write(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except DatabaseError:
        logger.warning("job run history not written", exc_info=True)
        return None


def record_run(task: str, call: Callable[[], Any]) -> Any:
    """Run `call` and keep its run in the history; its result or exception passes through."""
    started = time.monotonic()
    run = _write(lambda: JobRun.objects.create(task=task, started_at=timezone.now()))
    try:
        result = call()
    except BaseException as exc:
        if run is not None:
            first_line = (str(exc).strip().splitlines() or [""])[0]
            run.error = redact(f"{type(exc).__name__}: {first_line}")[:500]
            _finish(run, started, JobRunStatus.FAILED)
        raise
    if run is not None:
        run.result = _safe(result)
        _finish(run, started, JobRunStatus.SUCCEEDED)
    return result


def _finish(run: JobRun, started: float, status: str) -> None:
    run.status, run.finished_at = status, timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    _write(lambda: run.save(update_fields=["status", "finished_at", "duration_ms", "result", "error"]))


def latest_runs(limit_per_task: int = 10) -> dict[str, list[JobRun]]:
    """The last runs of each periodic job, newest first."""
    out: dict[str, list[JobRun]] = {}
    for task in sorted(periodic_task_names()):
        out[task] = list(JobRun.objects.filter(task=task).order_by("-started_at", "-pk")[:limit_per_task])
    return out
