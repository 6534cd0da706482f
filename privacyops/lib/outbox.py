"""Notices sent in leased batches: policy change notices and breach notices share this.

Each row is due when its `next_attempt_at` has passed and it has attempts left (the model's
`due()` queryset says so). A sender claims a batch with one conditional UPDATE that sets a claim
token and pushes `next_attempt_at` to the end of a lease: a second sender no longer sees the rows
as due, and if the first dies the lease runs out and they are due again (a notice may then go
twice, never zero times). A failed send is due again after a delay that doubles per attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db.models import QuerySet

MAX_RETRY_DELAY = timedelta(days=1)


def retry_delay(attempts: int, *, base_seconds: int) -> timedelta:
    """base, 2 x base, 4 x base ... after the 1st, 2nd, 3rd failed attempt, at most a day."""
    return min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


def claim_batch(due: QuerySet, *, batch_size: int, lease_seconds: int, now: datetime) -> QuerySet:
    """Claim up to `batch_size` due rows, oldest due first; returns the claimed rows' queryset."""
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:batch_size])
    token = uuid.uuid4()
    if ids:
        due.filter(pk__in=ids).update(claim_token=token, next_attempt_at=now + timedelta(seconds=lease_seconds))
    return due.model.objects.filter(claim_token=token).order_by("pk")
