"""Fulfilment of a verified request across the other apps: erasure, suspension, consent
withdrawal, and closing once every processor confirmed (DSAR-05/12, PIPA art. 36-37).

    carry_out_deletion (asks; a second person approves), erase_now (the approved erasure),
    suspend_processing, withdraw_consents, close_request
    deletion_context         what the deletion notice lists

This is the only module of dsar that imports consent, thirdparty and retention; intake,
verification and the workflow (dsar.services) know none of them.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from audit.models import Approval, ApprovalDecision, ApprovalKind
from consent.models import ConsentState, Purpose, PurposeSuspension
from consent.services import lift_purpose_suspensions, suspend_purposes, withdraw_all_consents, withdraw_consent
from datastores.connect import DatastoreError
from datastores.services import erase_external
from privacyops.lib import i18n
from privacyops.lib.actors import SYSTEM, require_permission
from retention.services import erase_consent_data, erase_subject
from subjects.models import DataSubject
from subjects.registry import registry
from thirdparty.models import OAuthGrant, RevokedBy
from thirdparty.services import create_erasure_jobs, open_jobs, revoke_youtube_grant

from .models import SUSPENSION_GROUNDS, DataSubjectRequest, EventKind, RequestStatus, RequestType, StatutoryGround
from .services import (
    RequestError,
    _ask_approval,
    _close,
    _locked,
    _require_open,
    _require_subject,
    _require_type,
    _require_verified,
    _set_status,
    consent_channel,
    log_request_access,
    record_event,
)


def _open_vendor_jobs(reference: str):
    return open_jobs(reference)


def _create_vendor_jobs(request: DataSubjectRequest, subject: DataSubject, kind: str) -> int:
    jobs = create_erasure_jobs(subject=subject, reference=request.reference, kind=kind)
    return len(jobs)


def _after_vendor_step(request: DataSubjectRequest, *, actor, notice: str, context: dict) -> DataSubjectRequest:
    """Close now when no processor job is open; else wait for them (DSAR-12)."""
    if _open_vendor_jobs(request.reference).exists():
        _set_status(request, RequestStatus.AWAITING_VENDORS, actor=actor)
        return request
    return _close(request, RequestStatus.COMPLETED, actor=actor, notice=notice, context=context)


def _withdraw_all(request: DataSubjectRequest, subject: DataSubject) -> int:
    withdrawn = withdraw_all_consents(subject=subject, channel=consent_channel(request))
    return len(withdrawn) if hasattr(withdrawn, "__len__") else int(withdrawn or 0)


@transaction.atomic
def carry_out_deletion(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """Ask for the erasure: nothing is erased until a second person holding dsar.oversee_requests
    approves (services.decide_request_approval), who then carries it out (erase_now)."""
    request = _locked(request)
    _check_erasable(request)
    _ask_approval(request, ApprovalKind.ERASURE, actor=actor, data={"subject_id": request.subject_id})
    return request


def _check_erasable(request: DataSubjectRequest) -> DataSubject:
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.DELETION)
    subject = _require_subject(request)
    if request.outcome.get("erasure"):
        raise RequestError(_("The erasure was already carried out for this request."))
    return subject


def approved_erasure_waits(request: DataSubjectRequest, user=None) -> bool:
    """Was this request's erasure approved (by `user`, when given) and not carried out yet (a
    system was down when the approver tried)?"""
    return (
        request.is_open
        and request.request_type == RequestType.DELETION
        and not request.outcome.get("erasure")
        and _approved_by(request, user).exists()
    )


def _approved_by(request: DataSubjectRequest, actor=None):
    approved = Approval.objects.for_object(request).filter(
        kind=ApprovalKind.ERASURE, decision=ApprovalDecision.APPROVED
    )
    return approved if actor is None else approved.filter(decided_by_id=getattr(actor, "pk", None))


def _check_approved_erasure(request: DataSubjectRequest, actor) -> DataSubject:
    subject = _check_erasable(request)
    if not _approved_by(request, actor).exists():
        raise RequestError(_("An erasure is carried out only after a second person approves it."))
    return subject


def erase_now(*, request: DataSubjectRequest, actor) -> DataSubjectRequest:
    """Erase the person across the registry (PIPA art. 36, DSAR-05/12), once approved.

    The company's other databases first, while the person's email, phone and keys still exist
    here to find their rows there, and with no transaction of ours open: each table commits there
    on its own, and its ledger row is committed here before anything else can fail. A system that
    is down stops the erasure; the approver carries it out again later (tables already erased stay
    erased and counted). Then one transaction, all of it or none: consents withdrawn and processor
    jobs created while the person's identifiers still exist, then retention's erase_subject deletes
    or anonymises every registered model, keeps what a statute or a legal hold requires, and
    writes the destruction ledger row under this request's reference.
    """
    with transaction.atomic():
        request = _locked(request)
        subject = _check_approved_erasure(request, actor)
    try:
        external = erase_external(subject_id=subject.pk, reference=request.reference, actor=actor)
    except DatastoreError as exc:
        raise RequestError(
            _(
                "The erasure is approved but was not carried out: %(error)s Carry it out from the request"
                " when the system is back."
            )
            % {"error": exc}
        ) from None
    with transaction.atomic():
        return _erase_here(request, actor, external)


def _erase_here(request: DataSubjectRequest, actor, external: list) -> DataSubjectRequest:
    request = _locked(request)
    subject = _check_approved_erasure(request, actor)
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
        ]
        + [table.as_outcome() for table in external],
    }
    request = DataSubjectRequest.objects.get(pk=request.pk)
    request.outcome = {**request.outcome, "erasure": erasure, "vendor_jobs": jobs, "consents_withdrawn": withdrawn}
    request.save(update_fields=["outcome"])
    record_event(
        request,
        EventKind.ERASED,
        actor=actor,
        data={
            "run_id": result.run_id,
            "erased": result.erased,
            "anonymised": result.anonymised,
            "kept": result.kept,
            # Per declared table of the company's other databases (none: no key).
            **(
                {"external": {t.label: {"erased": t.erased + t.anonymised, "kept": t.kept_count} for t in external}}
                if external
                else {}
            ),
        },
    )
    return _after_vendor_step(request, actor=actor, notice="deleted", context=deletion_context(request))


def _model_names() -> dict[str, str]:
    """Plural names in the active language, by model label, of every model an erasure touches."""
    models = [entry.model for entry in registry.entries()] + [DataSubject]
    return {model._meta.label: capfirst(str(model._meta.verbose_name_plural)) for model in models}


def deletion_context(request: DataSubjectRequest) -> dict:
    """What the deletion notice lists: what went, what was kept, why and until when. Names are
    read in the requester's language at the time of writing, not stored with the outcome."""
    erasure = request.outcome.get("erasure") or {}
    language = i18n.language(request.language)
    kept, removed, profile_reasons = [], [], []
    with translation.override(language):
        reasons = {
            "statute": _("a law requires us to keep it for a set period"),
            "legal hold": _("it is needed for a legal claim or an investigation (legal hold)"),
            "referenced by kept records": _("it belongs to records we must keep"),
        }
        names = _model_names()
        for model in erasure.get("models", []):
            if model["model"] in TIMELINE_MODELS:
                continue  # part of the request's own record, listed with it
            name = names.get(model["model"], model["name"])
            if model["erased"] or model["anonymised"]:
                removed.append({"name": name, "count": model["erased"] + model["anonymised"]})
            for group in model["kept"]:
                if model["model"] == "subjects.DataSubject":
                    profile_reasons.append(group["reason"])
                    continue  # the restricted profile is stated after the rows it is kept for
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
        profile = None
        if erasure.get("subject_restricted"):
            # The profile stays, restricted, as long as a kept record must stay linked to the person.
            held = "legal hold" in profile_reasons or any(item["due_on"] is None for item in kept)
            last = max((item["due_on"] for item in kept if item["due_on"]), default=None)
            if held or last is None:
                until = _("Destroyed with the last of the records kept above.")
            else:
                until = _("Destroyed with the last of the records kept above, by %(date)s.") % {
                    "date": last.isoformat()
                }
            profile = {
                "name": _("Your profile (name and contact details)"),
                "reason": reasons["legal hold"]
                if "legal hold" in profile_reasons and not kept
                else _("the records kept above must stay linked to you; it is used for nothing else"),
                "until": until,
            }
    return {
        "kept": kept,
        "removed": removed,
        "restricted": erasure.get("subject_restricted", False),
        "profile": profile,
    }


TIMELINE_MODELS = {"dsar.RequestEvent"}


@transaction.atomic
def suspend_processing(
    *,
    request: DataSubjectRequest,
    actor,
    purposes: list[str] | None = None,
    keep: dict[str, str] | None = None,
    note: str = "",
) -> DataSubjectRequest:
    """PIPA art. 37(1), (4) (DSAR-06), all or part of the processing:

    - no `purposes`: all processing is suspended (DataSubject.processing_restricted: marketing,
      audience syncs and analytics exports skip the person) and the data collected solely on any
      consent is destroyed;
    - `purposes`: only those (consent.suspend_purposes; a consent held for one is withdrawn), and
      the data collected solely for them is destroyed.

    Destroyed without delay unless staff record a ground of art. 37(2) in `keep` (model label ->
    ground). Processors are told to suppress the person."""
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.SUSPENSION)
    subject = _require_subject(request)
    keep = _check_kept(keep)
    purposes = sorted(set(purposes or []))
    known = set(Purpose.objects.values_list("key", flat=True))
    if set(purposes) - known:
        raise RequestError(_("Unknown purpose."))
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    if purposes:
        suspend_purposes(
            subject=subject, purposes=purposes, channel=consent_channel(request), reference=request.reference
        )
        record_event(
            request, EventKind.RESTRICTED, actor=actor, note=note, data={"subject_id": subject.pk, "purposes": purposes}
        )
        destroy_for = purposes
    else:
        restrict_subject(subject=subject, request=request, actor=actor, note=note)
        destroy_for = sorted(known)
    jobs = _create_vendor_jobs(request, subject, "suppress")
    record_event(request, EventKind.VENDOR_JOBS_CREATED, actor=actor, data={"count": jobs, "kind": "suppress"})
    _revoke_connections(subject, destroy_for, keep)
    destroyed = _erase_consent_data(request, subject, destroy_for, actor=actor, keep=keep)
    request.outcome = {
        **request.outcome,
        "restricted": not purposes,
        "purposes": purposes,
        "consent_data": destroyed,
        "vendor_jobs": jobs,
    }
    request.save(update_fields=["outcome"])
    return _after_vendor_step(request, actor=actor, notice="suspended", context=suspension_context(request, note))


def suspended_purposes(request: DataSubjectRequest) -> list[tuple[str, str]]:
    """(key, name) of the purposes this request suspended that are still suspended."""
    if request.subject_id is None or request.request_type != RequestType.SUSPENSION:
        return []
    rows = PurposeSuspension.objects.filter(
        subject_id=request.subject_id, reference=request.reference, lifted_at__isnull=True
    ).select_related("purpose")
    return [(row.purpose.key, row.purpose.localized_name) for row in rows.order_by("purpose__position", "pk")]


def purpose_names(keys) -> list[str]:
    names = {p.key: p.localized_name for p in Purpose.objects.filter(key__in=list(keys or []))}
    return [names.get(key, key) for key in keys or []]


LIFT_NOTE_MIN_CHARS = 10


@transaction.atomic
def lift_suspension(
    *, request: DataSubjectRequest, actor, purposes: list[str], note: str, ip: str | None = None, path: str = ""
) -> DataSubjectRequest:
    """End the suspension of these purposes that this request put in place (DSAR-06): the person
    asked for it, or the reason ended. The privacy officer only, with a note saying why; a
    timeline event, and an access-log row for the person's processing state changed. A consent
    the suspension withdrew stays withdrawn (only the person can give it again), and processors
    already told to suppress the person are not told otherwise."""
    require_permission(
        actor,
        "dsar.oversee_requests",
        error=RequestError,
        message=_("Only the privacy officer may lift a suspension."),
    )
    note = (note or "").strip()
    if len(note) < LIFT_NOTE_MIN_CHARS:
        raise RequestError(
            _("Say why the suspension is lifted (at least %(n)d characters).") % {"n": LIFT_NOTE_MIN_CHARS}
        )
    request = _locked(request)
    _require_type(request, RequestType.SUSPENSION)
    subject = _require_subject(request)
    in_force = {key for key, _name in suspended_purposes(request)}
    purposes = sorted(set(purposes or []))
    if not purposes:
        raise RequestError(_("Choose the purposes whose suspension is lifted."))
    if set(purposes) - in_force:
        raise RequestError(_("This request has no suspension in force for that purpose."))
    lifted = lift_purpose_suspensions(subject=subject, purposes=purposes, reference=request.reference)
    record_event(request, EventKind.SUSPENSION_LIFTED, actor=actor, note=note, data={"purposes": lifted})
    log_request_access(request, user=actor, ip=ip, action="change", path=path, detail="suspension lifted")
    return request


def all_purposes() -> list[str]:
    return list(Purpose.objects.values_list("key", flat=True))


def suspension_context(request: DataSubjectRequest, note: str = "") -> dict:
    context = withdrawal_context(request)
    purposes = request.outcome.get("purposes") or []
    with translation.override(i18n.language(request.language)):
        names = {p.key: p.localized_name for p in Purpose.objects.filter(key__in=purposes)}
    return {**context, "note": note, "purposes": [names.get(key, key) for key in purposes]}


def restrict_subject(*, subject: DataSubject, request: DataSubjectRequest, actor, note: str = "") -> None:
    """Set processing_restricted on the person, as part of a request (logged on its timeline)."""
    DataSubject.objects.filter(pk=subject.pk).update(processing_restricted=True, updated_at=timezone.now())
    subject.processing_restricted = True
    record_event(request, EventKind.RESTRICTED, actor=actor, note=note, data={"subject_id": subject.pk})


def consent_only_data(request: DataSubjectRequest, purposes=None) -> list[dict]:
    """What a withdrawal (or a suspension of these purposes) would destroy, for the staff page:
    per registered model collected solely on a consent the person holds, the rows it would
    destroy and those a legal hold keeps. Nothing is written."""
    if request.subject_id is None:
        return []
    if purposes is None:
        purposes = set(
            ConsentState.objects.filter(subject_id=request.subject_id, granted=True).values_list(
                "purpose__key", flat=True
            )
        )
    preview = erase_consent_data(
        subject_id=request.subject_id, purposes=purposes, reference=request.reference, dry_run=True
    )
    names = _model_names()
    return [
        {
            "model": m.model,
            "name": names.get(m.model, m.verbose_name),
            "rows": m.erased + m.anonymised,
            "held": m.kept_count,
        }
        for m in preview.models
        if m.erased or m.anonymised or m.kept_count
    ]


def _erase_consent_data(
    request: DataSubjectRequest, subject: DataSubject, purposes, *, actor, keep: dict[str, str]
) -> dict:
    result = erase_consent_data(
        subject_id=subject.pk, purposes=purposes, reference=request.reference, actor=actor, keep=keep
    )
    destroyed = {
        "run_id": result.run_id,
        "erased": result.erased,
        "anonymised": result.anonymised,
        "models": [
            {
                "model": m.model,
                "name": m.verbose_name,
                "erased": m.erased,
                "anonymised": m.anonymised,
                "kept": [
                    {
                        "reason": k.reason,
                        "ground": keep.get(m.model, ""),
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
    record_event(
        request,
        EventKind.ERASED,
        actor=actor,
        data={"run_id": result.run_id, "erased": result.erased, "kept": result.kept, "kept_on": keep},
    )
    return destroyed


def _revoke_connections(subject: DataSubject, purposes, keep: dict[str, str]) -> None:
    grants = registry.entry(OAuthGrant)
    if grants.consent_only_q(purposes) is None or grants.label in keep:
        return
    for grant in OAuthGrant.objects.active().filter(subject=subject):
        revoke_youtube_grant(grant=grant, by=RevokedBy.SUBJECT, actor=SYSTEM)


def _check_kept(keep: dict[str, str] | None) -> dict[str, str]:
    keep = dict(keep or {})
    for label, ground in keep.items():
        if registry.entry_by_label(label) is None or ground not in SUSPENSION_GROUNDS:
            raise RequestError(_("Data kept after a withdrawal or suspension needs a ground of PIPA art. 37(2)."))
    return keep


@transaction.atomic
def withdraw_consents(*, request: DataSubjectRequest, actor, keep: dict[str, str] | None = None) -> DataSubjectRequest:
    """PIPA art. 37(1), (4) (DSAR-07): every consent withdrawn through the consent ledger, the data
    collected solely on those consents destroyed without delay (subjects.registry
    `collected_on_consent`: the YouTube connection and its statistics on the integration consent,
    Meta's ids on the marketing consent), and processors told to suppress.

    `keep` maps a model label to the art. 37(2) ground staff recorded for keeping it (the
    workflow page shows what would go before they act); the result notice says what was kept and why."""
    request = _locked(request)
    _require_open(request)
    _require_verified(request)
    _require_type(request, RequestType.WITHDRAWAL)
    subject = _require_subject(request)
    keep = _check_kept(keep)
    if request.status == RequestStatus.VERIFIED:
        _set_status(request, RequestStatus.IN_PROGRESS, actor=actor)
    if request.requested_purposes:
        # The person chose which consents to withdraw on the form (DSAR-07); the rest stay.
        events = [
            e
            for key in request.requested_purposes
            if (e := withdraw_consent(subject=subject, purpose=key, channel=consent_channel(request))) is not None
        ]
    else:
        events = withdraw_all_consents(subject=subject, channel=consent_channel(request))
    purposes = sorted({event.purpose.key for event in events})
    record_event(request, EventKind.CONSENTS_WITHDRAWN, actor=actor, data={"count": len(events), "purposes": purposes})
    # The processors' jobs copy the identifiers they need before Meta's ids go; the YouTube tokens
    # are revoked at Google while we still hold them.
    jobs = _create_vendor_jobs(request, subject, "suppress")
    record_event(request, EventKind.VENDOR_JOBS_CREATED, actor=actor, data={"count": jobs, "kind": "suppress"})
    _revoke_connections(subject, purposes, keep)
    destroyed = _erase_consent_data(request, subject, purposes, actor=actor, keep=keep)
    request.outcome = {
        **request.outcome,
        "consents_withdrawn": len(events),
        "purposes": purposes,
        "consent_data": destroyed,
        "vendor_jobs": jobs,
    }
    request.save(update_fields=["outcome"])
    return _after_vendor_step(request, actor=actor, notice="consents_withdrawn", context=withdrawal_context(request))


def withdrawal_context(request: DataSubjectRequest) -> dict:
    """What the withdrawal notice lists: how many consents, what was destroyed, what was kept and on
    which ground of PIPA art. 37(2)."""
    data = request.outcome.get("consent_data") or {}
    language = i18n.language(request.language)
    removed, kept = [], []
    with translation.override(language):
        names = _model_names()
        for model in data.get("models", []):
            name = names.get(model["model"], model["name"])
            if model["erased"] or model["anonymised"]:
                removed.append({"name": name, "count": model["erased"] + model["anonymised"]})
            for group in model["kept"]:
                if group.get("ground"):
                    reason = str(StatutoryGround(group["ground"]).label)
                else:
                    reason = _("it is needed for a legal claim or an investigation (legal hold)")
                kept.append({"name": name, "count": group["count"], "reason": reason})
    return {"count": request.outcome.get("consents_withdrawn", 0), "removed": removed, "kept": kept}


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
    if request.request_type == RequestType.DELETION:
        context = deletion_context(request)
    elif request.request_type == RequestType.WITHDRAWAL:
        context = withdrawal_context(request)
    elif request.request_type == RequestType.SUSPENSION:
        context = suspension_context(request)
    else:
        context = {}
    context.setdefault("count", request.outcome.get("consents_withdrawn", 0))
    return _close(request, RequestStatus.COMPLETED, actor=actor, notice=notice, context=context)
