"""Thin Celery wrappers; the work is in the services (also reachable as management commands)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import notices


@shared_task(autoretry_for=(OperationalError,), retry_backoff=30, retry_backoff_max=600, max_retries=5)
def send_incident_notices() -> dict[str, int]:
    """Send due breach notices (each notice keeps its own retries) and settle notified incidents."""
    run = notices.send_incident_notices()
    return {"sent": run.sent, "failed": run.failed, "notified": run.notified}


@shared_task(name="incidents.tasks.send_incident_reminders")
def send_incident_reminders() -> dict[str, int]:
    """Remind the officer of open 72-hour clocks at 24, 48 and 66 hours (each once)."""
    from . import services

    run = services.send_incident_reminders()
    return {"reminders": run.reminders, "mails": run.mails}
