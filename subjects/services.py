"""Writes to the personal-data records of policy section 1."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import CollectionSource, DataSubject, Inquiry, VisitLog, normalise_email


class SubjectError(Exception):
    """A domain rule refused the write; the message is safe to show to the caller."""


class RecordNotFound(SubjectError):
    pass


def find_or_create_subject(*, email: str | None, name: str = "", phone: str = "", source: str) -> DataSubject:
    """The subject with this email, created if new. Contact details fill blanks, never overwrite."""
    email = normalise_email(email)
    if email is None:
        return DataSubject.objects.create(name=name, phone=phone, source=source)
    try:
        with transaction.atomic():
            subject, created = DataSubject.objects.get_or_create(
                email=email, defaults={"name": name, "phone": phone, "source": source}
            )
    except IntegrityError:
        # Another request created the same subject between our SELECT and INSERT.
        subject, created = DataSubject.objects.get(email=email), False
    if not created and ((name and not subject.name) or (phone and not subject.phone)):
        subject.name = subject.name or name
        subject.phone = subject.phone or phone
        subject.save(update_fields=["name", "phone", "updated_at"])
    return subject


def record_visit(
    *,
    visited_at: datetime | None = None,
    subject_email: str | None = None,
    ip: str | None = None,
    user_agent: str = "",
    os: str = "",
    screen_size: str = "",
    device_id: str = "",
    phone_model: str = "",
    cookie_id: str = "",
    path: str = "",
    abnormal: bool = False,
    abnormal_reason: str = "",
) -> VisitLog:
    subject = None
    if subject_email:
        subject = find_or_create_subject(email=subject_email, source=CollectionSource.AUTOMATIC)
    return VisitLog.objects.create(
        subject=subject,
        visited_at=visited_at or timezone.now(),
        ip=ip,
        user_agent=user_agent,
        os=os,
        screen_size=screen_size,
        device_id=device_id,
        phone_model=phone_model,
        cookie_id=cookie_id,
        path=path,
        abnormal=abnormal,
        abnormal_reason=abnormal_reason if abnormal else "",
    )


@transaction.atomic
def record_inquiry(
    *,
    email: str,
    channel: str,
    kind: str,
    body: str,
    name: str = "",
    phone: str = "",
    opened_at: datetime | None = None,
    closed_at: datetime | None = None,
    external_ref: str = "",
) -> tuple[Inquiry, bool]:
    """Record a customer-service contact. Returns (inquiry, created); a repeated external_ref
    returns the inquiry recorded the first time, so a retried call is harmless."""
    if external_ref:
        existing = Inquiry.objects.filter(external_ref=external_ref).first()
        if existing is not None:
            return existing, False
    opened_at = opened_at or timezone.now()
    if closed_at is not None and closed_at < opened_at:
        raise SubjectError("closed_at cannot be earlier than opened_at.")
    subject = find_or_create_subject(email=email, name=name, phone=phone, source=CollectionSource.CUSTOMER_SERVICE)
    inquiry = Inquiry.objects.create(
        subject=subject,
        channel=channel,
        kind=kind,
        body=body,
        opened_at=opened_at,
        closed_at=closed_at,
        external_ref=external_ref,
    )
    return inquiry, True


def close_inquiry(*, inquiry_id: int, closed_at: datetime | None = None) -> Inquiry:
    """Close an inquiry; the retention period of a complaint or dispute runs from this moment."""
    inquiry = Inquiry.objects.filter(pk=inquiry_id).first()
    if inquiry is None:
        raise RecordNotFound("No inquiry with this id.")
    if inquiry.closed_at is not None:
        raise SubjectError("This inquiry is already closed.")
    closed_at = closed_at or timezone.now()
    if closed_at < inquiry.opened_at:
        raise SubjectError("closed_at cannot be earlier than opened_at.")
    inquiry.closed_at = closed_at
    inquiry.save(update_fields=["closed_at"])
    return inquiry
