"""Writes for policy section 3: erasure passed on to processors, the sharing gate, YouTube grants,
disclosures to authorities.

Interface for the DSAR and consent apps (stable):

    create_erasure_jobs(*, subject, reference: str, kind: str = "erase") -> list[VendorErasureJob]
        One job per active processor whose erasure channel applies to the subject and the kind
        ("erase"; or "suppress" for a marketing withdrawal: Stibee unsubscribe, Meta audience
        removal). Idempotent per (processor, reference, kind). The identifiers each job needs are
        copied onto it encrypted, so the subject row may be erased right after this returns.
        For "erase", the person's active YouTube grants have their statistics deleted and are
        revoked at Google once the caller's transaction commits (an HTTP call per grant,
        VENDOR_HTTP_TIMEOUT_SECONDS each); the encrypted token is wiped when Google confirms.
        Sending is enqueued on commit (thirdparty.tasks.send_vendor_erasure_jobs).
    open_jobs(reference: str) -> QuerySet[VendorErasureJob]
        The request's jobs not yet confirmed and not closed by staff with a note; a request is
        finished with its processors when this is empty.
    send_vendor_erasure_jobs(*, now=None, limit=200) -> SendSummary
        Sends due jobs (new, or failed and past their backoff) within vendor quotas.
    may_share(*, subject, processor, purpose) -> ShareDecision(allowed: bool, reason: str)
    revoke_youtube_grant(*, grant, by: str, actor) -> OAuthGrant
        `actor` holds thirdparty.revoke_oauthgrant, or is SYSTEM (erasure, detected revocation).
    refresh_youtube_data(*, now=None, dry_run=False) -> YouTubeRefreshSummary
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent.services import may_process, withdraw_consent
from privacyops.lib.actors import SYSTEM, require_permission, user_or_none
from privacyops.lib.crypto import DecryptionError, reveal
from privacyops.lib.korean import resolve_particles
from subjects.models import CollectionSource, DataSubject

from .connectors import google_analytics, google_oauth, meta, stibee, youtube
from .connectors.http import VendorResponse
from .models import (
    Connector,
    DataTransfer,
    DisclosedSubject,
    Disclosure,
    DisclosureStatus,
    ErasureChannel,
    IdentityKind,
    JobKind,
    JobStatus,
    MetaDeletionRequest,
    MetaDeletionStatus,
    OAuthGrant,
    Processor,
    RateLimitState,
    RestrictedUse,
    RevokedBy,
    TransferBasis,
    VendorErasureAttempt,
    VendorErasureJob,
    VendorIdentity,
    VendorName,
    YouTubeStatistics,
)

logger = logging.getLogger(__name__)

# A claimed job is not picked by another worker for this long (a crashed worker's job comes back).
JOB_LEASE_SECONDS = 600
UNDECRYPTABLE_IDENTIFIERS = (
    "The identifiers stored for this job cannot be decrypted with the configured keys "
    "(FIELD_ENCRYPTION_KEYS); nothing was sent."
)
# Google's daily quotas reset at midnight Pacific time.
GOOGLE_QUOTA_TZ = ZoneInfo("America/Los_Angeles")


RETRY_JOB_PERMISSION = "thirdparty.change_vendorerasurejob"
CONFIRM_RECEIPT_PERMISSION = "thirdparty.confirm_erasure_receipt"
REVOKE_GRANT_PERMISSION = "thirdparty.revoke_oauthgrant"
APPROVE_DISCLOSURE_PERMISSION = "thirdparty.approve_disclosure"
MARK_DISCLOSED_PERMISSION = "thirdparty.mark_disclosed"


class ThirdPartyError(Exception):
    """A rule refused the action; the message is safe to show."""


# --- erasure jobs -------------------------------------------------------------------------------


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


@dataclass
class Slot:
    granted: bool
    at: datetime
    reason: str = ""


def _next_google_quota_day(now: datetime) -> datetime:
    local = now.astimezone(GOOGLE_QUOTA_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=GOOGLE_QUOTA_TZ)
    return midnight.astimezone(ZoneInfo("UTC"))


def reserve_ga_slot(*, now: datetime | None = None) -> Slot:
    """Reserve the next Google Analytics request slot of the property, shared by every worker.

    The row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers), so two
    workers never take the same slot. Slots are spaced 1/GA_REQUESTS_PER_SECOND apart and at most
    GA_REQUESTS_PER_DAY are handed out per Google quota day. A slot further away than
    GA_MAX_INLINE_WAIT_SECONDS is not reserved: the caller reschedules the job to `at`.
    """
    now = now or timezone.now()
    interval = timedelta(seconds=1 / settings.GA_REQUESTS_PER_SECOND)
    quota_day = now.astimezone(GOOGLE_QUOTA_TZ).date()
    key = google_analytics.quota_key()
    RateLimitState.objects.get_or_create(key=key)
    with transaction.atomic():
        # Write first: on SQLite this takes the database write lock before anything is read (a
        # read-then-write transaction would fail with SQLITE_BUSY under contention); on
        # PostgreSQL it locks the row like SELECT ... FOR UPDATE.
        RateLimitState.objects.filter(key=key).update(sent_today=F("sent_today"))
        state = RateLimitState.objects.select_for_update().get(key=key)
        if state.quota_day != quota_day:
            state.quota_day, state.sent_today = quota_day, 0
        if state.sent_today >= settings.GA_REQUESTS_PER_DAY:
            state.save(update_fields=["quota_day", "sent_today"])
            return Slot(False, _next_google_quota_day(now), "daily quota used")
        slot = max(now, state.next_slot_at or now)
        if (slot - now).total_seconds() > settings.GA_MAX_INLINE_WAIT_SECONDS:
            state.save(update_fields=["quota_day", "sent_today"])
            return Slot(False, slot, "rate limit")
        state.next_slot_at = slot + interval
        state.sent_today += 1
        state.save(update_fields=["quota_day", "sent_today", "next_slot_at"])
    return Slot(True, slot)


@dataclass
class Outcome:
    """What one send run did for one job."""

    state: str  # "done", "retry", "failed" (permanent), "deferred" (quota; no attempt counted)
    responses: list[VendorResponse] = field(default_factory=list)
    receipt: dict = field(default_factory=dict)
    error: str = ""
    retry_at: datetime | None = None
    identifiers: dict | None = None  # what is left to do, when partly done


def _outcome_from_failure(response: VendorResponse, responses: list[VendorResponse], **extra) -> Outcome:
    state = "retry" if response.retryable else "failed"
    retry_at = None
    if response.retry_after_seconds is not None:
        retry_at = timezone.now() + timedelta(seconds=response.retry_after_seconds)
    return Outcome(state, responses, error=response.short_error(), retry_at=retry_at, **extra)


def _run_ga(job: VendorErasureJob, ids: dict) -> Outcome:
    missing = google_analytics.configured()
    if missing:
        return Outcome("retry", error=missing)
    pending = list(ids.get("ga_pending", []))
    receipt = dict(job.receipt)
    deletions = list(receipt.get("deletions", []))
    responses: list[VendorResponse] = []
    while pending:
        slot = reserve_ga_slot()
        if not slot.granted:
            receipt["deletions"] = deletions
            return Outcome(
                "deferred", responses, receipt=receipt, retry_at=slot.at, identifiers={"ga_pending": pending}
            )
        wait = (slot.at - timezone.now()).total_seconds()
        if wait > 0:
            time.sleep(wait)
        item = pending[0]
        response = google_analytics.delete_user(item["type"], item["id"])
        responses.append(response)
        if not response.ok:
            receipt["deletions"] = deletions
            return _outcome_from_failure(response, responses, receipt=receipt, identifiers={"ga_pending": pending})
        body = response.body if isinstance(response.body, dict) else {}
        # The receipt names the kind of identifier, never its value.
        deletions.append(
            {"type": google_analytics.ID_TYPES[item["type"]], "deletionRequestTime": body.get("deletionRequestTime")}
        )
        pending.pop(0)
    receipt["deletions"] = deletions
    return Outcome("done", responses, receipt=receipt)


def _run_stibee(job: VendorErasureJob, ids: dict) -> Outcome:
    missing = stibee.configured()
    if missing:
        return Outcome("retry", error=missing)
    send = stibee.unsubscribe if job.kind == JobKind.SUPPRESS else stibee.purge
    response = send([ids["email"]])
    if not response.ok:
        return _outcome_from_failure(response, [response])
    return Outcome(
        "done",
        [response],
        receipt={"operation": "unsubscribe" if job.kind == JobKind.SUPPRESS else "purge", **stibee.receipt(response)},
    )


def _run_meta_batch(jobs: list[tuple[VendorErasureJob, dict]]) -> Outcome:
    """Remove the jobs' people from every configured audience, batched (<= 10,000 rows a call)."""
    missing = meta.configured()
    if missing:
        return Outcome("retry", error=missing)
    rows = [meta.hashed_row(email=ids.get("email", ""), phone=ids.get("phone", "")) for _, ids in jobs]
    audiences = []
    responses: list[VendorResponse] = []
    for audience_id in settings.META_CUSTOM_AUDIENCE_IDS:
        audience_responses = meta.remove_users(audience_id, rows)
        responses.extend(audience_responses)
        failed = next((r for r in audience_responses if not r.ok), None)
        if failed is not None:
            return _outcome_from_failure(failed, responses)
        received = sum(
            int((r.body or {}).get("num_received", 0)) for r in audience_responses if isinstance(r.body, dict)
        )
        sessions = [str((r.body or {}).get("session_id", "")) for r in audience_responses if isinstance(r.body, dict)]
        invalid = sum(
            int((r.body or {}).get("num_invalid_entries", 0)) for r in audience_responses if isinstance(r.body, dict)
        )
        audiences.append(
            {
                "audience_id": audience_id,
                "calls": len(audience_responses),
                "num_received": received,
                "num_invalid_entries": invalid,
                "session_ids": sessions,
            }
        )
    receipt = {
        "audiences": audiences,
        "rows": len(rows),
        "num_invalid_entries": sum(a["num_invalid_entries"] for a in audiences),
    }
    if rows and audiences and all(a["num_invalid_entries"] >= len(rows) for a in audiences):
        # Meta took none of the rows: nothing was removed, so the job is not done.
        return Outcome("failed", responses, receipt=receipt, error="Meta rejected every entry as invalid")
    return Outcome("done", responses, receipt=receipt)


def _send_erasure_email(job: VendorErasureJob, ids: dict) -> Outcome:
    processor = job.processor
    with translation.override("ko"):
        context = {"job": job, "processor": processor, "identifiers": ids, "kind": job.get_kind_display()}
        subject_line = _("[Palette] Request to erase personal data (reference %(ref)s)") % {"ref": job.reference}
        body = render_to_string("thirdparty/erasure_email.txt", context)
    EmailMessage(subject_line, body, settings.DEFAULT_FROM_EMAIL, [processor.contact_email]).send()
    return Outcome("sent")


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
    outcome = _run_meta_batch(batch)
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


def _run_one(job: VendorErasureJob, ids: dict) -> Outcome:
    if job.channel == ErasureChannel.EMAIL:
        if not job.processor.contact_email:
            return Outcome("failed", error="The processor has no contact email.")
        return _send_erasure_email(job, ids)
    if job.channel != ErasureChannel.API:
        return Outcome("failed", error="This job is handled by staff.")
    if job.processor.connector == Connector.GOOGLE_ANALYTICS:
        return _run_ga(job, ids)
    if job.processor.connector == Connector.STIBEE:
        return _run_stibee(job, ids)
    return Outcome("failed", error="The processor has no API connector.")


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


# --- vendor identities ---------------------------------------------------------------------------


def record_vendor_identity(*, subject: DataSubject, vendor: str, kind: str, value: str) -> VendorIdentity:
    """Remember an identifier a vendor knows the person by (captured when it is collected)."""
    value = (value or "").strip()
    if (
        vendor not in VendorName.values
        or kind not in IdentityKind.values
        or not value
        or len(value) > 200
        or not value.isprintable()
    ):
        raise ThirdPartyError(_("Unknown vendor, identifier kind, or an empty or too long value."))
    now = timezone.now()
    identity, created = VendorIdentity.objects.get_or_create(
        vendor=vendor, kind=kind, value=value, defaults={"subject": subject, "collected_at": now, "last_seen_at": now}
    )
    if not created:
        if identity.subject_id != subject.pk:
            # A shared browser: the cookie now belongs to someone else; keep the first owner's erasure reachable.
            raise ThirdPartyError(_("This identifier is already linked to another person."))
        VendorIdentity.objects.filter(pk=identity.pk).update(last_seen_at=now)
    return identity


# --- the sharing gate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareDecision:
    allowed: bool
    reason: str


# Policy 3.1.2.1: data that came from affiliated services is never provided for these.
AFFILIATE_FORBIDDEN_USES = {
    RestrictedUse.TARGETED_ADVERTISING: "3.1.2.1.3",
    RestrictedUse.RETARGETING: "3.1.2.1.4",
    RestrictedUse.RESALE: "3.1.2.1.1",
    RestrictedUse.CREDIT: "3.1.2.1.2",
}
PURPOSE_USES = {
    "targeted_advertising": RestrictedUse.TARGETED_ADVERTISING,
    "retargeting": RestrictedUse.RETARGETING,
    "resale": RestrictedUse.RESALE,
    "credit": RestrictedUse.CREDIT,
}


def _from_affiliate(subject: DataSubject) -> bool:
    return subject.source == CollectionSource.AFFILIATE or subject.source_affiliate_id is not None


def may_share(*, subject: DataSubject, processor: Processor, purpose: str) -> ShareDecision:
    """May this person's data go to this processor for this purpose? Every sync asks first."""
    if not processor.active:
        return ShareDecision(
            False, resolve_particles(_("%(processor)s is not an active processor.") % {"processor": processor.name})
        )
    if subject.processing_restricted:
        return ShareDecision(False, _("Processing of this person's data is suspended at their request."))
    use = PURPOSE_USES.get(purpose) or processor.restricted_use
    if use and _from_affiliate(subject):
        article = AFFILIATE_FORBIDDEN_USES[use]
        return ShareDecision(
            False,
            _(
                "This person's data came from an affiliated service; policy %(article)s forbids providing it "
                "for %(use)s."
            )
            % {"article": article, "use": RestrictedUse(use).label},
        )
    consent_purpose = processor.share_purpose if purpose in PURPOSE_USES else purpose
    if consent_purpose:
        if not may_process(subject=subject, purpose=consent_purpose):
            return ShareDecision(
                False, _("The person has not consented to the purpose '%(purpose)s'.") % {"purpose": consent_purpose}
            )
    return ShareDecision(True, _("Allowed."))


@dataclass
class ShareResult:
    allowed: list[DataSubject]
    refused: dict[int, str]
    transfer: DataTransfer


def share_subjects(*, subjects, processor: Processor, purpose: str, reference: str = "") -> ShareResult:
    """Run the gate for a sync's subjects and write the DataTransfer row for the sync; the caller
    sends only `allowed`."""
    allowed, refused, reasons = [], {}, {}
    for subject in subjects:
        decision = may_share(subject=subject, processor=processor, purpose=purpose)
        if decision.allowed:
            allowed.append(subject)
        else:
            refused[subject.pk] = decision.reason
            reasons[decision.reason] = reasons.get(decision.reason, 0) + 1
    consent_purpose = processor.share_purpose if purpose in PURPOSE_USES else purpose
    transfer = DataTransfer.objects.create(
        processor=processor,
        purpose=purpose,
        basis=TransferBasis.CONSENT if consent_purpose else TransferBasis.CONTRACT,
        consent_purpose=consent_purpose or "",
        data_categories=list(processor.data_categories),
        record_count=len(allowed),
        refused_count=len(refused),
        refusal_reasons=reasons,
        reference=reference[:100],
    )
    return ShareResult(allowed, refused, transfer)


# --- Stibee webhook -----------------------------------------------------------------------------


def handle_stibee_event(*, event: str, email: str) -> str:
    """An unsubscribe or purge made inside Stibee: withdraw marketing consent (channel
    processor_webhook) and suppress the person at the other marketing processors."""
    event = (event or "").upper()
    if event not in ("UNSUBSCRIBED", "PURGED"):
        return "ignored"
    email = (email or "").strip().lower()
    if not email.isprintable():
        return "unknown"
    subject = DataSubject.objects.filter(email=email).first()
    if subject is None:
        return "unknown"
    withdraw_consent(subject=subject, purpose="marketing", channel="processor_webhook")
    stibee_processors = Processor.objects.filter(connector=Connector.STIBEE)
    create_erasure_jobs(
        subject=subject,
        reference=f"stibee-{event.lower()}-{subject.pk}-{timezone.now():%Y%m%d}",
        kind=JobKind.SUPPRESS,
        skip_processors=list(stibee_processors),
    )
    logger.info("stibee webhook event=%s subject=%s", event, subject.pk)
    return "withdrawn"


# --- Meta data-deletion callback ------------------------------------------------------------------


def receive_meta_deletion_request(*, signed_request: str) -> MetaDeletionRequest:
    """Verify the signed_request, record the request and start erasure at the processors for the
    person linked to that Facebook user (if any). Raises meta.InvalidSignedRequest, and
    meta.ReplayedSignedRequest for one already received (it stays valid for an hour)."""
    payload = meta.parse_signed_request(signed_request)
    user_id = str(payload["user_id"])
    user_hash = meta.sha256(user_id)
    identity = VendorIdentity.objects.filter(vendor=VendorName.META, kind=IdentityKind.USER_ID, value=user_id).first()
    with transaction.atomic():
        try:
            with transaction.atomic():
                request = MetaDeletionRequest.objects.create(
                    meta_user_hash=user_hash,
                    signed_request_hash=meta.signed_request_hash(payload),
                    subject_found=identity is not None,
                )
        except IntegrityError:
            raise meta.ReplayedSignedRequest("signed_request was already received.") from None
        if identity is None:
            request.status = MetaDeletionStatus.COMPLETED
            request.completed_at = timezone.now()
            request.save(update_fields=["status", "completed_at"])
        else:
            request.reference = f"META-{request.confirmation_code}"
            request.status = MetaDeletionStatus.IN_PROGRESS
            request.save(update_fields=["reference", "status"])
            create_erasure_jobs(subject=identity.subject, reference=request.reference, kind=JobKind.ERASE)
    logger.info("meta deletion request id=%s subject_found=%s", request.pk, request.subject_found)
    return request


def meta_deletion_status(*, confirmation_code: str) -> MetaDeletionRequest | None:
    request = MetaDeletionRequest.objects.filter(confirmation_code=confirmation_code.strip().upper()[:32]).first()
    if request and request.status == MetaDeletionStatus.IN_PROGRESS and not open_jobs(request.reference).exists():
        request.status, request.completed_at = MetaDeletionStatus.COMPLETED, timezone.now()
        request.save(update_fields=["status", "completed_at"])
    return request


# --- YouTube grants ---------------------------------------------------------------------------------


def connect_youtube_grant(
    *,
    subject: DataSubject,
    access_token: str,
    refresh_token: str = "",
    scopes: list[str] | None = None,
    expires_in_seconds: int | None = None,
    channel_id: str = "",
) -> OAuthGrant:
    now = timezone.now()
    return OAuthGrant.objects.create(
        subject=subject,
        channel_id=channel_id,
        scopes=scopes or [],
        access_token=access_token,
        refresh_token=refresh_token,
        access_token_expires_at=now + timedelta(seconds=expires_in_seconds) if expires_in_seconds else None,
        granted_at=now,
    )


def revoke_youtube_grant(*, grant: OAuthGrant, by: str, actor) -> OAuthGrant:
    """Disconnect a grant: delete every statistic fetched through it at once, mark it revoked, and
    revoke the token at Google (refresh token first: it takes the access token with it).

    The encrypted token is kept until Google confirms (200, or 400 invalid_token: already dead);
    a timeout, 5xx or 429 is retried with backoff by `retry_youtube_revocations`, and after
    VENDOR_JOB_MAX_ATTEMPTS the grant waits on the officer's desk. A 401 invalid_client is our
    OAuth client's configuration, shown as such. The first call is made after the caller's
    transaction commits: a rollback never leaves a token revoked that we still hold."""
    require_permission(actor, REVOKE_GRANT_PERMISSION, error=ThirdPartyError)
    if by not in RevokedBy.values:
        raise ThirdPartyError(_("Unknown revocation source."))
    now = timezone.now()
    with transaction.atomic():
        grant = OAuthGrant.objects.select_for_update().get(pk=grant.pk)
        revocable = by != RevokedBy.DETECTED and bool(grant.refresh_token or grant.access_token)
        token = ""
        if revocable:
            try:
                token = reveal(grant.refresh_token or grant.access_token)
            except DecryptionError:
                # We cannot tell Google which token to revoke; what we hold is deleted all the same.
                logger.warning("youtube grant=%s: its tokens cannot be decrypted; not revoked at Google", grant.pk)
                revocable = False
        deleted, _counts = YouTubeStatistics.objects.filter(grant=grant).delete()
        if grant.revoked_at is None:
            grant.revoked_at, grant.revoked_by = now, by
        grant.access_token_expires_at = None
        grant.revoke_response_code = None
        if revocable:
            grant.revoke_attempts, grant.revoke_next_attempt_at, grant.revoke_error = 0, now, ""
        else:
            # Revoked at Google already (detected), or nothing usable to revoke with.
            grant.access_token = grant.refresh_token = ""
            grant.revoke_next_attempt_at = None
        grant.save()
        if revocable:
            # The token rides along in memory for a DSAR erasure, which deletes the row in the same
            # transaction: then this one call is all there is (the grant is gone, nothing to retry).
            transaction.on_commit(lambda pk=grant.pk: _revoke_at_google(grant_id=pk, erased_token=token))
    logger.info("youtube grant revoked grant=%s by=%s statistics_deleted=%d", grant.pk, by, deleted)
    return grant


def _revoke_at_google(*, grant_id: int, now: datetime | None = None, erased_token: str = "") -> str:
    """One revoke call for a disconnected grant: "confirmed", "retry", "gave_up" or "gone"."""
    grant = OAuthGrant.objects.filter(pk=grant_id, revoke_confirmed_at__isnull=True).first()
    if grant is None and erased_token and not OAuthGrant.objects.filter(pk=grant_id).exists():
        status = google_oauth.revoke(erased_token).status
        logger.info("youtube grant revoke call grant=%s revoke_status=%s outcome=erased", grant_id, status)
        return "gone"
    if grant is None or not (grant.refresh_token or grant.access_token):
        return "gone"
    try:
        token = reveal(grant.refresh_token or grant.access_token)
    except DecryptionError:
        logger.warning("youtube grant=%s: its tokens cannot be decrypted; not revoked at Google", grant_id)
        OAuthGrant.objects.filter(pk=grant_id).update(access_token="", refresh_token="", revoke_next_attempt_at=None)
        return "gone"
    response = google_oauth.revoke(token)
    now = now or timezone.now()
    body_error = response.body.get("error") if isinstance(response.body, dict) else None
    update: dict = {"revoke_response_code": response.status, "revoke_attempts": F("revoke_attempts") + 1}
    if response.ok or (response.status == 400 and body_error == "invalid_token"):
        update |= {"access_token": "", "refresh_token": "", "revoke_confirmed_at": now}
        update |= {"revoke_next_attempt_at": None, "revoke_error": ""}
        outcome = "confirmed"
    else:
        attempts = grant.revoke_attempts + 1
        if google_oauth.is_invalid_client(response):
            error = _("Google refused our OAuth client (invalid_client): check GOOGLE_OAUTH_CLIENT_ID and SECRET.")
        else:
            error = response.short_error()
        delay = min(
            settings.VENDOR_JOB_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), settings.VENDOR_JOB_BACKOFF_MAX_SECONDS
        )
        gave_up = attempts >= settings.VENDOR_JOB_MAX_ATTEMPTS
        update |= {"revoke_error": error[:300]}
        update |= {"revoke_next_attempt_at": None if gave_up else now + timedelta(seconds=delay)}
        outcome = "gave_up" if gave_up else "retry"
    OAuthGrant.objects.filter(pk=grant_id).update(**update)
    logger.info("youtube grant revoke call grant=%s revoke_status=%s outcome=%s", grant_id, response.status, outcome)
    return outcome


def retry_youtube_revocations(*, now: datetime | None = None) -> dict:
    """Call Google's revoke endpoint again for disconnected grants whose revocation is due."""
    now = now or timezone.now()
    counts = {"confirmed": 0, "retry": 0, "gave_up": 0, "gone": 0}
    due = OAuthGrant.objects.revoke_unconfirmed().filter(revoke_next_attempt_at__lte=now).order_by("pk")
    for grant_id in due.values_list("pk", flat=True)[:500]:
        counts[_revoke_at_google(grant_id=grant_id, now=now)] += 1
    logger.info("retry_youtube_revocations %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


@dataclass
class YouTubeRefreshSummary:
    grants_refreshed: int = 0
    grants_revoked: int = 0
    grants_failed: int = 0
    statistics_refreshed: int = 0
    statistics_deleted: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _valid_access_token(grant: OAuthGrant, now: datetime) -> tuple[str | None, bool]:
    """(token, revoked): a usable access token, refreshing it when expired. Raises
    DecryptionError when the stored tokens cannot be decrypted."""
    access_token, refresh_token = reveal(grant.access_token), reveal(grant.refresh_token)
    if access_token and (
        grant.access_token_expires_at is None or grant.access_token_expires_at > now + timedelta(seconds=60)
    ):
        return access_token, False
    if not refresh_token:
        return None, False
    response = google_oauth.refresh_access_token(refresh_token)
    if google_oauth.is_invalid_grant(response):
        return None, True
    body = response.body if isinstance(response.body, dict) else {}
    if not response.ok or not body.get("access_token"):
        return None, False
    grant.access_token = body["access_token"]
    grant.access_token_expires_at = now + timedelta(seconds=int(body.get("expires_in", 3600)))
    grant.last_checked_at = now
    grant.save(update_fields=["access_token", "access_token_expires_at", "last_checked_at"])
    return grant.access_token, False


def _refresh_grant(
    grant: OAuthGrant, stale: list[YouTubeStatistics], now: datetime, summary: YouTubeRefreshSummary
) -> None:
    try:
        token, revoked = _valid_access_token(grant, now)
    except DecryptionError:
        logger.warning("youtube grant=%s: its tokens cannot be decrypted; not refreshed", grant.pk)
        summary.grants_failed += 1
        return
    if revoked:
        revoke_youtube_grant(grant=grant, by=RevokedBy.DETECTED, actor=SYSTEM)
        summary.grants_revoked += 1
        return
    if token is None:
        summary.grants_failed += 1
        return
    fetched: dict[tuple[str, str], dict] = {}
    for resource in ("channel", "video"):
        ids = [s.resource_id for s in stale if s.resource == resource]
        if not ids:
            continue
        for response in youtube.fetch_statistics(token, resource, ids):
            if response.status == 401:
                revoke_youtube_grant(grant=grant, by=RevokedBy.DETECTED, actor=SYSTEM)
                summary.grants_revoked += 1
                return
            if not response.ok:
                summary.grants_failed += 1
                return
            fetched.update({(resource, rid): values for rid, values in youtube.parse_items(response.body).items()})
    with transaction.atomic():
        for stat in stale:
            values = fetched.get((stat.resource, stat.resource_id))
            if values is None:
                # Gone at YouTube (deleted or made private): nothing to refresh it from.
                stat.delete()
                summary.statistics_deleted += 1
                continue
            for name, value in values.items():
                setattr(stat, name, value)
            stat.fetched_at = now
            stat.save()
            summary.statistics_refreshed += 1
        OAuthGrant.objects.filter(pk=grant.pk).update(last_refreshed_at=now)
    summary.grants_refreshed += 1


def _check_youtube_grants(now: datetime, summary: YouTubeRefreshSummary) -> None:
    """Notice within a day a grant the person revoked at Google (myaccount.google.com): every
    active grant not checked for 20 hours exchanges its refresh token once; `invalid_grant`
    disconnects it and deletes its statistics at once (the policy allows 7 days)."""
    due = OAuthGrant.objects.active().exclude(refresh_token="")
    due = due.exclude(last_checked_at__gte=now - timedelta(hours=20)).order_by("pk")
    for grant in due[:1000]:
        try:
            refresh_token = reveal(grant.refresh_token)
        except DecryptionError:
            continue
        response = google_oauth.refresh_access_token(refresh_token)
        if google_oauth.is_invalid_grant(response):
            revoke_youtube_grant(grant=grant, by=RevokedBy.DETECTED, actor=SYSTEM)
            summary.grants_revoked += 1
            continue
        if google_oauth.is_invalid_client(response):
            logger.error("youtube grant check: Google refused our OAuth client (invalid_client)")
            return
        body = response.body if isinstance(response.body, dict) else {}
        if response.ok and body.get("access_token"):
            grant.access_token = body["access_token"]
            grant.access_token_expires_at = now + timedelta(seconds=int(body.get("expires_in", 3600)))
            grant.last_checked_at = now
            grant.save(update_fields=["access_token", "access_token_expires_at", "last_checked_at"])


def refresh_youtube_data(*, now: datetime | None = None, dry_run: bool = False) -> YouTubeRefreshSummary:
    """Refresh statistics older than YOUTUBE_REFRESH_AFTER_DAYS through each active grant, then
    delete every statistic older than 30 days (YouTube Developer Policies III.E.4), whatever the
    reason it could not be refreshed. With dry_run, count what would be deleted and call nothing."""
    now = now or timezone.now()
    summary = YouTubeRefreshSummary()
    refresh_cutoff = now - timedelta(days=settings.YOUTUBE_REFRESH_AFTER_DAYS)
    delete_cutoff = now - timedelta(days=settings.YOUTUBE_DATA_MAX_AGE_DAYS)
    if dry_run:
        summary.statistics_deleted = YouTubeStatistics.objects.filter(fetched_at__lt=delete_cutoff).count()
        return summary
    grant_ids = (
        YouTubeStatistics.objects.filter(fetched_at__lt=refresh_cutoff, grant__revoked_at__isnull=True)
        .values_list("grant_id", flat=True)
        .distinct()
    )
    for grant in OAuthGrant.objects.filter(pk__in=list(grant_ids)).order_by("pk"):
        stale = list(YouTubeStatistics.objects.filter(grant=grant, fetched_at__lt=refresh_cutoff))
        _refresh_grant(grant, stale, now, summary)
    _check_youtube_grants(now, summary)
    deleted, _counts = YouTubeStatistics.objects.filter(fetched_at__lt=delete_cutoff).delete()
    summary.statistics_deleted += deleted
    logger.info("refresh_youtube_data %s", " ".join(f"{k}={v}" for k, v in summary.as_dict().items()))
    return summary


# --- disclosures (policy 3.2) -------------------------------------------------------------------------


def approve_disclosure(*, disclosure: Disclosure, user) -> Disclosure:
    require_permission(
        user,
        APPROVE_DISCLOSURE_PERMISSION,
        error=ThirdPartyError,
        message=_("Only the privacy officer may approve a disclosure."),
    )
    with transaction.atomic():
        disclosure = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
        if disclosure.status != DisclosureStatus.DRAFT:
            raise ThirdPartyError(_("Only a draft disclosure can be approved."))
        disclosure.status, disclosure.approved_by, disclosure.approved_at = (
            DisclosureStatus.APPROVED,
            user,
            timezone.now(),
        )
        disclosure.save(update_fields=["status", "approved_by", "approved_at"])
    return disclosure


def mark_disclosed(*, disclosure: Disclosure, user, disclosed_at: datetime | None = None) -> Disclosure:
    require_permission(user, MARK_DISCLOSED_PERMISSION, error=ThirdPartyError)
    with transaction.atomic():
        disclosure = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
        if disclosure.status != DisclosureStatus.APPROVED or disclosure.approved_by_id is None:
            raise ThirdPartyError(_("A disclosure must be approved by the privacy officer before it is made."))
        disclosure.status, disclosure.disclosed_at = DisclosureStatus.DISCLOSED, disclosed_at or timezone.now()
        disclosure.save(update_fields=["status", "disclosed_at"])
    logger.info("disclosure made id=%s user=%s", disclosure.pk, getattr(user, "pk", None))
    return disclosure


def record_subject_notified(*, disclosed_subject: DisclosedSubject, at: datetime | None = None) -> DisclosedSubject:
    disclosed_subject.notified_at = at or timezone.now()
    disclosed_subject.save(update_fields=["notified_at"])
    return disclosed_subject
