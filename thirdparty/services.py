"""Writes for policy section 3: erasure passed on to processors, the sharing gate, YouTube grants,
disclosures to authorities.

Interface for the DSAR and consent apps (stable):

    create_erasure_jobs, open_jobs, send_vendor_erasure_jobs, retry_job_now,
    confirm_job_received, close_job_manually
        The erasure-job engine, in `thirdparty.jobs` (re-exported here); each vendor's run
        function is beside its connector in `thirdparty/connectors/<vendor>.py`.
    may_share(*, subject, processor, purpose) -> ShareDecision(allowed: bool, reason: str)
    revoke_youtube_grant(*, grant, by: str, actor) -> OAuthGrant
        `actor` holds thirdparty.revoke_oauthgrant, or is SYSTEM (erasure, detected revocation,
        the person's own "disconnect" on the preference page).
    refresh_youtube_data(*, now=None, dry_run=False) -> YouTubeRefreshSummary
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.services import may_process, withdraw_consent
from privacyops.lib import hooks
from privacyops.lib.actors import SYSTEM, require_permission
from privacyops.lib.crypto import DecryptionError, reveal
from privacyops.lib.korean import resolve_particles
from subjects.models import CollectionSource, DataSubject
from subjects.registry import DataCategory

from .connectors import google_oauth, meta, youtube
from .connectors.google_analytics import GOOGLE_QUOTA_TZ, Slot, reserve_ga_slot
from .errors import ThirdPartyError
from .jobs import (
    CONFIRM_RECEIPT_PERMISSION,
    JOB_LEASE_SECONDS,
    RETRY_JOB_PERMISSION,
    UNDECRYPTABLE_IDENTIFIERS,
    SendSummary,
    backoff_seconds,
    close_job_manually,
    confirm_job_received,
    create_erasure_jobs,
    open_jobs,
    retry_job_now,
    send_vendor_erasure_jobs,
)
from .models import (
    Connector,
    DataTransfer,
    DisclosedSubject,
    Disclosure,
    DisclosureStatus,
    IdentityKind,
    JobKind,
    MetaDeletionRequest,
    MetaDeletionStatus,
    OAuthGrant,
    Processor,
    RestrictedUse,
    RevokedBy,
    TransferBasis,
    VendorIdentity,
    VendorName,
    YouTubeStatistics,
)

__all__ = [
    "CONFIRM_RECEIPT_PERMISSION",
    "GOOGLE_QUOTA_TZ",
    "JOB_LEASE_SECONDS",
    "RETRY_JOB_PERMISSION",
    "UNDECRYPTABLE_IDENTIFIERS",
    "SendSummary",
    "Slot",
    "ThirdPartyError",
    "backoff_seconds",
    "close_job_manually",
    "confirm_job_received",
    "create_erasure_jobs",
    "open_jobs",
    "reserve_ga_slot",
    "retry_job_now",
    "send_vendor_erasure_jobs",
]

logger = logging.getLogger(__name__)

REVOKE_GRANT_PERMISSION = "thirdparty.revoke_oauthgrant"
APPROVE_DISCLOSURE_PERMISSION = "thirdparty.approve_disclosure"
MARK_DISCLOSED_PERMISSION = "thirdparty.mark_disclosed"


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


def _processor_refusal(processor: Processor) -> str:
    """Why nothing may go to this processor at all ("" when data may): inactive, or not stated in
    the privacy policy in force (PIPA art. 26(2); policy's `processor_unstated`)."""
    if not processor.active:
        return resolve_particles(_("%(processor)s is not an active processor.") % {"processor": processor.name})
    unstated = hooks.processor_unstated(name=processor.name, data_categories=processor.data_categories)
    if unstated is None:
        return ""
    if unstated["missing_categories"] is None:
        reason = _("The privacy policy in force does not name %(processor)s; nothing goes to it before it does.") % {
            "processor": processor.name
        }
    else:
        labels = {c.value: str(c.label) for c in DataCategory}
        categories = ", ".join(labels.get(k, k) for k in unstated["missing_categories"])
        reason = _(
            "The privacy policy in force does not state that %(processor)s receives %(categories)s; "
            "nothing goes to it before it does."
        ) % {"processor": processor.name, "categories": categories}
    reason = resolve_particles(reason)
    if unstated["effective_at"] is not None:
        reason += " " + _("Version %(version)s, announced, states it from %(date)s.") % {
            "version": unstated["version"],
            "date": timezone.localtime(unstated["effective_at"]).date().isoformat(),
        }
    else:
        reason += " " + _("No announced version states it yet.")
    return reason


def _subject_refusal(subject: DataSubject, processor: Processor, purpose: str) -> str:
    """Why this person's data may not go to this processor for this purpose ("" when it may)."""
    if subject.processing_restricted:
        return _("Processing of this person's data is suspended at their request.")
    use = PURPOSE_USES.get(purpose) or processor.restricted_use
    if use and _from_affiliate(subject):
        return _(
            "This person's data came from an affiliated service; policy %(article)s forbids providing it for %(use)s."
        ) % {"article": AFFILIATE_FORBIDDEN_USES[use], "use": RestrictedUse(use).label}
    consent_purpose = processor.share_purpose if purpose in PURPOSE_USES else purpose
    if consent_purpose and not may_process(subject=subject, purpose=consent_purpose):
        return _("The person has not consented to the purpose '%(purpose)s'.") % {"purpose": consent_purpose}
    return ""


def may_share(*, subject: DataSubject, processor: Processor, purpose: str) -> ShareDecision:
    """May this person's data go to this processor for this purpose? Every sync asks first."""
    reason = _processor_refusal(processor) or _subject_refusal(subject, processor, purpose)
    return ShareDecision(False, reason) if reason else ShareDecision(True, _("Allowed."))


@dataclass
class ShareResult:
    allowed: list[DataSubject]
    refused: dict[int, str]
    transfer: DataTransfer


def share_subjects(*, subjects, processor: Processor, purpose: str, reference: str = "") -> ShareResult:
    """Run the gate for a sync's subjects and write the DataTransfer row for the sync; the caller
    sends only `allowed`. The processor's own conditions are asked once for the whole sync."""
    allowed, refused, reasons = [], {}, {}
    refusal = _processor_refusal(processor)
    for subject in subjects:
        reason = refusal or _subject_refusal(subject, processor, purpose)
        if reason:
            refused[subject.pk] = reason
            reasons[reason] = reasons.get(reason, 0) + 1
        else:
            allowed.append(subject)
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


def revoke_youtube_grant(*, grant: OAuthGrant, by: str, actor, in_worker: bool = False) -> OAuthGrant:
    """Disconnect a grant: delete every statistic fetched through it at once, mark it revoked, and
    revoke the token at Google (refresh token first: it takes the access token with it).

    `in_worker`: the call to Google is left to the worker (`retry_youtube_revocations`, enqueued
    on commit) instead of being made in this process after commit: a public page (the person's
    own "disconnect") answers at once whatever Google's latency.

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
        if revocable and in_worker:
            from .tasks import retry_youtube_revocations as revoke_task

            revoke_task.delay_on_commit()
        elif revocable:
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
