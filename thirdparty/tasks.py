"""Thin Celery wrappers around thirdparty.services (routed to the "vendors" queue)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="thirdparty.tasks.send_vendor_erasure_jobs")
def send_vendor_erasure_jobs() -> dict:
    """Send due vendor erasure jobs; the jobs hold their own retry times, so this is idempotent."""
    return services.send_vendor_erasure_jobs().as_dict()


@shared_task(name="thirdparty.tasks.refresh_youtube_data")
def refresh_youtube_data() -> dict:
    return services.refresh_youtube_data().as_dict()


@shared_task(name="thirdparty.tasks.retry_youtube_revocations")
def retry_youtube_revocations() -> dict:
    """Revoke again at Google the disconnected grants whose previous call failed; idempotent."""
    return services.retry_youtube_revocations()
