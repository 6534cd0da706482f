"""What a vendor's run function gives back to the erasure-job engine (`thirdparty.jobs`).

Each vendor module keeps its own `run` beside its HTTP calls (healthchecks keeps one module per
integration the same way): it sends what one job, or one batch of jobs, needs and answers an
`Outcome`; the engine records the attempts, the receipt, retries and the job's new status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from .http import VendorResponse


@dataclass
class Outcome:
    """What one send run did for one job."""

    state: str  # "done", "sent" (email), "retry", "failed" (permanent), "deferred" (quota; no attempt counted)
    responses: list[VendorResponse] = field(default_factory=list)
    receipt: dict = field(default_factory=dict)
    error: str = ""
    retry_at: datetime | None = None
    identifiers: dict | None = None  # what is left to do, when partly done


def outcome_from_failure(response: VendorResponse, responses: list[VendorResponse], **extra) -> Outcome:
    """A vendor's refusal: retried when the answer says so (timeout, 429, 5xx, throttling), else
    permanent; a Retry-After is honoured."""
    state = "retry" if response.retryable else "failed"
    retry_at = None
    if response.retry_after_seconds is not None:
        retry_at = timezone.now() + timedelta(seconds=response.retry_after_seconds)
    return Outcome(state, responses, error=response.short_error(), retry_at=retry_at, **extra)
