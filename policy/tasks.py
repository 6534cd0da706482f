"""Thin Celery wrappers; the work is in services.py (also reachable as management commands)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=30, retry_backoff_max=600, max_retries=5)
def send_policy_notices() -> dict[str, int]:
    """Queue notices of newly announced versions and send the due ones (each delivery keeps its own retries)."""
    run = services.send_policy_notices()
    return {"queued": run.queued, "sent": run.sent, "failed": run.failed, "bounced": run.bounced}
