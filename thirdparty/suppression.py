"""Every marketing withdrawal reaches every vendor.

consent records a withdrawal or refusal of a marketing purpose from any door (preference page,
opt-out link, API, request form, staff, a GPC signal) and calls the named hook
`privacyops.lib.hooks.marketing_consent_ended` inside its transaction; thirdparty provides it
(apps.py) with `queue_suppression_jobs`, which creates one suppression job per active processor
that markets to people (Stibee unsubscribe, Meta audience removal). The jobs are created in the
withdrawal's transaction and sent by the worker after commit, so a rollback queues nothing.

Idempotent: a processor that already has an open suppression job for the person gets no second
one, and the job reference names the consent event, so a retry of the same event adds nothing.
A withdrawal that arrives through a processor's own webhook (Stibee's unsubscribe) is left to
`services.handle_stibee_event`, which suppresses at the other processors only. The cookie
banner's "no" is anonymous (a visitor id, no person): it reaches no vendor, and keeps the Meta
pixel and Google's ad signals off in that browser instead (docs/THIRDPARTY.md).
"""

from __future__ import annotations

from subjects.models import DataSubject

from .models import JobKind, VendorErasureJob

# consent.models.ConsentChannel.PROCESSOR_WEBHOOK; the value, because thirdparty asks consent only
# through consent.services (the one import the layers contract allows).
PROCESSOR_WEBHOOK_CHANNEL = "processor_webhook"


def queue_suppression_jobs(*, subject_id: int, purpose: str, channel: str, event_id: int) -> int:
    """The provider of `marketing_consent_ended`; returns the number of jobs created."""
    from .jobs import create_erasure_jobs

    if channel == PROCESSOR_WEBHOOK_CHANNEL:
        return 0
    subject = DataSubject.objects.filter(pk=subject_id).first()
    if subject is None:
        return 0
    already = VendorErasureJob.objects.filter(subject_id=subject_id, kind=JobKind.SUPPRESS).open()
    jobs = create_erasure_jobs(
        subject=subject,
        reference=f"consent-{purpose}-{event_id}",
        kind=JobKind.SUPPRESS,
        skip_processors=list(already.values_list("processor_id", flat=True)),
    )
    return len(jobs)
