"""Celery doors to subjects services (thin: one service call)."""

from __future__ import annotations

from celery import shared_task

from .partitions import ensure_visit_partitions as _ensure_visit_partitions


@shared_task(name="subjects.tasks.ensure_visit_partitions")
def ensure_visit_partitions(months_ahead: int = 3) -> list[str]:
    """Beat calls this daily: the visit log's month partitions exist three months ahead."""
    return _ensure_visit_partitions(months_ahead=months_ahead)
