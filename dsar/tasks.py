"""Thin Celery wrappers around dsar.services and dsar.jobs (one job, three doors: service, task,
command)."""

from __future__ import annotations

from celery import shared_task

from . import jobs, services


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=1800, max_retries=8)
def send_verification_email(request_id: int) -> bool:
    # OSError covers an unreachable mail server; the resend sweep catches anything still missed.
    return services.issue_verification(request_id=request_id)


@shared_task
def send_dsar_reminders() -> dict:
    return jobs.send_dsar_reminders().__dict__


@shared_task
def resend_dsar_verifications() -> int:
    return jobs.resend_dsar_verifications()


@shared_task
def expire_dsar_requests() -> dict:
    return jobs.expire_dsar_requests().__dict__


@shared_task
def close_dsar_requests() -> int:
    return jobs.close_dsar_requests()
