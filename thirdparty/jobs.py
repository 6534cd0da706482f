"""The erasure-job engine: vendor erasure and suppression jobs, from creation to confirmation.

Interface (re-exported by `thirdparty.services`, where other apps and the admin call it):

    create_erasure_jobs(*, subject, reference: str, kind: str = "erase", skip_processors=()) -> list[VendorErasureJob]
        One job per active processor whose erasure channel applies to the subject and the kind
        ("erase"; or "suppress" for a marketing withdrawal: Stibee unsubscribe, Meta audience
        removal). Idempotent per (processor, reference, kind). The identifiers each job needs are
        copied onto it encrypted, so the subject row may be erased right after this returns.
        For "erase", the person's active YouTube grants are disconnected first
        (`services.revoke_youtube_grant`). Sending is enqueued on commit
        (thirdparty.tasks.send_vendor_erasure_jobs).
    open_jobs(reference) -> QuerySet[VendorErasureJob]
    send_vendor_erasure_jobs(*, now=None, limit=200) -> SendSummary
        Claims due jobs (a conditional UPDATE with a lease, so several workers never send one job
        twice) and hands each to its vendor's `run` in `thirdparty/connectors/<vendor>.py`
        (Google Analytics, Stibee; Meta's `run_batch` for up to 10,000 jobs at once; `email` for
        processors without an API), then records the outcome: attempts, receipt, backoff.
    retry_job_now / confirm_job_received / close_job_manually: staff's actions in the admin.

Imports nothing from consent (the layers contract lets only thirdparty.services ask consent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from privacyops.lib.actors import SYSTEM, require_permission, user_or_none
from privacyops.lib.crypto import DecryptionError
from subjects.models import DataSubject

from .connectors import email, google_analytics, meta, stibee
from .connectors.base import Outcome
from .errors import ThirdPartyError
from .models import (
    Connector,
    DataTransfer,
    ErasureChannel,
    JobKind,
    JobStatus,
    OAuthGrant,
    Processor,
    RevokedBy,
    TransferBasis,
    VendorErasureAttempt,
    VendorErasureJob,
    VendorIdentity,
    VendorName,
)

logger = logging.getLogger(__name__)

# A claimed job is not picked by another worker for this long (a crashed worker's job comes back).
JOB_LEASE_SECONDS = 600
UNDECRYPTABLE_IDENTIFIERS = (
    "The identifiers stored for this job cannot be decrypted with the configured keys "
    "(FIELD_ENCRYPTION_KEYS); nothing was sent."
)
RETRY_JOB_PERMISSION = "thirdparty.change_vendorerasurejob"
CONFIRM_RECEIPT_PERMISSION = "thirdparty.confirm_erasure_receipt"


def _collect_identifiers(subject: DataSubject) -> dict:
    identities = VendorIdentity.objects.filter(subject=subject).values_list("vendor", "kind", "value")
    ga_ids = [
        {"type": kind, "id": value} for vendor, kind, value in identities if vendor == VendorName.GOOGLE_ANALYTICS
    ]
    return {
        "email": subject.email or "",
        "phone": subject.phone or "",
        "name": subject.name or "",
        "ga_ids": sorted(ga_ids, key=lambda item: (item["type"], item["id"])),
        "meta_user_ids": [value for vendor, kind, value in identities if vendor == VendorName.META],
    }


def _job_plan(processor: Processor, ids: dict, kind: str) -> tuple[str, dict] | None:
    """(initial status, identifiers the job needs) or None when nothing applies."""
    if processor.erasure_channel == ErasureChannel.NONE:
        return None
    if kind == JobKind.SUPPRESS and processor.share_purpose != "marketing":
        # Suppression is a marketing withdrawal: only processors that market to people take part.
        return None
    if processor.erasure_channel == ErasureChannel.API:
        if processor.connector == Connector.GOOGLE_ANALYTICS:
            # Nothing to suppress in analytics, and nothing to delete without an identifier.
            if kind != JobKind.ERASE or not ids["ga_ids"]:
                return None
            return JobStatus.PENDING, {"ga_pending": ids["ga_ids"]}
        if processor.connector == Connector.META:
            if not (ids["email"] or ids["phone"]):
                return None
            return JobStatus.PENDING, {"email": ids["email"], "phone": ids["phone"]}
        if processor.connector == Connector.STIBEE:
            if not ids["email"]:
                return None
            return JobStatus.PENDING, {"email": ids["email"]}
        return None
    needed = {"email": ids["email"], "phone": ids["phone"], "name": ids["name"]}
    if processor.erasure_channel == ErasureChannel.EMAIL:
        if not processor.contact_email:
            return JobStatus.MANUAL, needed
        return JobStatus.PENDING, needed
    return JobStatus.MANUAL, needed


def create_erasure_jobs(
    *, subject: DataSubject, reference: str, kind: str = JobKind.ERASE, skip_processors=()
) -> list[VendorErasureJob]:
    """See the module docstring. `skip_processors`: processors already done (e.g. Stibee, when the
    person unsubscribed inside Stibee)."""
    if kind not in JobKind.values:
        raise ThirdPartyError(_("Unknown erasure job kind."))
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise ThirdPartyError(_("An erasure job needs a request reference of at most 100 characters."))
    skip = {getattr(p, "pk", p) for p in skip_processors}
    if kind == JobKind.ERASE:
        # The tokens go with the subject's rows, so revoke them at Google while we still hold them.
        from .services import revoke_youtube_grant  # services re-exports this module

        for grant in OAuthGrant.objects.active().filter(subject=subject):
            revoke_youtube_grant(grant=grant, by=RevokedBy.ERASURE, actor=SYSTEM)
    ids = _collect_identifiers(subject)
    now = timezone.now()
    jobs = []
    with transaction.atomic():
        for processor in Processor.objects.active().exclude(pk__in=skip).order_by("pk"):
            plan = _job_plan(processor, ids, kind)
            if plan is None:
                continue
            status, needed = plan
            job, created = VendorErasureJob.objects.get_or_create(
                processor=processor,
                reference=reference,
                kind=kind,
                defaults={
                    "subject_id": subject.pk,
                    "channel": processor.erasure_channel,
                    "status": status,
                    "next_attempt_at": now if status == JobStatus.PENDING else None,
                },
            )
            if created:
                job.store_identifiers(needed)
                job.save(update_fields=["identifiers"])
            jobs.append(job)
        if any(job.status == JobStatus.PENDING for job in jobs):
            from .tasks import send_vendor_erasure_jobs

            send_vendor_erasure_jobs.delay_on_commit()
    logger.info("vendor erasure jobs reference_len=%d kind=%s jobs=%d", len(reference), kind, len(jobs))
    return jobs


def open_jobs(reference: str) -> QuerySet[VendorErasureJob]:
    return VendorErasureJob.objects.filter(reference=reference).open()


def backoff_seconds(attempts: int) -> int:
    """Exponential: base * 2**(attempts-1), capped (60 s, 2 min, 4 min, ... 6 h by default)."""
    exponent = max(0, attempts - 1)
    return int(min(settings.VENDOR_JOB_BACKOFF_MAX_SECONDS, settings.VENDOR_JOB_BACKOFF_BASE_SECONDS * 2**exponent))


def _claim(job_id: int, now: datetime) -> VendorErasureJob | None:
    """Take a due job for this worker: a conditional UPDATE, so only one worker wins it."""
    lease_until = now + timedelta(seconds=JOB_LEASE_SECONDS)
    claimed = VendorErasureJob.objects.due(now).filter(pk=job_id).update(next_attempt_at=lease_until)
    if not claimed:
        return None
    return VendorErasureJob.objects.select_related("processor").get(pk=job_id)


def _wipe(job: VendorErasureJob, now: datetime) -> list[str]:
    job.identifiers = ""
    job.identifiers_wiped_at = now
    return ["identifiers", "identifiers_wiped_at"]


def _apply(job: VendorErasureJob, outcome: Outcome, now: datetime) -> None:
    for response in outcome.responses:
        VendorErasureAttempt.objects.create(
            job=job,
            attempted_at=now,
            response_code=response.status,
            outcome="ok" if response.ok else ("retryable" if response.retryable else "error"),
            detail=response.short_error(),
            duration_ms=response.duration_ms,
        )
    fields = ["status", "next_attempt_at", "last_attempt_at", "last_response_code", "last_error", "receipt", "attempts"]
    if outcome.responses:
        job.last_attempt_at = now
        job.last_response_code = outcome.responses[-1].status
    if outcome.receipt:
        job.receipt = outcome.receipt
    if outcome.identifiers is not None:
        job.store_identifiers({**job.load_identifiers(), **outcome.identifiers})
        fields.append("identifiers")
    if outcome.state == "done":
        job.status, job.next_attempt_at, job.last_error = JobStatus.CONFIRMED, None, ""
        job.confirmed_at = now
        fields += ["confirmed_at", *_wipe(job, now)]
        DataTransfer.objects.create(
            processor=job.processor,
            purpose="suppression" if job.kind == JobKind.SUPPRESS else "erasure",
            basis=TransferBasis.ERASURE,
            record_count=1,
            reference=job.reference,
            transferred_at=now,
        )
    elif outcome.state == "sent":
        job.status, job.next_attempt_at, job.last_error = JobStatus.SENT, None, ""
        job.email_sent_at = now
        job.attempts += 1
        fields.append("email_sent_at")
    elif outcome.state == "deferred":
        job.next_attempt_at = outcome.retry_at
    else:
        job.attempts += 1
        job.status = JobStatus.FAILED
        job.last_error = outcome.error[:500]
        if outcome.state == "retry" and job.attempts < settings.VENDOR_JOB_MAX_ATTEMPTS:
            retry_at = now + timedelta(seconds=backoff_seconds(job.attempts))
            job.next_attempt_at = max(retry_at, outcome.retry_at) if outcome.retry_at else retry_at
        else:
            # Permanent refusal or out of attempts: staff see it in the admin and use "retry now".
            job.next_attempt_at = None
    job.save(update_fields=fields)


@dataclass
class SendSummary:
    confirmed: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    skipped: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def send_vendor_erasure_jobs(*, now: datetime | None = None, limit: int = 200) -> SendSummary:
    """Send due jobs: GA one identifier at a time inside its quota, Meta batched per audience,
    Stibee one call per job, email-channel jobs as an email to the processor's contact."""
    summary = SendSummary()
    now = now or timezone.now()
    due_ids = list(
        VendorErasureJob.objects.due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
    meta_batch: list[tuple[VendorErasureJob, dict]] = []
    for job_id in due_ids:
        job = _claim(job_id, now)
        if job is None:
            summary.skipped += 1
            continue
        try:
            ids = job.load_identifiers()
        except DecryptionError:
            # Encrypted under a key no longer configured: nothing is sent; staff see the job stuck.
            outcome = Outcome("failed", error=UNDECRYPTABLE_IDENTIFIERS)
            _apply(job, outcome, timezone.now())
            _count(summary, outcome)
            logger.warning("vendor job=%s: its identifiers cannot be decrypted; nothing sent", job.pk)
            continue
        if job.channel == ErasureChannel.API and job.processor.connector == Connector.META:
            meta_batch.append((job, ids))
            if len(meta_batch) == meta.MAX_ROWS_PER_CALL:
                _finish_meta(meta_batch, summary)
                meta_batch = []
            continue
        outcome = _run_one(job, ids)
        _apply(job, outcome, timezone.now())
        _count(summary, outcome)
    if meta_batch:
        _finish_meta(meta_batch, summary)
    logger.info("vendor erasure send %s", " ".join(f"{k}={v}" for k, v in summary.as_dict().items()))
    return summary


def _finish_meta(batch: list[tuple[VendorErasureJob, dict]], summary: SendSummary) -> None:
    outcome = meta.run_batch(batch)
    applied_at = timezone.now()
    for index, (job, _ids) in enumerate(batch):
        # The calls are recorded once, on the first job of the batch; each job gets the receipt.
        single = Outcome(
            outcome.state,
            outcome.responses if index == 0 else [],
            receipt=outcome.receipt,
            error=outcome.error,
            retry_at=outcome.retry_at,
        )
        if index and outcome.responses:
            job.last_attempt_at, job.last_response_code = applied_at, outcome.responses[-1].status
        _apply(job, single, applied_at)
        _count(summary, outcome)


# One run function per API connector, each in its vendor's module (Meta's jobs go in batches:
# meta.run_batch, from send_vendor_erasure_jobs).
RUNNERS = {
    Connector.GOOGLE_ANALYTICS: google_analytics.run,
    Connector.STIBEE: stibee.run,
}


def _run_one(job: VendorErasureJob, ids: dict) -> Outcome:
    if job.channel == ErasureChannel.EMAIL:
        return email.run(job, ids)
    if job.channel != ErasureChannel.API:
        return Outcome("failed", error="This job is handled by staff.")
    runner = RUNNERS.get(job.processor.connector)
    if runner is None:
        return Outcome("failed", error="The processor has no API connector.")
    return runner(job, ids)


def _count(summary: SendSummary, outcome: Outcome) -> None:
    if outcome.state == "done":
        summary.confirmed += 1
    elif outcome.state == "sent":
        summary.sent += 1
    elif outcome.state == "deferred":
        summary.deferred += 1
    else:
        summary.failed += 1


def retry_job_now(*, job: VendorErasureJob, actor) -> VendorErasureJob:
    """Staff's "retry now": a failed or stuck job becomes due at once (attempts start over)."""
    require_permission(actor, RETRY_JOB_PERMISSION, error=ThirdPartyError)
    if job.status in (JobStatus.CONFIRMED, JobStatus.MANUAL) or (job.status == JobStatus.SENT):
        raise ThirdPartyError(_("Only pending or failed jobs can be retried."))
    with transaction.atomic():
        updated = VendorErasureJob.objects.filter(pk=job.pk, status__in=[JobStatus.PENDING, JobStatus.FAILED]).update(
            next_attempt_at=timezone.now(), attempts=0
        )
        if updated:
            from .tasks import send_vendor_erasure_jobs as task

            task.delay_on_commit()
    job.refresh_from_db()
    return job


def confirm_job_received(*, job: VendorErasureJob, user, note: str = "") -> VendorErasureJob:
    """Staff record that the processor confirmed the erasure (email or manual channel); the
    identifiers held for the job are wiped. Officer-only: the job can never be retried after."""
    require_permission(user, CONFIRM_RECEIPT_PERMISSION, error=ThirdPartyError)
    note = (note or "").strip()
    if job.status == JobStatus.CONFIRMED:
        raise ThirdPartyError(_("This job is already confirmed."))
    if job.channel == ErasureChannel.API and job.status != JobStatus.FAILED:
        raise ThirdPartyError(_("API jobs are confirmed by the vendor's answer."))
    now = timezone.now()
    with transaction.atomic():
        job = VendorErasureJob.objects.select_for_update().get(pk=job.pk)
        job.status, job.confirmed_at, job.next_attempt_at, job.closed_by = (
            JobStatus.CONFIRMED,
            now,
            None,
            user_or_none(user),
        )
        job.manual_note = note or job.manual_note
        job.receipt = {**job.receipt, "confirmed_by_staff": True}
        job.save(
            update_fields=[
                "status",
                "confirmed_at",
                "next_attempt_at",
                "closed_by",
                "manual_note",
                "receipt",
                *_wipe(job, now),
            ]
        )
    logger.info("vendor job confirmed by staff job=%s user=%s", job.pk, getattr(user, "pk", None))
    return job


def close_job_manually(*, job: VendorErasureJob, user, note: str) -> VendorErasureJob:
    """Close a job that cannot be completed (e.g. the processor holds nothing), with the reason.
    Like a confirmation it wipes the identifiers for good, so it asks the same permission."""
    require_permission(user, CONFIRM_RECEIPT_PERMISSION, error=ThirdPartyError)
    note = (note or "").strip()
    if not note:
        raise ThirdPartyError(_("Say why the job is closed without the processor's confirmation."))
    if job.status == JobStatus.CONFIRMED:
        raise ThirdPartyError(_("This job is already confirmed."))
    now = timezone.now()
    with transaction.atomic():
        job = VendorErasureJob.objects.select_for_update().get(pk=job.pk)
        job.status, job.manual_note, job.next_attempt_at, job.closed_by = (
            JobStatus.MANUAL,
            note,
            None,
            user_or_none(user),
        )
        job.save(update_fields=["status", "manual_note", "next_attempt_at", "closed_by", *_wipe(job, now)])
    return job
