"""Celery doors to consent services (thin: ids and ISO strings in, one service call)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="consent.tasks.send_result_notice")
def send_result_notice(event_id: int) -> bool:
    """Enqueued on commit by every marketing consent event (CM-04)."""
    return services.send_result_notice(event_id=event_id) is not None


@shared_task(name="consent.tasks.send_result_notices")
def send_result_notices() -> dict:
    result = services.send_result_notices()
    return {"sent": result.sent, "overdue": result.overdue}


@shared_task(name="consent.tasks.reconfirm_marketing_consent")
def reconfirm_marketing_consent(dry_run: bool = False) -> dict:
    result = services.reconfirm_marketing_consent(dry_run=dry_run)
    return {"due": result.due, "sent": result.sent, "no_email": result.no_email, "lapsed": result.lapsed}


@shared_task(name="consent.tasks.purge_cookie_consent_records")
def purge_cookie_consent_records(dry_run: bool = False) -> int:
    return services.purge_cookie_consent_records(dry_run=dry_run)
