"""Four eyes where a person's data leaves or dies (issue 15): one person prepares, a second person
holding `dsar.oversee_requests` approves or refuses, and never the one who prepared.

    request_approval      the preparer's step: a pending Approval (one per step and object)
    decide_approval       the second person's decision; the owning app then carries out the step
    pending_approval_for  the pending approval of one step on one object, or None
    approval_findings     what the monthly access review flags among the decisions

This module knows no app: the object is named by content type and id, and the app that owns it
(dsar for requests, retention for legal holds) calls these inside its own transaction and does the
work once the decision is made.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AccessReviewFinding, Approval, ApprovalDecision, ApprovalKind, FindingKind

# Who may approve: the privacy officer's permission (OFFICER_ONLY in audit.roles).
APPROVER_PERMISSION = "dsar.oversee_requests"


class ApprovalError(Exception):
    """The four-eyes rule refused the step; the message is safe to show."""


def can_approve(user: Any) -> bool:
    """A named, active account holding the approver's permission (never the system actor: four
    eyes are two people)."""
    return bool(
        user is not None and getattr(user, "pk", None) and user.is_active and user.has_perm(APPROVER_PERMISSION)
    )


def pending_approval_for(kind: str, obj: models.Model, *, lock: bool = False) -> Approval | None:
    queryset = Approval.objects.pending().for_object(obj).filter(kind=kind)
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def request_approval(
    *, kind: str, obj: models.Model, prepared_by: Any, object_repr: str = "", note: str = "", data: dict | None = None
) -> Approval:
    """The preparer's step. Call inside the owning app's transaction, with the object locked."""
    if kind not in ApprovalKind.values:
        raise ValueError(kind)
    if prepared_by is None or not getattr(prepared_by, "pk", None):
        raise ApprovalError(_("A step that needs a second person's approval must be prepared by a named account."))
    if pending_approval_for(kind, obj) is not None:
        raise ApprovalError(_("This step is already waiting for a second person's approval."))
    return Approval.objects.create(
        kind=kind,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=obj.pk,
        object_repr=(object_repr or str(obj))[:100],
        prepared_by=prepared_by,
        note=(note or "").strip(),
        data=data or {},
    )


def decide_approval(
    *, approval: Approval, user: Any, approve: bool, note: str = "", data: dict | None = None
) -> Approval:
    """The second person's decision. Refused (ApprovalError) when the user lacks the approver's
    permission or prepared the step. Call inside the owning app's transaction; it carries out the
    step when this returns an approved approval."""
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if not approval.is_pending:
        raise ApprovalError(_("This step was already decided."))
    if not can_approve(user):
        raise ApprovalError(_("Only the privacy officer (a second person) may approve or refuse this step."))
    if user.pk == approval.prepared_by_id:
        raise ApprovalError(_("You prepared this step: a second person must approve or refuse it."))
    note = (note or "").strip()
    if not approve and len(note) < 5:
        raise ApprovalError(_("Say why the step is refused."))
    approval.decision = ApprovalDecision.APPROVED if approve else ApprovalDecision.REFUSED
    approval.decided_by = user
    approval.decided_at = timezone.now()
    approval.decision_note = note
    approval.data = {**approval.data, **(data or {})}
    approval.save(update_fields=["decision", "decided_by", "decided_at", "decision_note", "data"])
    return approval


def approval_findings(*, start: date, end: date) -> list[AccessReviewFinding]:
    """Unsaved findings for the monthly review: every access package the officer sent to an address
    that is not the person's registered email, decided in [start, end) (Seoul days)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    approvals = Approval.objects.filter(
        kind=ApprovalKind.RELEASE_PACKAGE,
        decision=ApprovalDecision.APPROVED,
        data__unregistered_recipient=True,
        decided_at__gte=datetime.combine(start, time.min, tzinfo=tz),
        decided_at__lt=datetime.combine(end, time.min, tzinfo=tz),
    ).select_related("decided_by", "prepared_by")
    return [
        AccessReviewFinding(
            kind=FindingKind.UNREGISTERED_RECIPIENT,
            user_id=approval.decided_by_id,
            username=approval.decided_by.get_username() if approval.decided_by else "",
            access_count=1,
            subject_count=1,
            detail=_(
                "%(object)s: package link sent to an address that is not the person's registered email; "
                "prepared by %(preparer)s, approved by %(approver)s on %(at)s"
            )
            % {
                "object": approval.object_repr,
                "preparer": approval.prepared_by.get_username(),
                "approver": approval.decided_by.get_username() if approval.decided_by else "-",
                "at": timezone.localtime(approval.decided_at, tz).strftime("%Y-%m-%d %H:%M"),
            },
        )
        for approval in approvals.order_by("decided_at", "pk")
    ]
