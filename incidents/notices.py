"""Notices to the people a breach affects (PIPA art. 34(1); Enforcement Decree art. 39(1)).

Every notice carries the Decree's items: what leaked; when and how; what the person can do to
limit the harm; what the company does about it and the remedies; where to report harm and ask
(the privacy officer of the policy page), and the legal rights and institutions (damages, PIPA
art. 39; statutory damages, art. 39-2; mediation, art. 40 ff.; the institutions of policy 6.2).
It is written in the person's language where known, else Korean.

The officer previews both languages, then queues the notices (`queue_incident_notices`): one
`IncidentNotice` per affected person, by email, or by SMS where there is no email. The periodic job
`send_incident_notices` sends due notices in batches as the policy notices do (policy/services.py):
one conditional UPDATE claims a batch under a lease, mail goes over one connection per batch, SMS
through the gateway (incidents/sms.py), each outside any transaction; a failure is retried after
INCIDENT_NOTICE_RETRY_BASE_SECONDS * 2**(attempts-1). An incident becomes "notified" when every
notice is sent and the people with no contact details are told by the website posting or their
absence is explained.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from policy.contacts import complaint_institutions, privacy_officer
from policy.content import long_date
from privacyops.lib import outbox
from privacyops.lib.actors import SYSTEM, require_permission, user_or_none
from subjects.registry import DataCategory

from . import sms
from .models import (
    AffectedPerson,
    EventKind,
    Incident,
    IncidentEvent,
    IncidentNotice,
    NoticeChannel,
    NoticeStatus,
)
from .services import IncidentError, mark_notified

logger = logging.getLogger("incidents.notices")

PERMISSION = "incidents.handle_incident"
LANGUAGES = ("ko", "en")
COMPANY = {"ko": "(주)팔레트", "en": "Palette Inc."}


class NoticeError(Exception):
    """A notice step refused; the message is for the officer."""


# --- what a notice says ----------------------------------------------------------------------


def _leaked_items(incident: Incident) -> list[str]:
    """The officer's words for the items (one per line or comma), else the registry categories."""
    words = [w.strip() for line in incident.leaked_items.splitlines() for w in line.split(",") if w.strip()]
    if words:
        return words
    labels = dict(DataCategory.choices)
    return [str(labels.get(key, key)) for key in incident.data_categories]


def notice_context(incident: Incident, language: str) -> dict:
    """Everything a notice, the SMS and the public posting print, in `language` (call inside
    translation.override). No affected person's data: the same for everyone."""
    what_to_do = (
        (incident.what_person_can_do_en if language == "en" else incident.what_person_can_do_ko)
        or incident.what_person_can_do_ko
        or incident.what_person_can_do_en
    )
    measures = "\n".join(filter(None, [incident.containment_measures.strip(), incident.remedial_measures.strip()]))
    if incident.damage_relief.strip():
        measures = "\n".join(filter(None, [measures, incident.damage_relief.strip()]))
    return {
        "company": COMPANY[language],
        "reference": incident.reference,
        "leaked_items": _leaked_items(incident),
        "occurred_on": long_date(incident.occurred_at) if incident.occurred_at else "",
        "aware_on": long_date(incident.aware_at),
        "how": incident.description.strip(),
        "what_you_can_do": what_to_do.strip(),
        "measures": measures,
        "officer": privacy_officer(language),
        "institutions": complaint_institutions(language),
        # Decree art. 39(2): a first notice while the details are still being identified.
        "follow_up": not _leaked_items(incident) or not incident.description.strip(),
    }


@dataclass(frozen=True)
class RenderedNotice:
    language: str
    subject: str
    body: str
    sms: str


def render_incident_notice(*, incident: Incident, language: str) -> RenderedNotice:
    language = "en" if language == "en" else "ko"
    with translation.override(language):
        context = notice_context(incident, language)
        return RenderedNotice(
            language=language,
            subject=render_to_string("incidents/notice/email_subject.txt", context).strip(),
            body=render_to_string("incidents/notice/email_body.txt", context).strip() + "\n",
            sms=render_to_string("incidents/notice/sms.txt", context).strip(),
        )


def preview_incident_notices(*, incident: Incident) -> list[RenderedNotice]:
    """What people will receive, Korean then English, before anything is sent."""
    return [render_incident_notice(incident=incident, language=language) for language in LANGUAGES]


def missing_notice_items(incident: Incident) -> list[str]:
    """Decree art. 39(1) items the incident does not yet say; sending is refused while any is missing.
    (When and how may be "still being identified": art. 39(2) allows a first notice.)"""
    missing = []
    if not (incident.what_person_can_do_ko.strip() or incident.what_person_can_do_en.strip()):
        missing.append(gettext("what the person can do to limit harm"))
    if not (incident.containment_measures.strip() or incident.remedial_measures.strip()):
        missing.append(gettext("what the company does about it"))
    if privacy_officer() is None:
        missing.append(gettext("the privacy officer to contact (policy page)"))
    return missing


# --- who gets what -----------------------------------------------------------------------------


def _contact(person: AffectedPerson) -> tuple[str, str]:
    """(email, phone) of a person: their own, else their subject's."""
    subject = person.subject
    email = person.email or (subject.email if subject is not None and subject.email else "")
    phone = person.phone or (subject.phone if subject is not None else "")
    return email, phone


def _channel(person: AffectedPerson) -> str | None:
    email, phone = _contact(person)
    if email:
        return NoticeChannel.EMAIL
    if phone:
        return NoticeChannel.SMS
    return None


def _language(person: AffectedPerson) -> str:
    return "en" if (getattr(person, "language", "") or "").startswith("en") else "ko"


@dataclass
class NoticePlan:
    email: int = 0
    sms: int = 0
    no_contact: int = 0
    already_queued: int = 0

    @property
    def total(self) -> int:
        return self.email + self.sms


def plan_incident_notices(*, incident: Incident) -> NoticePlan:
    """How many people a "send notices" would reach, by which channel, and how many it cannot."""
    plan = NoticePlan()
    people = incident.affected_people.select_related("subject").filter(notice__isnull=True)
    plan.already_queued = incident.notices.count()
    for person in people.iterator(chunk_size=2000):
        channel = _channel(person)
        if channel == NoticeChannel.EMAIL:
            plan.email += 1
        elif channel == NoticeChannel.SMS:
            plan.sms += 1
        else:
            plan.no_contact += 1
    return plan


def unreachable_count(incident: Incident) -> int:
    """Listed people with neither email nor phone, plus people the estimate counts but the list
    does not name: both are told by the website posting (Decree art. 39(3))."""
    listed = 0
    unreachable = 0
    for person in incident.affected_people.select_related("subject").iterator(chunk_size=2000):
        listed += 1
        if _channel(person) is None:
            unreachable += 1
    return unreachable + max((incident.affected_count_estimate or 0) - listed, 0)


def queue_incident_notices(*, incident: Incident, actor, batch_size: int | None = None) -> NoticePlan:
    """One pending notice per affected person not yet queued, in short transactions; posts the
    website notice when the trigger holds (incidents.posting)."""
    from .posting import post_incident_notice, posting_trigger_holds

    require_permission(actor, PERMISSION, error=NoticeError)
    missing = missing_notice_items(incident)
    if missing:
        raise NoticeError(
            gettext("The notice cannot go yet; it does not say: %(items)s.") % {"items": ", ".join(missing)}
        )
    batch_size = batch_size or settings.INCIDENT_NOTICE_BATCH_SIZE
    plan = NoticePlan(already_queued=incident.notices.count())
    now = timezone.now()
    last_id = 0
    while True:
        people = list(
            incident.affected_people.select_related("subject")
            .filter(pk__gt=last_id, notice__isnull=True)
            .order_by("pk")[:batch_size]
        )
        if not people:
            break
        rows = []
        for person in people:
            channel = _channel(person)
            if channel is None:
                plan.no_contact += 1
                continue
            plan.email += channel == NoticeChannel.EMAIL
            plan.sms += channel == NoticeChannel.SMS
            rows.append(
                IncidentNotice(
                    incident=incident,
                    person=person,
                    channel=channel,
                    language=_language(person),
                    queued_at=now,
                    next_attempt_at=now,
                )
            )
        with transaction.atomic():
            IncidentNotice.objects.bulk_create(rows, ignore_conflicts=True)
        last_id = people[-1].pk
    IncidentEvent.objects.create(
        incident=incident,
        kind=EventKind.NOTICES_SENT,
        actor=user_or_none(actor),
        note=gettext("Notices queued: %(email)s by email, %(sms)s by SMS; %(none)s without contact details.")
        % {"email": plan.email, "sms": plan.sms, "none": plan.no_contact},
    )
    if posting_trigger_holds(incident):
        post_incident_notice(incident=incident, actor=actor)
    logger.info("incident %s: %d email and %d SMS notices queued", incident.pk, plan.email, plan.sms)
    return plan


# --- sending -----------------------------------------------------------------------------------


@dataclass
class NoticeRun:
    sent: int = 0
    failed: int = 0
    batches: int = 0
    notified: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def _backoff(attempts: int) -> timedelta:
    return outbox.retry_delay(attempts, base_seconds=settings.INCIDENT_NOTICE_RETRY_BASE_SECONDS)


def _claim_batch(*, batch_size: int, now: datetime) -> list[IncidentNotice]:
    due = IncidentNotice.objects.due(now, settings.INCIDENT_NOTICE_MAX_ATTEMPTS)
    claimed = outbox.claim_batch(
        due, batch_size=batch_size, lease_seconds=settings.INCIDENT_NOTICE_LEASE_SECONDS, now=now
    )
    return list(claimed.select_related("incident", "person__subject"))


def _send_batch(batch: list[IncidentNotice], run: NoticeRun) -> None:
    max_attempts = settings.INCIDENT_NOTICE_MAX_ATTEMPTS
    rendered: dict[tuple[int, str], RenderedNotice] = {}
    connection = None
    connection_error: BaseException | None = None
    if any(n.channel == NoticeChannel.EMAIL for n in batch):
        connection = get_connection()
        try:
            connection.open()
        except Exception as exc:  # noqa: BLE001  (a mail server that is down fails the batch's emails, retried later)
            connection_error = exc
    # Sent rows share the batch's start as their sent time, so they update in one statement.
    batch_time = timezone.now()
    for notice in batch:
        notice.attempts += 1
        notice.claim_token = None
        key = (notice.incident_id, notice.language)
        if key not in rendered:
            rendered[key] = render_incident_notice(incident=notice.incident, language=notice.language)
        text = rendered[key]
        email, phone = _contact(notice.person)
        error = ""
        retryable = True
        if notice.channel == NoticeChannel.EMAIL:
            notice.body_sha256 = hashlib.sha256(text.body.encode()).hexdigest()
            if connection_error is not None:
                error = type(connection_error).__name__
            elif not email:
                error, retryable = "NoEmailAddress", False
            else:
                try:
                    message = EmailMessage(subject=text.subject, body=text.body, to=[email], connection=connection)
                    if connection.send_messages([message]) != 1:
                        error = "NotSent"
                except smtplib.SMTPRecipientsRefused:
                    error, retryable = "SMTPRecipientsRefused", False
                except Exception as exc:  # noqa: BLE001  (recorded by class name, then retried)
                    error = type(exc).__name__
        else:
            notice.body_sha256 = hashlib.sha256(text.sms.encode()).hexdigest()
            if not phone:
                error, retryable = "NoPhoneNumber", False
            else:
                try:
                    sms.send_sms(to=phone, text=text.sms)
                except sms.SmsError as exc:
                    error, retryable = exc.reason, exc.retryable
        if not error:
            notice.status = NoticeStatus.SENT
            notice.sent_at = batch_time
            notice.next_attempt_at = None
            notice.error = ""
            run.sent += 1
        else:
            notice.status = NoticeStatus.FAILED
            notice.error = error[:100]
            notice.next_attempt_at = (
                batch_time + _backoff(notice.attempts) if retryable and notice.attempts < max_attempts else None
            )
            run.failed += 1
            run.errors[notice.error] = run.errors.get(notice.error, 0) + 1
    if connection is not None and connection_error is None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001, S110  (closing a broken connection must not lose the results)
            pass
    # One UPDATE per distinct outcome, not bulk_update (its CASE per row and field costs seconds per
    # batch on PostgreSQL, bench/policy_notices.py); a batch has one or a few outcomes.
    groups: dict[tuple, list[int]] = {}
    for n in batch:
        groups.setdefault((n.status, n.attempts, n.error, n.next_attempt_at, n.sent_at, n.body_sha256), []).append(n.pk)
    for (status, attempts, error, next_attempt_at, sent_at, body_sha256), ids in groups.items():
        IncidentNotice.objects.filter(pk__in=ids).update(
            status=status,
            attempts=attempts,
            error=error,
            next_attempt_at=next_attempt_at,
            sent_at=sent_at,
            body_sha256=body_sha256,
            claim_token=None,
        )


def notice_progress(incident: Incident) -> dict[str, int]:
    return incident.notices.aggregate(
        total=Count("pk"),
        sent=Count("pk", filter=Q(status=NoticeStatus.SENT)),
        pending=Count("pk", filter=Q(status=NoticeStatus.PENDING)),
        failed=Count("pk", filter=Q(status=NoticeStatus.FAILED)),
        email=Count("pk", filter=Q(channel=NoticeChannel.EMAIL)),
        sms=Count("pk", filter=Q(channel=NoticeChannel.SMS)),
    )


def settle_notified_incidents() -> int:
    """Mark "notified" the incidents whose every notice is sent, and whose people without contact
    details are told by a live posting or have a recorded reason. Returns how many changed."""
    from .posting import live_posting

    changed = 0
    for incident in Incident.objects.filter(notified_at__isnull=True, notices__isnull=False).distinct():
        progress = notice_progress(incident)
        if progress["total"] == 0 or progress["sent"] != progress["total"]:
            continue
        if incident.affected_people.filter(notice__isnull=True).exists() or unreachable_count(incident):
            if live_posting(incident) is None and not incident.no_contact_reason.strip():
                continue
        last_sent = incident.notices.order_by("-sent_at").values_list("sent_at", flat=True).first()
        try:
            # The register's one door for "notified": it asks for a delay reason after 72 hours.
            mark_notified(actor=SYSTEM, incident=incident, at=last_sent)
        except IncidentError:
            # Late, or recorded meanwhile: the officer records it with the reason (admin, "Everyone notified").
            logger.info("incident %s: notices all sent, notified left for the officer", incident.pk)
            continue
        changed += 1
    return changed


def send_incident_notices(*, batch_size: int | None = None, max_batches: int | None = None) -> NoticeRun:
    """Send due breach notices (pending, and failed ones whose backoff has passed) in batches, then
    mark the incidents whose people are all told as notified."""
    batch_size = batch_size or settings.INCIDENT_NOTICE_BATCH_SIZE
    run = NoticeRun()
    while max_batches is None or run.batches < max_batches:
        batch = _claim_batch(batch_size=batch_size, now=timezone.now())
        if not batch:
            break
        _send_batch(batch, run)
        run.batches += 1
    run.notified = settle_notified_incidents()
    logger.info(
        "incident notices: %d sent, %d failed in %d batches; %d incidents notified",
        run.sent,
        run.failed,
        run.batches,
        run.notified,
    )
    return run


def count_due_incident_notices() -> int:
    """What `send_incident_notices` would send now (for --dry-run)."""
    return IncidentNotice.objects.due(timezone.now(), settings.INCIDENT_NOTICE_MAX_ATTEMPTS).count()


def retry_incident_notices(*, notice_ids: list[int], actor) -> int:
    """Make failed notices due now with a fresh set of attempts (the officer fixed the cause)."""
    require_permission(actor, PERMISSION, error=NoticeError)
    return IncidentNotice.objects.filter(pk__in=notice_ids, status=NoticeStatus.FAILED).update(
        attempts=0, next_attempt_at=timezone.now(), claim_token=None
    )
