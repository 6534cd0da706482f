"""Every write of the data-subject-request workflow.

    submit_request           the public form (no subject lookup before verification)
    record_staff_request     phone, fax, letter, email or in-person requests entered by staff
    issue_verification       email the single-use link (task; re-sent by resend_dsar_verifications)
    confirm_email            the requester follows the link
    verify_identity          staff accept an identity check or an agent's power of attorney
    link_subject             staff point a verified request at the right person
    assign_request, start_request
    mark_gdpr_overlay, extend_deadline (GDPR-marked requests only), postpone_access (art. 35(4))
    build_access_package, release_access_package, open_package_for_download, review_package
    record_correction, complete_request, reject_request, withdraw_request

Erasure, suspension, consent withdrawal and closing after the processors are in dsar.fulfilment
(the only module here that imports consent, thirdparty and retention); the periodic jobs are in
dsar.jobs.

Each owns its transaction, writes a RequestEvent for the timeline (DSAR-13) and raises
RequestError with a message safe to show to staff.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.approvals import ApprovalError, can_approve, decide_approval, request_approval
from audit.models import Approval, ApprovalKind
from audit.services import log_access
from policy.contacts import complaint_institutions, privacy_officer
from privacyops.lib.actors import require_permission
from privacyops.lib.urls import absolute_url
from subjects.models import DataSubject, normalise_email

from . import tokens
from .models import (
    ACCESS_GROUNDS,
    CLOSED_STATUSES,
    GDPR_MAX_EXTENSION_MONTHS,
    DataSubjectRequest,
    EventKind,
    RequestChannel,
    RequestEvent,
    RequestStatus,
    RequestType,
    StatutoryGround,
    VerificationMethod,
    due_date_for,
    enabled_request_types,
    gdpr_due_date_for,
    grounds_for,
    private_storage,
)

logger = logging.getLogger(__name__)


class RequestError(Exception):
    """A workflow rule refused the action; the message is safe to show."""


class LinkAlreadyUsed(RequestError):
    pass


# Consent channel names of the consent ledger for withdrawals made through a request.
CONSENT_CHANNEL_WEB = "web_form"
CONSENT_CHANNEL_STAFF = "customer_service"

MIN_REASON_CHARS = 10


# --- helpers --------------------------------------------------------------------------------


def record_event(
    request: DataSubjectRequest, kind: str, *, actor=None, note: str = "", data: dict | None = None
) -> RequestEvent:
    return RequestEvent.objects.create(request=request, kind=kind, actor=actor, note=note, data=data or {})


def _set_status(request: DataSubjectRequest, status: str, *, actor=None, note: str = "") -> None:
    if request.status == status:
        return
    previous = request.status
    request.status = status
    if status in CLOSED_STATUSES:
        request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    record_event(request, EventKind.STATUS_CHANGED, actor=actor, note=note, data={"from": previous, "to": status})


def _locked(request: DataSubjectRequest | int) -> DataSubjectRequest:
    pk = request if isinstance(request, int) else request.pk
    return DataSubjectRequest.objects.select_for_update().get(pk=pk)


def _require_open(request: DataSubjectRequest) -> None:
    if not request.is_open:
        raise RequestError(_("This request is already closed."))


def _require_verified(request: DataSubjectRequest) -> None:
    # DSAR-02: nothing is acted on before the requester's identity (or authority) was verified.
    if not request.is_verified:
        raise RequestError(_("The requester's identity has not been verified yet."))


def _require_type(request: DataSubjectRequest, *types: str) -> None:
    if request.request_type not in types:
        raise RequestError(
            _("This action does not apply to a request of type “%(type)s”.")
            % {"type": request.get_request_type_display()}
        )


def _require_subject(request: DataSubjectRequest) -> DataSubject:
    if request.subject_id is None:
        raise RequestError(
            _("No data subject is linked to this request. Link the person first, or complete it as “no data held”.")
        )
    return request.subject


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise RequestError(
            _("Give a reason of at least %(n)d characters; it is sent to the requester.") % {"n": MIN_REASON_CHARS}
        )
    return reason


def status_path(request: DataSubjectRequest) -> str:
    return reverse("dsar:status", args=[tokens.sign_status(request.reference)])


def status_url(request: DataSubjectRequest) -> str:
    return absolute_url(status_path(request))


def log_request_access(
    request: DataSubjectRequest, *, user, ip: str | None, action: str, path: str = "", detail: str = ""
) -> None:
    """Write the access log for handling a request's personal data. The reason "DSAR <reference>"
    is what the monthly review matches downloads against (download_reason_names_a_request)."""
    log_access(
        user=user,
        ip=ip,
        action=action,
        subject_ids=[request.subject_id] if request.subject_id else [],
        object_repr=f"{request.reference} {detail}".strip(),
        reason=f"DSAR {request.reference}",
        path=path,
    )


def download_reason_names_a_request(reason: str) -> bool:
    """True for a reason written by log_request_access for a request that exists."""
    parts = (reason or "").split()
    reference = parts[1] if len(parts) >= 2 and parts[0] == "DSAR" else None
    return bool(reference) and DataSubjectRequest.objects.filter(reference=reference).exists()


def consent_channel(request: DataSubjectRequest) -> str:
    return CONSENT_CHANNEL_WEB if request.channel == RequestChannel.WEB_FORM else CONSENT_CHANNEL_STAFF


# --- notices --------------------------------------------------------------------------------


def send_notice(
    request: DataSubjectRequest,
    kind: str,
    *,
    actor=None,
    context: dict | None = None,
    secrets_in_body=(),
    on_failure: Callable[[], None] | None = None,
    recipient: str | None = None,
) -> bool:
    """Email a notice to the requester in their language and keep a copy in the timeline.

    Links that work as credentials are blanked in the stored copy: staff reading the timeline
    must not be able to download as the subject. Returns False when there is no address (a
    request by phone or letter): the timeline then says staff must answer by the same channel.

    The email leaves after the caller's transaction commits: a rollback sends nothing, and a slow
    mail server holds no row lock. When the server refuses it, `on_failure` runs and the error is
    raised (so a task retries); without `on_failure` the timeline gets a note with the text to send.
    """
    # `recipient`: an access package's link goes to the person's registered address, not the request's.
    recipient = request.contact_email if recipient is None else recipient
    language = request.language or settings.LANGUAGE_CODE
    with translation.override(language):
        ctx = {
            "request": request,
            "institutions": complaint_institutions(language),
            "officer": privacy_officer(language),
            "status_url": status_url(request),
            "due_on": request.due_on,
            **(context or {}),
        }
        subject = " ".join(render_to_string(f"dsar/email/{kind}_subject.txt", ctx).split())
        body = render_to_string(f"dsar/email/{kind}.txt", ctx)
    stored = body
    for secret in secrets_in_body:
        stored = stored.replace(secret, "[link withheld]")
    if not recipient:
        record_event(
            request,
            EventKind.NOTE,
            actor=actor,
            note=_("No email address: answer by the channel the request came through. Text to send:\n\n")
            + f"{subject}\n\n{stored}",
            data={"notice": kind, "delivered": False},
        )
        return False
    message = EmailMessage(subject=subject, body=body, to=[recipient])
    record_event(request, EventKind.NOTICE_SENT, actor=actor, note=f"{subject}\n\n{stored}", data={"notice": kind})
    transaction.on_commit(
        lambda: _deliver(
            message, request_id=request.pk, kind=kind, text=f"{subject}\n\n{stored}", on_failure=on_failure
        )
    )
    return True


def _deliver(message: EmailMessage, *, request_id: int, kind: str, text: str, on_failure) -> None:
    try:
        message.send()
    except OSError:  # smtplib's errors and a refused connection
        logger.warning("dsar notice not delivered request=%s notice=%s", request_id, kind)
        if on_failure is not None:
            on_failure()
            raise
        RequestEvent.objects.create(
            request_id=request_id,
            kind=EventKind.NOTE,
            note=_("The email could not be sent: answer by another channel. Text to send:\n\n") + text,
            data={"notice": kind, "delivered": False},
        )


# --- intake ---------------------------------------------------------------------------------


def _validate_type(request_type: str) -> None:
    if request_type not in {value for value, _label in enabled_request_types()}:
        raise RequestError(_("This kind of request is not offered."))


def _validate_purposes(request_type: str, purposes) -> list[str]:
    """DSAR-06/07: the purposes a suspension or withdrawal is limited to, checked against the
    purposes on record (a withdrawal: only those relying on consent)."""
    purposes = sorted(set(purposes or []))
    if not purposes:
        return []
    if request_type not in (RequestType.SUSPENSION, RequestType.WITHDRAWAL):
        raise RequestError(_("Purposes can be chosen only for a suspension or a withdrawal of consent."))
    from consent.models import Purpose  # here, as in forms.py: intake otherwise never needs consent

    known = dict(Purpose.objects.filter(key__in=purposes).values_list("key", "consent_required"))
    if set(purposes) - set(known):
        raise RequestError(_("Choose purposes listed in the privacy policy."))
    if request_type == RequestType.WITHDRAWAL and not all(known.values()):
        raise RequestError(
            _("Only purposes that rely on your consent can be withdrawn; ask for a suspension for the others.")
        )
    return purposes


@transaction.atomic
def submit_request(
    *,
    request_type: str,
    name: str,
    email: str,
    phone: str = "",
    details: str = "",
    language: str = "ko",
    is_agent: bool = False,
    agent_name: str = "",
    agent_email: str = "",
    agent_phone: str = "",
    agent_relationship: str = "",
    power_of_attorney: File | None = None,
    purposes: list[str] | tuple[str, ...] = (),
) -> DataSubjectRequest:
    """A request from the public form. Deliberately no DataSubject lookup here: the answer must
    be the same for a known and an unknown email, and nothing is looked up before verification."""
    _validate_type(request_type)
    if is_agent and power_of_attorney is None:
        raise RequestError(_("A request made for someone else needs their written power of attorney."))
    if is_agent and not normalise_email(agent_email):
        raise RequestError(_("Give the agent's email address: we send the verification link there."))
    purposes = _validate_purposes(request_type, purposes)
    request = DataSubjectRequest(
        request_type=request_type,
        channel=RequestChannel.WEB_FORM,
        language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        name=name.strip(),
        email=normalise_email(email) or "",
        phone=phone.strip(),
        details=details.strip(),
        is_agent=is_agent,
        agent_name=agent_name.strip(),
        agent_email=(normalise_email(agent_email) or "") if is_agent else "",
        agent_phone=agent_phone.strip() if is_agent else "",
        agent_relationship=agent_relationship.strip() if is_agent else "",
        requested_purposes=purposes,
    )
    if is_agent:
        request.power_of_attorney = power_of_attorney
    request.save()
    record_event(request, EventKind.RECEIVED, data={"channel": request.channel, "agent": is_agent})
    from .tasks import send_verification_email  # here: dsar.tasks imports this module

    send_verification_email.delay_on_commit(request.pk)
    logger.info("dsar submitted request=%s type=%s", request.pk, request_type)
    return request


@transaction.atomic
def record_staff_request(
    *,
    actor,
    channel: str,
    request_type: str,
    name: str,
    email: str = "",
    phone: str = "",
    details: str = "",
    language: str = "ko",
    received_at: datetime | None = None,
    original_document: File | None = None,
    is_agent: bool = False,
    agent_name: str = "",
    agent_email: str = "",
    agent_phone: str = "",
    agent_relationship: str = "",
    power_of_attorney: File | None = None,
    identity_checked: bool = False,
    identity_note: str = "",
    purposes: list[str] | tuple[str, ...] = (),
) -> DataSubjectRequest:
    """A request received by phone, fax, letter, email or in person (policy 1.2.1, DSAR-01).
    The clock runs from when the company received it, which staff may set in the past."""
    if channel == RequestChannel.WEB_FORM or channel not in RequestChannel.values:
        raise RequestError(_("Choose how the request was received (phone, fax, letter, email, in person)."))
    _validate_type(request_type)
    received_at = received_at or timezone.now()
    if received_at > timezone.now() + timedelta(minutes=5):
        raise RequestError(_("The date of receipt cannot be in the future."))
    if is_agent and not agent_name.strip():
        raise RequestError(_("Give the agent's name."))
    purposes = _validate_purposes(request_type, purposes)
    request = DataSubjectRequest(
        request_type=request_type,
        channel=channel,
        language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        name=name.strip(),
        email=normalise_email(email) or "",
        phone=phone.strip(),
        details=details.strip(),
        received_at=received_at,
        is_agent=is_agent,
        agent_name=agent_name.strip(),
        agent_email=(normalise_email(agent_email) or "") if is_agent else "",
        agent_phone=agent_phone.strip(),
        agent_relationship=agent_relationship.strip(),
        requested_purposes=purposes,
    )
    if original_document is not None:
        request.original_document = original_document
    if power_of_attorney is not None:
        request.power_of_attorney = power_of_attorney
    request.save()
    record_event(
        request,
        EventKind.RECEIVED,
        actor=actor,
        data={"channel": channel, "agent": is_agent, "original_document": bool(original_document)},
    )
    if identity_checked:
        method = VerificationMethod.POWER_OF_ATTORNEY if is_agent else VerificationMethod.STAFF_CHECK
        _ask_approval(request, ApprovalKind.IDENTITY, actor=actor, note=identity_note, data={"method": method})
    if request.contact_email:
        send_notice(request, "received", actor=actor)
    return request


# --- verification ---------------------------------------------------------------------------


def issue_verification(*, request_id: int) -> bool:
    """Email the verification link, once. Returns False when there is nothing to send (already
    sent, confirmed, or the request is gone), so a retried task or the sweep is harmless.

    The link's random part is created here, inside the worker, and stored only hashed: the raw
    token never passes through the broker or the database.
    """
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
        if (
            request is None
            or request.status != RequestStatus.SUBMITTED
            or request.channel != RequestChannel.WEB_FORM
            or request.verification_sent_at is not None
            or request.email_confirmed_at is not None
        ):
            return False
        nonce = tokens.new_nonce()
        request.verification_nonce_hash = tokens.hash_nonce(nonce)
        request.verification_sent_at = timezone.now()
        request.save(update_fields=["verification_nonce_hash", "verification_sent_at"])
        link = absolute_url(reverse("dsar:verify", args=[tokens.sign_verification(request.reference, nonce)]))
        # Sent after commit: if the mail server refuses, sent_at is cleared again and the error
        # raised, so the task retries and the sweep tries again after it.
        send_notice(
            request,
            "verify",
            context={"link": link, "ttl_hours": settings.DSAR_VERIFY_TTL_HOURS},
            secrets_in_body=[link],
            on_failure=lambda: DataSubjectRequest.objects.filter(pk=request_id, email_confirmed_at__isnull=True).update(
                verification_sent_at=None
            ),
        )
    logger.info("dsar verification sent request=%s", request_id)
    return True


def _find_subject(request: DataSubjectRequest) -> DataSubject | None:
    email = normalise_email(request.email)
    return DataSubject.objects.filter(email=email).first() if email else None


def _mark_verified(request: DataSubjectRequest, *, method: str, actor=None, note: str = "") -> None:
    request.verified_at = timezone.now()
    request.verification_method = method
    request.verified_by = actor
    if request.subject_id is None:
        # The first moment the request may touch the subject records (module docstring).
        request.subject = _find_subject(request)
    request.status = RequestStatus.VERIFIED
    request.save(update_fields=["verified_at", "verification_method", "verified_by", "subject", "status"])
    record_event(
        request,
        EventKind.VERIFIED,
        actor=actor,
        note=note,
        data={"method": method, "subject_found": request.subject_id is not None},
    )


def confirm_email(*, token: str) -> DataSubjectRequest:
    """The requester followed the emailed link. Raises tokens.LinkExpired, tokens.LinkInvalid or
    LinkAlreadyUsed; each gets its own page. An agent's request then waits for staff to accept
    the power of attorney; the person's own request is verified at once."""
    payload = tokens.read_verification(token, settings.DSAR_VERIFY_TTL_HOURS * 3600)
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().filter(reference=payload.reference).first()
        if request is None:
            raise tokens.LinkInvalid
        if request.email_confirmed_at is not None:
            raise LinkAlreadyUsed(_("This link was already used."))
        if request.status != RequestStatus.SUBMITTED or not tokens.nonce_matches(
            payload.nonce, request.verification_nonce_hash
        ):
            raise tokens.LinkInvalid
        request.email_confirmed_at = timezone.now()
        request.verification_nonce_hash = ""
        request.save(update_fields=["email_confirmed_at", "verification_nonce_hash"])
        record_event(request, EventKind.EMAIL_CONFIRMED)
        if not request.is_agent:
            _mark_verified(request, method=VerificationMethod.EMAIL_LINK)
    return request


@transaction.atomic
def verify_identity(*, request: DataSubjectRequest, actor, note: str = "") -> DataSubjectRequest:
    """Staff record an identity check (staff intake) or accept an agent's power of attorney."""
    request = _locked(request)
    _require_open(request)
    if request.is_verified:
        raise RequestError(_("This request is already verified."))
    if request.is_agent:
        if not request.power_of_attorney:
            raise RequestError(_("An agent's request needs the power of attorney before it can be accepted."))
        if request.channel == RequestChannel.WEB_FORM and request.email_confirmed_at is None:
            raise RequestError(_("The agent has not confirmed their email address yet."))
        method = VerificationMethod.POWER_OF_ATTORNEY
    else:
        if request.channel == RequestChannel.WEB_FORM:
            raise RequestError(_("A web request is verified by the requester through the emailed link."))
        method = VerificationMethod.STAFF_CHECK
    if len((note or "").strip()) < 5:
        raise RequestError(_("Say how the identity or authority was checked."))
    # Four eyes: the check counts once a second person approves it (decide_request_approval).
    _ask_approval(request, ApprovalKind.IDENTITY, actor=actor, note=note.strip(), data={"method": method})
    return request


@transaction.atomic
def link_subject(*, request: DataSubjectRequest, subject: DataSubject | None, actor) -> DataSubjectRequest:
    request = _locked(request)
    _require_verified(request)
    _require_open(request)
    if request.subject_id == (subject.pk if subject else None):
        return request
    if subject is not None and not contact_matches(request, subject):
        # Four eyes: a person whose email or phone is not the requester's is linked only once a
        # second person approves; until then the request stays as it was.
        _ask_approval(request, ApprovalKind.LINK_SUBJECT, actor=actor, data={"subject_id": subject.pk})
        return request
    _link(request, subject, actor=actor)
    return request


def _link(request: DataSubjectRequest, subject: DataSubject | None, *, actor) -> None:
    request.subject = subject
    request.save(update_fields=["subject"])
    record_event(
        request,
        EventKind.NOTE,
        actor=actor,
        note=_("Linked data subject changed."),
        data={"subject_id": subject.pk if subject else None},
    )


def _digits(phone: str) -> str:
    return "".join(ch for ch in (phone or "") if ch.isdigit())


def contact_matches(request: DataSubjectRequest, subject: DataSubject) -> bool:
    """Every contact detail the requester gave (email, phone) is the person's registered one, and
    at least one was given. Anything else needs a second person before the person is linked."""
    given = False
    email = normalise_email(request.email)
    if email:
        given = True
        if email != normalise_email(subject.email):
            return False
    phone = _digits(request.phone)
    if phone:
        given = True
        if phone != _digits(subject.phone):
            return False
    return given


# --- workflow -------------------------------------------------------------------------------


@transaction.atomic
def assign_request(*, request: DataSubjectRequest, assignee, actor) -> DataSubjectRequest:
    request = _locked(request)
    _require_open(request)
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise RequestError(_("Requests can only be assigned to active staff users."))
    if request.assignee_id == (assignee.pk if assignee else None):
        return request
    request.assignee = assignee
    # A new assignee gets their own day-7 reminder.
    request.assignee_reminded_for = None
    request.save(update_fields=["assignee", "assignee_reminded_for"])
    record_event(request, EventKind.ASSIGNED, actor=actor, data={"assignee_id": assignee.pk if assignee else None})
    return request


@transaction.atomic
def start_request(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    return request


def _ground(request: DataSubjectRequest, ground: str, allowed: tuple[str, ...] | None = None) -> str:
    allowed = grounds_for(request.request_type) if allowed is None else allowed
    if ground not in allowed:
        raise RequestError(
            _("Choose the statutory ground that applies to a request of type “%(type)s”.")
            % {"type": request.get_request_type_display()}
        )
    return ground


@transaction.atomic
def mark_gdpr_overlay(*, request: DataSubjectRequest, actor, applies: bool, note: str = "") -> DataSubjectRequest:
    """DSAR-10: the privacy officer marks a request the GDPR governs (or unmarks it). A marked request
    runs on GDPR art. 12(3)'s one month from receipt; every other request on PIPA's 10 days."""
    require_permission(actor, "dsar.oversee_requests", error=RequestError)
    request = _locked(request)
    _require_open(request)
    if request.gdpr_applies == bool(applies):
        return request
    if not applies and request.gdpr_extension_months:
        raise RequestError(_("The GDPR deadline was extended and the person told: the request stays under the GDPR."))
    previous = request.due_on
    request.gdpr_applies = bool(applies)
    request.due_on = gdpr_due_date_for(request.received_at) if applies else due_date_for(request.received_at)
    request.original_due_on = request.due_on
    request.overdue_notified_on = None
    request.assignee_reminded_for = None
    request.save(
        update_fields=["gdpr_applies", "due_on", "original_due_on", "overdue_notified_on", "assignee_reminded_for"]
    )
    record_event(
        request,
        EventKind.GDPR_MARKED,
        actor=actor,
        note=note.strip(),
        data={"applies": bool(applies), "from": previous.isoformat(), "to": request.due_on.isoformat()},
    )
    return request


@transaction.atomic
def extend_deadline(*, request: DataSubjectRequest, actor, months: int, reason: str) -> DataSubjectRequest:
    """GDPR art. 12(3) (DSAR-10), for a request marked as falling under the GDPR only: extend by one
    or two further months, told to the person with the reasons within the first month. PIPA has
    no general extension: a PIPA request is answered in 10 days, or postponed on a ground of
    art. 35(4) (postpone_access), or refused on a statutory ground (reject_request).
    Reminders are keyed by the due date, so they re-arm for the new one."""
    request = _locked(request)
    _require_open(request)
    if not request.gdpr_applies:
        raise RequestError(
            _(
                "PIPA allows no extension: answer within the 10 days, or postpone access or refuse on a statutory "
                "ground."
            )
        )
    reason = _require_reason(reason)
    months = int(months)
    total = request.gdpr_extension_months + months
    if months < 1 or total > GDPR_MAX_EXTENSION_MONTHS:
        raise RequestError(_("The GDPR allows at most %(n)d further months in all.") % {"n": GDPR_MAX_EXTENSION_MONTHS})
    if timezone.localdate() > gdpr_due_date_for(request.received_at):
        raise RequestError(_("The first month has passed: the GDPR requires the extension to be told within it."))
    previous = request.due_on
    request.gdpr_extension_months = total
    request.due_on = gdpr_due_date_for(request.received_at, extension_months=total)
    request.overdue_notified_on = None
    request.save(update_fields=["gdpr_extension_months", "due_on", "overdue_notified_on"])
    record_event(
        request,
        EventKind.EXTENDED,
        actor=actor,
        note=reason,
        data={"from": previous.isoformat(), "to": request.due_on.isoformat(), "months": months, "law": "GDPR 12(3)"},
    )
    send_notice(
        request,
        "extended",
        actor=actor,
        context={"reason": reason, "previous_due_on": previous, "new_due_on": request.due_on},
    )
    return request


@transaction.atomic
def postpone_access(
    *, request: DataSubjectRequest, actor, ground: str, until: date, note: str = ""
) -> DataSubjectRequest:
    """PIPA art. 35(4), Decree art. 42(2) (DSAR-04): postpone access on a statutory ground, with the
    notice (the ground and how to object) inside the 10 days. Access is then given within 10 days of
    the ground ending (Standard Guidelines art. 31): `until` is when staff expect it to end."""
    request = _locked(request)
    _require_open(request)
    _require_type(request, RequestType.ACCESS, RequestType.PORTABILITY)
    ground = _ground(request, ground, ACCESS_GROUNDS)
    today = timezone.localdate()
    if not request.gdpr_applies and today > request.original_due_on:
        raise RequestError(
            _("The 10 days have passed: a postponement had to be told within them. Give access now or refuse.")
        )
    if until <= today:
        raise RequestError(_("Give the date the ground is expected to end; it must be in the future."))
    previous = request.due_on
    request.due_on = until + timedelta(days=settings.DSAR_DUE_DAYS)
    request.refusal_ground = ground
    request.refusal_reason = note.strip()
    request.overdue_notified_on = None
    request.save(update_fields=["due_on", "refusal_ground", "refusal_reason", "overdue_notified_on"])
    record_event(
        request,
        EventKind.POSTPONED,
        actor=actor,
        note=note.strip(),
        data={"ground": ground, "from": previous.isoformat(), "to": request.due_on.isoformat()},
    )
    send_notice(
        request,
        "postponed",
        actor=actor,
        context={"ground": StatutoryGround(ground).label, "note": note.strip(), "new_due_on": request.due_on},
    )
    return request


def _close(
    request: DataSubjectRequest, status: str, *, actor, notice: str, context: dict | None = None, note: str = ""
) -> DataSubjectRequest:
    _set_status(request, status, actor=actor, note=note)
    send_notice(request, notice, actor=actor, context=context)
    record_event(request, EventKind.CLOSED, actor=actor, data={"status": status})
    return request


@transaction.atomic
def reject_request(*, request: DataSubjectRequest, actor, ground: str, note: str = "") -> DataSubjectRequest:
    """Refuse (DSAR-04/05/06/07) on a statutory ground chosen from the Act's list for the request's
    type (models.grounds_for); the note adds to it. The notice carries the ground, how to object
    and where to complain."""
    request = _locked(request)
    _require_open(request)
    ground = _ground(request, ground)
    note = (note or "").strip()
    request.refusal_ground = ground
    request.refusal_reason = note
    request.save(update_fields=["refusal_ground", "refusal_reason"])
    return _close(
        request,
        RequestStatus.REJECTED,
        actor=actor,
        notice="refused",
        context={"ground": StatutoryGround(ground).label, "note": note},
        note=f"{ground} {note}".strip(),
    )


@transaction.atomic
def withdraw_request(*, request: DataSubjectRequest, actor, note: str = "") -> DataSubjectRequest:
    """The requester withdrew the request (told staff by phone, email...)."""
    request = _locked(request)
    _require_open(request)
    return _close(request, RequestStatus.WITHDRAWN, actor=actor, notice="withdrawn", note=note.strip())


@transaction.atomic
def complete_request(
    *, request: DataSubjectRequest, actor, note: str = "", no_data: bool = False
) -> DataSubjectRequest:
    """Close a request whose work is done: a correction, or an access request when the company
    holds nothing about the person."""
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    if no_data:
        if request.subject_id is not None:
            raise RequestError(_("A data subject is linked to this request: build the access package instead."))
        return _close(request, RequestStatus.COMPLETED, actor=actor, notice="no_data", note=note)
    if request.request_type == RequestType.CORRECTION:
        if not request.events.filter(kind=EventKind.CORRECTED).exists():
            raise RequestError(_("Record the correction first."))
        return _close(
            request, RequestStatus.COMPLETED, actor=actor, notice="corrected", context={"note": note}, note=note
        )
    raise RequestError(_("Use the action for this request type to complete it."))


@transaction.atomic
def record_correction(*, request: DataSubjectRequest, actor, note: str) -> DataSubjectRequest:
    """Staff corrected the person's record in the admin; this records what was done (not the values)."""
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.CORRECTION)
    _require_subject(request)
    note = _require_reason(note)
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    record_event(request, EventKind.CORRECTED, actor=actor, note=note)
    return _close(request, RequestStatus.COMPLETED, actor=actor, notice="corrected", context={"note": note})


# --- access package -------------------------------------------------------------------------


def build_access_package(
    *, request: DataSubjectRequest, actor, include_withheld: bool = False, note: str = ""
) -> DataSubjectRequest:
    """Build the ZIP for staff to review (ANCHORS #10: review before release). Rebuilding
    replaces the previous file and withdraws any released link.

    Rows the registry withholds from the person (PIPA art. 35(4): a disclosure they were not told
    of, an unapproved draft) are left out and counted in the timeline; only the privacy officer
    may include them, with a reason, and the inclusion is recorded.

    The rows are read outside any transaction of ours (the company's other databases are network
    calls: a slow system must not keep this request locked), then the file is stored under the
    request's lock, the checks made again: a request closed, or linked to someone else, while the
    package was read gets no package."""
    # Here, not at the top: the package reads consent, thirdparty and retention, which this
    # module (intake, verification, workflow) does not otherwise depend on.
    from datastores.connect import DatastoreError

    from .package import collect, write_zip

    request = DataSubjectRequest.objects.get(pk=request.pk)
    subject = _check_package_build(request, actor, include_withheld, note)
    with translation.override(request.language):
        # Choice labels and names are read in the requester's language.
        try:
            package = collect(subject_id=subject.pk, reference=request.reference, include_withheld=include_withheld)
        except DatastoreError as exc:
            logger.warning("access package request=%s not built: %s", request.pk, type(exc).__name__)
            raise RequestError(
                _("The package was not built: %(error)s Try again when the system is back.") % {"error": exc}
            ) from None
        content = write_zip(
            package,
            language=request.language,
            request_type_label=str(request.get_request_type_display()),
            name=request.name,
        )
    with transaction.atomic():
        request = _locked(request)
        if _check_package_build(request, actor, include_withheld, note).pk != subject.pk:
            raise RequestError(
                _("The request was linked to another person while its package was built: build it again.")
            )
        return _store_package(request, package, content, actor=actor, include_withheld=include_withheld, note=note)


def _check_package_build(request: DataSubjectRequest, actor, include_withheld: bool, note: str) -> DataSubject:
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.ACCESS, RequestType.PORTABILITY)
    subject = _require_subject(request)
    if include_withheld:
        if not can_approve(actor):
            raise RequestError(_("Only the privacy officer may include withheld records in a person's package."))
        _require_reason(note)
    return subject


def _store_package(
    request: DataSubjectRequest, package, content: bytes, *, actor, include_withheld: bool, note: str
) -> DataSubjectRequest:
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    old = request.package_file.name if request.package_file else ""
    request.package_file.save(f"packages/{secrets.token_hex(16)}.zip", ContentFile(content), save=False)
    request.package_built_at = timezone.now()
    request.package_released_at = None
    request.package_nonce_hash = ""
    request.download_expires_at = None
    request.download_count = 0
    request.save(
        update_fields=[
            "package_file",
            "package_built_at",
            "package_released_at",
            "package_nonce_hash",
            "download_expires_at",
            "download_count",
        ]
    )
    if old:
        transaction.on_commit(lambda: private_storage().delete(old))
    record_event(
        request,
        EventKind.PACKAGE_BUILT,
        actor=actor,
        note=note.strip() if include_withheld else "",
        data={
            "counts": package.counts,
            "bytes": len(content),
            "withheld": package.withheld,
            "withheld_included": bool(include_withheld),
        },
    )
    return request


@transaction.atomic
def release_access_package(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """After review, ask for the release: a second person approves it (decide_request_approval),
    and only then is the link emailed, to the person's registered address."""
    request = _locked(request)
    _require_release_ready(request)
    _ask_approval(
        request,
        ApprovalKind.RELEASE_PACKAGE,
        actor=actor,
        data={"built_at": request.package_built_at.isoformat()},
    )
    return request


def _require_release_ready(request: DataSubjectRequest) -> None:
    _require_open(request)
    if not request.package_file:
        raise RequestError(_("Build the access package first."))
    # Review before release: someone opened this very build (logged) before it goes out.
    if not request.events.filter(kind=EventKind.PACKAGE_REVIEWED, at__gte=request.package_built_at).exists():
        raise RequestError(_("Open the package to review it before releasing it."))


def _release(request: DataSubjectRequest, approval: Approval, *, actor, to_unregistered: bool) -> None:
    """Email the link (valid DSAR_DOWNLOAD_TTL_DAYS, for DSAR_DOWNLOADS_MAX downloads) and close.

    The link goes to the linked person's registered email, which is also the verified requester's
    when they are the same. Any other address (an agent, a requester whose address is not the
    person's) only when the approving officer says so; the monthly access review flags it."""
    _require_release_ready(request)
    if approval.data.get("built_at") != request.package_built_at.isoformat():
        raise RequestError(_("The package was rebuilt after the release was asked for: review it and ask again."))
    subject = _require_subject(request)
    registered = normalise_email(subject.email)
    if to_unregistered:
        recipient = request.contact_email
        if not recipient:
            raise RequestError(_("The request has no email address to send the link to."))
        unregistered = normalise_email(recipient) != registered
    else:
        if not registered:
            raise RequestError(
                _(
                    "The person has no registered email address. Only the privacy officer may send the link to "
                    "the requester's address (it is flagged in the monthly access review)."
                )
            )
        recipient, unregistered = registered, False
    approval.data = {**approval.data, "unregistered_recipient": unregistered}
    approval.save(update_fields=["data"])
    nonce = tokens.new_nonce()
    request.package_nonce_hash = tokens.hash_nonce(nonce)
    request.package_released_at = timezone.now()
    request.download_expires_at = request.package_released_at + timedelta(days=settings.DSAR_DOWNLOAD_TTL_DAYS)
    request.download_count = 0
    request.save(update_fields=["package_nonce_hash", "package_released_at", "download_expires_at", "download_count"])
    record_event(
        request,
        EventKind.PACKAGE_RELEASED,
        actor=actor,
        data={
            "expires_at": request.download_expires_at.isoformat(),
            "to": "unregistered address" if unregistered else "registered address",
            "downloads_max": settings.DSAR_DOWNLOADS_MAX,
            # The status page offers the download only when the link went where the status link did.
            "to_requester": normalise_email(recipient) == normalise_email(request.contact_email),
        },
    )
    link = absolute_url(reverse("dsar:download", args=[tokens.sign_download(request.reference, nonce)]))
    _set_status(request, RequestStatus.COMPLETED, actor=actor)
    send_notice(
        request,
        "access_ready",
        actor=actor,
        context={"link": link, "expires_at": request.download_expires_at},
        secrets_in_body=[link],
        recipient=recipient,
    )
    record_event(request, EventKind.CLOSED, actor=actor, data={"status": RequestStatus.COMPLETED})


# --- four eyes ------------------------------------------------------------------------------


def _ask_approval(request: DataSubjectRequest, kind: str, *, actor, note: str = "", data: dict | None = None) -> None:
    try:
        approval = request_approval(
            kind=kind, obj=request, prepared_by=actor, object_repr=request.reference, note=note, data=data
        )
    except ApprovalError as exc:
        raise RequestError(str(exc)) from None
    record_event(
        request,
        EventKind.APPROVAL_REQUESTED,
        actor=actor,
        note=note,
        data={"approval_id": approval.pk, "what": kind, **(data or {})},
    )


def pending_approvals(request: DataSubjectRequest) -> list[Approval]:
    return list(Approval.objects.pending().for_object(request).select_related("prepared_by").order_by("requested_at"))


def decide_request_approval(
    *,
    request: DataSubjectRequest,
    actor,
    approve: bool,
    note: str = "",
    kind: str | None = None,
    to_unregistered: bool = False,
) -> DataSubjectRequest:
    """A second person holding dsar.oversee_requests approves or refuses the pending step; never
    the one who prepared it. Approved, the step is carried out now (by the approver): the identity
    counts as verified, the person is linked, the package is released, the erasure is done.

    An approved erasure is committed as approved first, then carried out (fulfilment.erase_now)
    outside that transaction: it writes to the company's other databases. If a system is down the
    approval stays and the approver carries the erasure out later from the request."""
    with transaction.atomic():
        request, approval = _decide(request, actor, approve, note, kind, to_unregistered)
    if approve and approval.kind == ApprovalKind.ERASURE:
        from .fulfilment import erase_now  # here: fulfilment imports this module

        return erase_now(request=request, actor=actor)
    return request


def _decide(
    request: DataSubjectRequest, actor, approve: bool, note: str, kind: str | None, to_unregistered: bool
) -> tuple[DataSubjectRequest, Approval]:
    request = _locked(request)
    pending = [a for a in pending_approvals(request) if kind is None or a.kind == kind]
    if not pending:
        raise RequestError(_("Nothing of this request is waiting for approval."))
    approval = pending[0]
    if to_unregistered and approval.kind != ApprovalKind.RELEASE_PACKAGE:
        raise RequestError(_("Only an access package's release can go to another address."))
    if approve:
        _require_open(request)
    try:
        approval = decide_approval(approval=approval, user=actor, approve=approve, note=note)
    except ApprovalError as exc:
        raise RequestError(str(exc)) from None
    record_event(
        request,
        EventKind.APPROVED if approve else EventKind.APPROVAL_REFUSED,
        actor=actor,
        note=approval.decision_note,
        data={"approval_id": approval.pk, "what": approval.kind, "prepared_by": approval.prepared_by_id},
    )
    if not approve:
        return request, approval
    match approval.kind:
        case ApprovalKind.IDENTITY:
            if request.is_verified:
                raise RequestError(_("This request is already verified."))
            _mark_verified(request, method=approval.data.get("method"), actor=approval.prepared_by, note=approval.note)
        case ApprovalKind.LINK_SUBJECT:
            _require_verified(request)
            _link(request, DataSubject.objects.get(pk=approval.data["subject_id"]), actor=actor)
        case ApprovalKind.RELEASE_PACKAGE:
            _release(request, approval, actor=actor, to_unregistered=to_unregistered)
    return request, approval


@dataclass(frozen=True)
class Download:
    request: DataSubjectRequest
    filename: str


def open_package_for_download(*, token: str, ip: str | None, path: str = "") -> Download:
    """The subject's download through the signed link; every download is logged (audit + timeline)."""
    payload = tokens.read_download(token, settings.DSAR_DOWNLOAD_TTL_DAYS * 86400)
    return _open_package(
        payload.reference, ip=ip, path=path, allowed=lambda r: tokens.nonce_matches(payload.nonce, r.package_nonce_hash)
    )


def package_offered_on_status_page(request: DataSubjectRequest) -> bool:
    """Is the released package offered on the status page? Only when its link was emailed to the
    address the status link goes to (the requester's): when the officer sent it to the person's
    registered address instead, the status link must not open it."""
    if not request.package_file or not request.package_nonce_hash or request.package_released_at is None:
        return False
    released = request.events.filter(kind=EventKind.PACKAGE_RELEASED).order_by("-pk").values_list("data", flat=True)
    data = released.first() or {}
    return bool(data.get("to_requester"))


def open_package_from_status(*, reference: str, ip: str | None, path: str = "") -> Download:
    """The download button of the status page (same limits, counted and logged like the link)."""
    return _open_package(reference, ip=ip, path=path, allowed=package_offered_on_status_page)


def _open_package(reference: str, *, ip: str | None, path: str, allowed: Callable) -> Download:
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().filter(reference=reference).first()
        if request is None or not request.package_file or not allowed(request):
            raise tokens.LinkInvalid
        if request.download_expires_at is None or request.download_expires_at <= timezone.now():
            raise tokens.LinkExpired
        if request.download_count >= settings.DSAR_DOWNLOADS_MAX:
            raise tokens.DownloadsUsedUp
        if not private_storage().exists(request.package_file.name):
            raise tokens.LinkExpired
        request.download_count += 1
        request.save(update_fields=["download_count"])
        record_event(request, EventKind.PACKAGE_DOWNLOADED, data={"count": request.download_count})
        log_request_access(request, user=None, ip=ip, action="download", path=path)
    return Download(request, f"{request.reference}.zip")


def review_package(*, request: DataSubjectRequest, actor, ip: str | None, path: str = "") -> DataSubjectRequest:
    """Staff open the package before release: logged as a download with the request as reason."""
    if not request.package_file:
        raise RequestError(_("Build the access package first."))
    with transaction.atomic():
        record_event(request, EventKind.PACKAGE_REVIEWED, actor=actor)
        log_request_access(request, user=actor, ip=ip, action="download", path=path)
    return request
