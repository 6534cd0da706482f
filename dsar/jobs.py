"""The periodic jobs of the DSAR workflow, each a service, a task (beat) and a command:

send_dsar_reminders          day-7 reminders to the assignee, a daily overdue digest to the officers
resend_dsar_verifications    verification emails that never went out (the broker was down)
expire_dsar_requests         unverified requests, expired packages and orphan files destroyed
close_dsar_requests          requests waiting for processors closed once none is open
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from privacyops.lib.urls import absolute_url

from .fulfilment import _open_vendor_jobs, close_request
from .models import CLOSED_STATUSES, DataSubjectRequest, EventKind, RequestChannel, RequestStatus, private_storage
from .services import RequestError, _locked, issue_verification, record_event

logger = logging.getLogger(__name__)


def officers():
    """Users with the privacy-officer role: may change requests and oversee them (superusers too)."""
    User = get_user_model()
    # Permissions live in the model backend (axes sits in front of it and holds none).
    backend = "django.contrib.auth.backends.ModelBackend"
    changers = User.objects.with_perm("dsar.change_datasubjectrequest", backend=backend).values("pk")
    return (
        User.objects.with_perm("dsar.oversee_requests", backend=backend)
        .filter(pk__in=changers, is_active=True)
        .exclude(email="")
        .order_by("pk")
    )


def _actionable():
    """Requests staff must answer: verified and open, plus those waiting for staff to check
    an identity (an agent's power of attorney, a request entered by staff)."""
    return DataSubjectRequest.objects.filter(
        Q(status__in=[RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS, RequestStatus.AWAITING_VENDORS])
        | Q(status=RequestStatus.SUBMITTED, email_confirmed_at__isnull=False)
        | (Q(status=RequestStatus.SUBMITTED) & ~Q(channel=RequestChannel.WEB_FORM))
    )


def _staff_email(kind: str, recipients: list[str], context: dict, *, on_failure) -> None:
    """Rendered now, sent after commit (no mail inside a transaction); when the server refuses,
    `on_failure` un-marks the reminder so the next run sends it, and the error is raised."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"dsar/email/{kind}_subject.txt", context).split())
        body = render_to_string(f"dsar/email/{kind}.txt", context)
    message = EmailMessage(subject=subject, body=body, to=recipients)

    def send() -> None:
        try:
            message.send()
        except OSError:
            logger.warning("dsar staff email not delivered kind=%s", kind)
            on_failure()
            raise

    transaction.on_commit(send)


def admin_url(request: DataSubjectRequest) -> str:
    return absolute_url(reverse("admin:dsar_datasubjectrequest_change", args=[request.pk]))


@dataclass
class ReminderResult:
    assignee_reminders: int = 0
    overdue_requests: int = 0
    officer_emails: int = 0


def send_dsar_reminders(*, now: datetime | None = None, dry_run: bool = False) -> ReminderResult:
    """Day 7: remind the assignee (the officers when nobody is assigned) once per due date.
    Overdue: one digest a day to every privacy officer listing each overdue request."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = ReminderResult()
    window_start = today + timedelta(days=settings.DSAR_REMINDER_DAYS_BEFORE_DUE)
    officer_emails = list(officers().values_list("email", flat=True))

    due_soon = (
        _actionable()
        .filter(due_on__lte=window_start, due_on__gte=today)
        .select_related("assignee")
        .order_by("due_on", "pk")
    )
    for request in due_soon:
        if request.assignee_reminded_for == request.due_on:
            continue
        recipients = [request.assignee.email] if request.assignee and request.assignee.email else officer_emails
        if not recipients:
            continue
        result.assignee_reminders += 1
        if dry_run:
            continue
        with transaction.atomic():
            locked = _locked(request)
            if locked.assignee_reminded_for == locked.due_on:
                continue
            _staff_email(
                "reminder",
                recipients,
                {"request": locked, "days_left": locked.days_left(today), "admin_url": admin_url(locked)},
                on_failure=lambda locked=locked: DataSubjectRequest.objects.filter(
                    pk=locked.pk, assignee_reminded_for=locked.due_on
                ).update(assignee_reminded_for=None),
            )
            locked.assignee_reminded_for = locked.due_on
            locked.save(update_fields=["assignee_reminded_for"])
            record_event(locked, EventKind.REMINDER_SENT, data={"to": "assignee" if request.assignee else "officers"})

    overdue = list(
        _actionable()
        .filter(due_on__lt=today)
        .exclude(overdue_notified_on=today)
        .select_related("assignee")
        .order_by("due_on")
    )
    result.overdue_requests = len(overdue)
    if overdue and officer_emails and not dry_run:
        with transaction.atomic():
            items = [{"request": r, "days_over": -r.days_left(today), "admin_url": admin_url(r)} for r in overdue]
            pks = [r.pk for r in overdue]
            for email in officer_emails:
                _staff_email(
                    "overdue",
                    [email],
                    {"items": items, "today": today},
                    on_failure=lambda: DataSubjectRequest.objects.filter(pk__in=pks, overdue_notified_on=today).update(
                        overdue_notified_on=None
                    ),
                )
                result.officer_emails += 1
            DataSubjectRequest.objects.filter(pk__in=pks).update(overdue_notified_on=today)
            for r in overdue:
                record_event(r, EventKind.REMINDER_SENT, data={"to": "officers", "overdue_days": -r.days_left(today)})
    logger.info(
        "send_dsar_reminders assignee=%s overdue=%s officer_emails=%s dry_run=%s",
        result.assignee_reminders,
        result.overdue_requests,
        result.officer_emails,
        dry_run,
    )
    return result


# How long after submission the sweep assumes the on-commit task was lost (broker down).
RESEND_GRACE = timedelta(minutes=2)


def resend_dsar_verifications(*, now: datetime | None = None) -> int:
    """Send the verification email of web requests whose email never went out (the broker was
    down when they were submitted). Returns how many were sent."""
    now = now or timezone.now()
    pending = DataSubjectRequest.objects.filter(
        status=RequestStatus.SUBMITTED,
        channel=RequestChannel.WEB_FORM,
        verification_sent_at__isnull=True,
        email_confirmed_at__isnull=True,
        received_at__lt=now - RESEND_GRACE,
        received_at__gte=now - timedelta(hours=settings.DSAR_UNVERIFIED_TTL_HOURS),
    ).values_list("pk", flat=True)
    sent = sum(1 for pk in list(pending) if issue_verification(request_id=pk))
    logger.info("resend_dsar_verifications sent=%s", sent)
    return sent


@dataclass
class ExpiryResult:
    unverified_destroyed: int = 0
    packages_deleted: int = 0
    orphan_files_deleted: int = 0


def expire_dsar_requests(*, now: datetime | None = None, dry_run: bool = False) -> ExpiryResult:
    """Destroy web requests never verified within DSAR_UNVERIFIED_TTL_HOURS (with their timeline
    and upload), delete access packages whose download link has expired, and delete files in
    dsar's private storage that no request refers to any more (after the retention engine
    destroyed their request)."""
    now = now or timezone.now()
    result = ExpiryResult()
    storage = private_storage()
    cutoff = now - timedelta(hours=settings.DSAR_UNVERIFIED_TTL_HOURS)
    stale = DataSubjectRequest.objects.filter(
        status=RequestStatus.SUBMITTED,
        channel=RequestChannel.WEB_FORM,
        email_confirmed_at__isnull=True,
        verified_at__isnull=True,
        received_at__lt=cutoff,
    )
    result.unverified_destroyed = stale.count()
    if not dry_run and result.unverified_destroyed:
        for pk in list(stale.values_list("pk", flat=True)):
            with transaction.atomic():
                request = stale.select_for_update().filter(pk=pk).first()
                if request is None:
                    continue
                files = [
                    f.name for f in (request.power_of_attorney, request.original_document, request.package_file) if f
                ]
                request.delete()
                transaction.on_commit(lambda files=files: [storage.delete(name) for name in files])

    expired_packages = DataSubjectRequest.objects.exclude(package_file="").filter(
        status__in=CLOSED_STATUSES, download_expires_at__lt=now
    ) | DataSubjectRequest.objects.exclude(package_file="").filter(
        status__in=[RequestStatus.REJECTED, RequestStatus.WITHDRAWN]
    )
    result.packages_deleted = expired_packages.count()
    if not dry_run:
        for request in expired_packages:
            name = request.package_file.name
            DataSubjectRequest.objects.filter(pk=request.pk).update(package_file="", package_nonce_hash="")
            record_event(request, EventKind.NOTE, note="Access package file deleted after its link expired.")
            storage.delete(name)

    referenced = set()
    for row in DataSubjectRequest.objects.values_list("power_of_attorney", "original_document", "package_file"):
        referenced.update(name for name in row if name)
    for name in _walk(storage, ""):
        if name in referenced:
            continue
        # A file written a moment ago may belong to a request not yet committed.
        try:
            modified = storage.get_modified_time(name)
        except OSError:
            continue
        if modified > now - timedelta(hours=1):
            continue
        result.orphan_files_deleted += 1
        if not dry_run:
            storage.delete(name)
    logger.info(
        "expire_dsar_requests unverified=%s packages=%s orphans=%s dry_run=%s",
        result.unverified_destroyed,
        result.packages_deleted,
        result.orphan_files_deleted,
        dry_run,
    )
    return result


def _walk(storage, folder: str):
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}" if folder else directory)


def close_dsar_requests(*, now: datetime | None = None) -> int:
    """Close each request waiting for processors once none of its jobs is open; returns how many."""
    closed = 0
    for pk in list(
        DataSubjectRequest.objects.filter(status=RequestStatus.AWAITING_VENDORS).values_list("pk", flat=True)
    ):
        request = DataSubjectRequest.objects.get(pk=pk)
        if _open_vendor_jobs(request.reference).exists():
            continue
        try:
            close_request(request=request)
            closed += 1
        except RequestError:
            continue
    logger.info("close_dsar_requests closed=%s", closed)
    return closed
