"""Every write of the data-subject-request workflow.

    submit_request           the public form (no subject lookup before verification)
    record_staff_request     phone, fax, letter, email or in-person requests entered by staff
    issue_verification       email the single-use link (task; re-sent by resend_dsar_verifications)
    confirm_email            the requester follows the link
    verify_identity          staff accept an identity check or an agent's power of attorney
    link_subject             staff point a verified request at the right person
    assign_request, start_request, extend_deadline (extension or postponement with a reason)
    build_access_package, release_access_package, open_package_for_download, review_package
    carry_out_deletion, suspend_processing, withdraw_consents, record_correction
    complete_request, reject_request, withdraw_request, close_request
    send_dsar_reminders, resend_dsar_verifications, expire_dsar_requests, close_dsar_requests (periodic)

Each owns its transaction, writes a RequestEvent for the timeline (DSAR-13) and raises
RequestError with a message safe to show to staff.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile, File
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from subjects.models import DataSubject, normalise_email

from . import tokens
from .contacts import complaint_institutions, privacy_officer
from .models import (
    CLOSED_STATUSES,
    DataSubjectRequest,
    EventKind,
    RequestChannel,
    RequestEvent,
    RequestStatus,
    RequestType,
    VerificationMethod,
    enabled_request_types,
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

MAX_EXTENSION_DAYS = 60
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


def absolute_url(path: str) -> str:
    """An address for an email: SITE_URL and the path. Pages link by path, so a link on a page
    works on whatever host and port served it."""
    return f"{settings.SITE_URL}{path}"


def status_path(request: DataSubjectRequest) -> str:
    return reverse("dsar:status", args=[tokens.sign_status(request.reference)])


def status_url(request: DataSubjectRequest) -> str:
    return absolute_url(status_path(request))


def log_request_access(
    request: DataSubjectRequest, *, user, ip: str | None, action: str, path: str = "", detail: str = ""
) -> None:
    """Write the access log for handling a request's personal data. The reason "DSAR <reference>"
    is what the monthly review matches downloads against (download_reason_names_a_request)."""
    from audit.services import log_access

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
    request: DataSubjectRequest, kind: str, *, actor=None, context: dict | None = None, secrets_in_body=()
) -> bool:
    """Email a notice to the requester in their language and keep a copy in the timeline.

    Links that work as credentials are blanked in the stored copy: staff reading the timeline
    must not be able to download as the subject. Returns False when there is no address (a
    request by phone or letter): the timeline then says staff must answer by the same channel.
    """
    recipient = request.contact_email
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
    EmailMessage(subject=subject, body=body, to=[recipient]).send()
    record_event(request, EventKind.NOTICE_SENT, actor=actor, note=f"{subject}\n\n{stored}", data={"notice": kind})
    return True


# --- intake ---------------------------------------------------------------------------------


def _validate_type(request_type: str) -> None:
    if request_type not in {value for value, _label in enabled_request_types()}:
        raise RequestError(_("This kind of request is not offered."))


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
) -> DataSubjectRequest:
    """A request from the public form. Deliberately no DataSubject lookup here: the answer must
    be the same for a known and an unknown email, and nothing is looked up before verification."""
    _validate_type(request_type)
    if is_agent and power_of_attorney is None:
        raise RequestError(_("A request made for someone else needs their written power of attorney."))
    if is_agent and not normalise_email(agent_email):
        raise RequestError(_("Give the agent's email address: we send the verification link there."))
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
    )
    if is_agent:
        request.power_of_attorney = power_of_attorney
    request.save()
    record_event(request, EventKind.RECEIVED, data={"channel": request.channel, "agent": is_agent})
    from .tasks import send_verification_email

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
        _mark_verified(request, method=method, actor=actor, note=identity_note)
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
        # Sent inside the transaction: if the mail server refuses, sent_at rolls back and the
        # sweep tries again.
        send_notice(
            request,
            "verify",
            context={"link": link, "ttl_hours": settings.DSAR_VERIFY_TTL_HOURS},
            secrets_in_body=[link],
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
    _mark_verified(request, method=method, actor=actor, note=note.strip())
    return request


@transaction.atomic
def link_subject(*, request: DataSubjectRequest, subject: DataSubject | None, actor) -> DataSubjectRequest:
    request = _locked(request)
    _require_verified(request)
    _require_open(request)
    if request.subject_id == (subject.pk if subject else None):
        return request
    request.subject = subject
    request.save(update_fields=["subject"])
    record_event(
        request,
        EventKind.NOTE,
        actor=actor,
        note=_("Linked data subject changed."),
        data={"subject_id": subject.pk if subject else None},
    )
    return request


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


@transaction.atomic
def extend_deadline(
    *, request: DataSubjectRequest, actor, days: int, reason: str, postponement: bool = False
) -> DataSubjectRequest:
    """Move the due date with a reason the requester is told (ANCHORS (c)8, DSAR-04 postponement).
    Reminders are keyed by the due date, so they re-arm for the new one."""
    request = _locked(request)
    _require_open(request)
    reason = _require_reason(reason)
    if not 1 <= int(days) <= MAX_EXTENSION_DAYS:
        raise RequestError(_("Extend by 1 to %(n)d days.") % {"n": MAX_EXTENSION_DAYS})
    previous = request.due_on
    request.due_on = previous + timedelta(days=int(days))
    request.overdue_notified_on = None
    request.save(update_fields=["due_on", "overdue_notified_on"])
    record_event(
        request,
        EventKind.POSTPONED if postponement else EventKind.EXTENDED,
        actor=actor,
        note=reason,
        data={"from": previous.isoformat(), "to": request.due_on.isoformat(), "days": int(days)},
    )
    send_notice(
        request,
        "postponed" if postponement else "extended",
        actor=actor,
        context={"reason": reason, "previous_due_on": previous, "new_due_on": request.due_on},
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
def reject_request(*, request: DataSubjectRequest, actor, reason: str) -> DataSubjectRequest:
    """Refuse (DSAR-04/05/06): the notice carries the reason, how to object and where to complain."""
    request = _locked(request)
    _require_open(request)
    reason = _require_reason(reason)
    request.refusal_reason = reason
    request.save(update_fields=["refusal_reason"])
    return _close(
        request, RequestStatus.REJECTED, actor=actor, notice="refused", context={"reason": reason}, note=reason
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


def _open_vendor_jobs(reference: str):
    from thirdparty.services import open_jobs

    return open_jobs(reference)


def _create_vendor_jobs(request: DataSubjectRequest, subject: DataSubject, kind: str) -> int:
    from thirdparty.services import create_erasure_jobs

    jobs = create_erasure_jobs(subject=subject, reference=request.reference, kind=kind)
    return len(jobs)


def _after_vendor_step(request: DataSubjectRequest, *, actor, notice: str, context: dict) -> DataSubjectRequest:
    """Close now when no processor job is open; else wait for them (DSAR-12)."""
    if _open_vendor_jobs(request.reference).exists():
        _set_status(request, RequestStatus.AWAITING_VENDORS, actor=actor)
        return request
    return _close(request, RequestStatus.COMPLETED, actor=actor, notice=notice, context=context)


def _withdraw_all(request: DataSubjectRequest, subject: DataSubject) -> int:
    from consent.services import withdraw_all_consents

    withdrawn = withdraw_all_consents(subject=subject, channel=consent_channel(request))
    return len(withdrawn) if hasattr(withdrawn, "__len__") else int(withdrawn or 0)


@transaction.atomic
def carry_out_deletion(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """Erase the person across the registry (PIPA art. 36, DSAR-05/12).

    Order matters: consents are withdrawn and processor jobs created while the person's
    identifiers still exist; then retention's erase_subject deletes or anonymises every
    registered model, keeps what a statute or a legal hold requires, and writes the destruction
    ledger row under this request's reference. One transaction: all of it or none.
    """
    from retention.services import erase_subject

    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.DELETION)
    subject = _require_subject(request)
    if request.outcome.get("erasure"):
        raise RequestError(_("The erasure was already carried out for this request."))
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    withdrawn = _withdraw_all(request, subject)
    record_event(request, EventKind.CONSENTS_WITHDRAWN, actor=actor, data={"count": withdrawn})
    jobs = _create_vendor_jobs(request, subject, "erase")
    record_event(request, EventKind.VENDOR_JOBS_CREATED, actor=actor, data={"count": jobs, "kind": "erase"})
    result = erase_subject(subject_id=subject.pk, reference=request.reference, triggered_by="dsar", actor=actor)
    erasure = {
        "run_id": result.run_id,
        "erased": result.erased,
        "anonymised": result.anonymised,
        "subject_deleted": result.subject_deleted,
        "subject_restricted": result.subject_restricted,
        "models": [
            {
                "model": m.model,
                "name": m.verbose_name,
                "erased": m.erased,
                "anonymised": m.anonymised,
                "kept": [
                    {
                        "reason": k.reason,
                        "rule": k.rule,
                        "count": k.count,
                        "due_on": k.due_on.isoformat() if k.due_on else None,
                    }
                    for k in m.kept
                ],
            }
            for m in result.models
        ],
    }
    request = DataSubjectRequest.objects.get(pk=request.pk)
    request.outcome = {**request.outcome, "erasure": erasure, "vendor_jobs": jobs, "consents_withdrawn": withdrawn}
    request.save(update_fields=["outcome"])
    record_event(
        request,
        EventKind.ERASED,
        actor=actor,
        data={"run_id": result.run_id, "erased": result.erased, "anonymised": result.anonymised, "kept": result.kept},
    )
    return _after_vendor_step(request, actor=actor, notice="deleted", context=deletion_context(request))


def deletion_context(request: DataSubjectRequest) -> dict:
    """What the deletion notice lists: what went, what was kept, why and until when. Names are
    read in the requester's language at the time of writing, not stored with the outcome."""
    from django.apps import apps

    from .contacts import _language

    erasure = request.outcome.get("erasure") or {}
    language = _language(request.language)
    kept, removed = [], []
    with translation.override(language):
        reasons = {
            "statute": _("a law requires us to keep it for a set period"),
            "legal hold": _("it is needed for a legal claim or an investigation (legal hold)"),
            "referenced by kept records": _("it belongs to records we must keep"),
        }
        for model in erasure.get("models", []):
            if model["model"] in TIMELINE_MODELS:
                continue  # part of the request's own record, listed with it
            try:
                name = capfirst(str(apps.get_model(model["model"])._meta.verbose_name_plural))
            except LookupError:
                name = model["name"]
            if model["erased"] or model["anonymised"]:
                removed.append({"name": name, "count": model["erased"] + model["anonymised"]})
            for group in model["kept"]:
                if model["model"] == "subjects.DataSubject":
                    continue  # the restricted profile is stated separately
                due_on = date.fromisoformat(group["due_on"]) if group["due_on"] else None
                if group["reason"] == "legal hold":
                    until = _("Destroyed when the legal matter ends.")
                elif model["model"] == "dsar.DataSubjectRequest":
                    until = _("Destroyed 3 years after this request is closed.")
                elif due_on:
                    until = _("Destroyed by %(date)s.") % {"date": due_on.isoformat()}
                else:
                    until = _("Destroyed once the period that applies has run out.")
                kept.append(
                    {
                        "name": name,
                        "count": group["count"],
                        "reason": reasons.get(group["reason"], group["reason"]),
                        "rule": group["rule"],
                        "due_on": due_on,
                        "until": until,
                    }
                )
    return {"kept": kept, "removed": removed, "restricted": erasure.get("subject_restricted", False)}


TIMELINE_MODELS = {"dsar.RequestEvent"}


@transaction.atomic
def suspend_processing(*, request: DataSubjectRequest, actor, note: str = "") -> DataSubjectRequest:
    """PIPA art. 37: the person's records stay, but marketing, audience syncs and analytics exports
    skip them (DataSubject.processing_restricted), and processors are told to suppress them."""
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.SUSPENSION)
    subject = _require_subject(request)
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    restrict_subject(subject=subject, request=request, actor=actor, note=note)
    jobs = _create_vendor_jobs(request, subject, "suppress")
    record_event(request, EventKind.VENDOR_JOBS_CREATED, actor=actor, data={"count": jobs, "kind": "suppress"})
    request.outcome = {**request.outcome, "restricted": True, "vendor_jobs": jobs}
    request.save(update_fields=["outcome"])
    return _after_vendor_step(request, actor=actor, notice="suspended", context={"note": note})


def restrict_subject(*, subject: DataSubject, request: DataSubjectRequest, actor, note: str = "") -> None:
    """Set processing_restricted on the person, as part of a request (logged on its timeline)."""
    DataSubject.objects.filter(pk=subject.pk).update(processing_restricted=True, updated_at=timezone.now())
    subject.processing_restricted = True
    record_event(request, EventKind.RESTRICTED, actor=actor, note=note, data={"subject_id": subject.pk})


@transaction.atomic
def withdraw_consents(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """PIPA art. 37(1): every consent withdrawn through the consent ledger; processors told to suppress."""
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.WITHDRAWAL)
    subject = _require_subject(request)
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    withdrawn = _withdraw_all(request, subject)
    record_event(request, EventKind.CONSENTS_WITHDRAWN, actor=actor, data={"count": withdrawn})
    jobs = _create_vendor_jobs(request, subject, "suppress")
    record_event(request, EventKind.VENDOR_JOBS_CREATED, actor=actor, data={"count": jobs, "kind": "suppress"})
    request.outcome = {**request.outcome, "consents_withdrawn": withdrawn, "vendor_jobs": jobs}
    request.save(update_fields=["outcome"])
    return _after_vendor_step(request, actor=actor, notice="consents_withdrawn", context={"count": withdrawn})


_NOTICE_FOR_TYPE = {
    RequestType.DELETION: "deleted",
    RequestType.SUSPENSION: "suspended",
    RequestType.WITHDRAWAL: "consents_withdrawn",
}


@transaction.atomic
def close_request(*, request: DataSubjectRequest, actor=None) -> DataSubjectRequest:
    """Close a request that waited for processors: only when none of its jobs is open (DSAR-12)."""
    request = _locked(request)
    if request.status != RequestStatus.AWAITING_VENDORS:
        raise RequestError(_("Only a request waiting for processors is closed this way."))
    pending = _open_vendor_jobs(request.reference).count()
    if pending:
        raise RequestError(
            _(
                "%(n)d processor job(s) are still open: the request closes when each is confirmed "
                "or marked manual with a note."
            )
            % {"n": pending}
        )
    notice = _NOTICE_FOR_TYPE.get(request.request_type, "completed")
    context = deletion_context(request) if request.request_type == RequestType.DELETION else {}
    context.setdefault("count", request.outcome.get("consents_withdrawn", 0))
    return _close(request, RequestStatus.COMPLETED, actor=actor, notice=notice, context=context)


# --- access package -------------------------------------------------------------------------


@transaction.atomic
def build_access_package(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """Build the ZIP for staff to review (ANCHORS #10: review before release). Rebuilding
    replaces the previous file and withdraws any released link."""
    from .package import collect, write_zip

    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.ACCESS, RequestType.PORTABILITY)
    subject = _require_subject(request)
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    with translation.override(request.language):
        # Choice labels and names are read in the requester's language.
        package = collect(subject_id=subject.pk, reference=request.reference)
        content = write_zip(
            package,
            language=request.language,
            request_type_label=str(request.get_request_type_display()),
            name=request.name,
        )
    old = request.package_file.name if request.package_file else ""
    request.package_file.save(f"packages/{secrets.token_hex(16)}.zip", ContentFile(content), save=False)
    request.package_built_at = timezone.now()
    request.package_released_at = None
    request.package_nonce = ""
    request.download_expires_at = None
    request.save(
        update_fields=[
            "package_file",
            "package_built_at",
            "package_released_at",
            "package_nonce",
            "download_expires_at",
        ]
    )
    if old:
        transaction.on_commit(lambda: private_storage().delete(old))
    record_event(request, EventKind.PACKAGE_BUILT, actor=actor, data={"counts": package.counts, "bytes": len(content)})
    return request


@transaction.atomic
def release_access_package(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """After review: email the subject a signed link that works DSAR_DOWNLOAD_TTL_DAYS, and close."""
    request = _locked(request)
    _require_open(request)
    if not request.package_file:
        raise RequestError(_("Build the access package first."))
    # Review before release: someone opened this very build (logged) before it goes out.
    if not request.events.filter(kind=EventKind.PACKAGE_REVIEWED, at__gte=request.package_built_at).exists():
        raise RequestError(_("Open the package to review it before releasing it."))
    nonce = tokens.new_nonce()
    request.package_nonce = nonce
    request.package_released_at = timezone.now()
    request.download_expires_at = request.package_released_at + timedelta(days=settings.DSAR_DOWNLOAD_TTL_DAYS)
    request.save(update_fields=["package_nonce", "package_released_at", "download_expires_at"])
    record_event(
        request, EventKind.PACKAGE_RELEASED, actor=actor, data={"expires_at": request.download_expires_at.isoformat()}
    )
    link = absolute_url(reverse("dsar:download", args=[tokens.sign_download(request.reference, nonce)]))
    _set_status(request, RequestStatus.COMPLETED, actor=actor)
    send_notice(
        request,
        "access_ready",
        actor=actor,
        context={"link": link, "expires_at": request.download_expires_at},
        secrets_in_body=[link],
    )
    record_event(request, EventKind.CLOSED, actor=actor, data={"status": RequestStatus.COMPLETED})
    return request


@dataclass(frozen=True)
class Download:
    request: DataSubjectRequest
    filename: str


def open_package_for_download(*, token: str, ip: str | None, path: str = "") -> Download:
    """The subject's download through the signed link; every download is logged (audit + timeline)."""
    payload = tokens.read_download(token, settings.DSAR_DOWNLOAD_TTL_DAYS * 86400)
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().filter(reference=payload.reference).first()
        if (
            request is None
            or not request.package_file
            or not request.package_nonce
            or not secrets.compare_digest(payload.nonce, request.package_nonce)
        ):
            raise tokens.LinkInvalid
        if request.download_expires_at is None or request.download_expires_at <= timezone.now():
            raise tokens.LinkExpired
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


# --- periodic jobs --------------------------------------------------------------------------


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
    from django.db.models import Q

    return DataSubjectRequest.objects.filter(
        Q(status__in=[RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS, RequestStatus.AWAITING_VENDORS])
        | Q(status=RequestStatus.SUBMITTED, email_confirmed_at__isnull=False)
        | (Q(status=RequestStatus.SUBMITTED) & ~Q(channel=RequestChannel.WEB_FORM))
    )


def _staff_email(kind: str, recipients: list[str], context: dict) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"dsar/email/{kind}_subject.txt", context).split())
        body = render_to_string(f"dsar/email/{kind}.txt", context)
    EmailMessage(subject=subject, body=body, to=recipients).send()


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
            for email in officer_emails:
                _staff_email("overdue", [email], {"items": items, "today": today})
                result.officer_emails += 1
            DataSubjectRequest.objects.filter(pk__in=[r.pk for r in overdue]).update(overdue_notified_on=today)
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
            DataSubjectRequest.objects.filter(pk=request.pk).update(package_file="", package_nonce="")
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
