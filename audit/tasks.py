from __future__ import annotations

from celery import shared_task


@shared_task(name="audit.tasks.create_access_review")
def create_access_review(month: str | None = None) -> int:
    """Create the monthly access review (default: the previous month); returns its id."""
    from datetime import date

    from . import services

    review, _created = services.create_access_review(month=date.fromisoformat(month) if month else None)
    return review.pk


@shared_task(name="audit.tasks.anchor_access_log")
def anchor_access_log() -> int:
    """Write and mail the daily signed anchor of the access log; returns the anchored seq."""
    from . import anchors

    anchor, _path = anchors.anchor_access_log()
    return anchor.seq
