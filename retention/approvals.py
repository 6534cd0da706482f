"""Four eyes on releasing a legal hold (issue 15): once a hold is released, the rows it protected
become destroyable by the next run, so one person asks and a second person holding
`dsar.oversee_requests` approves, never the one who asked.

    request_hold_release   ask; the hold stays active, a pending audit.Approval records who asked
    decide_hold_release    approve (the hold is released by the approver) or refuse (it stays)
    require_approved_release   the check release_hold makes before it writes

The history of a hold's release is its approvals (audit.Approval: who asked, when, who decided,
the decision and its note), beside the hold's own released_by and release_note.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from audit.approvals import ApprovalError, decide_approval, pending_approval_for, request_approval
from audit.models import Approval, ApprovalDecision, ApprovalKind

from .models import LegalHold

# The officer-only permission to release a hold (LegalHold.Meta); asking needs it, approving needs
# the approver's (audit.approvals.APPROVER_PERMISSION) too.
RELEASE_PERMISSION = "retention.release_legalhold"


def _hold(hold_id: int) -> LegalHold:
    from .services import RetentionError

    hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise RetentionError(_("No legal hold with this id."))
    if hold.released_at is not None:
        raise RetentionError(_("This hold was already released."))
    return hold


def request_hold_release(*, hold_id: int, requested_by, note: str = "") -> Approval:
    """Ask for the release; nothing is released until a second person approves."""
    from .services import RetentionError

    if requested_by is None or not requested_by.has_perm(RELEASE_PERMISSION):
        raise RetentionError(_("Only the privacy officer may ask for a legal hold to be released."))
    with transaction.atomic():
        hold = _hold(hold_id)
        try:
            return request_approval(
                kind=ApprovalKind.HOLD_RELEASE,
                obj=hold,
                prepared_by=requested_by,
                object_repr=f"hold #{hold.pk}",
                note=note,
            )
        except ApprovalError as exc:
            raise RetentionError(str(exc)) from None


def decide_hold_release(*, hold_id: int, decided_by, approve: bool, note: str = "") -> Approval:
    """The second person's decision. Approved: the hold is released now, by `decided_by`, with the
    asker's note. Refused: the hold stays active and the refusal is kept with its reason."""
    from .services import RetentionError, release_hold

    with transaction.atomic():
        hold = _hold(hold_id)
        approval = pending_approval_for(ApprovalKind.HOLD_RELEASE, hold, lock=True)
        if approval is None:
            raise RetentionError(_("Nobody has asked for this hold to be released."))
        try:
            approval = decide_approval(approval=approval, user=decided_by, approve=approve, note=note)
        except ApprovalError as exc:
            raise RetentionError(str(exc)) from None
        if approve:
            release_hold(hold_id=hold.pk, released_by=decided_by, note=(approval.note or note)[:300])
    return approval


def require_approved_release(*, hold_id: int, released_by) -> None:
    """Refuse a release that a second person has not approved (release_hold asks this)."""
    from .services import RetentionError

    approved = Approval.objects.filter(
        kind=ApprovalKind.HOLD_RELEASE,
        content_type__app_label=LegalHold._meta.app_label,
        content_type__model=LegalHold._meta.model_name,
        object_id=hold_id,
        decision=ApprovalDecision.APPROVED,
        decided_by_id=getattr(released_by, "pk", None),
    ).exists()
    if not approved:
        raise RetentionError(
            _("A legal hold is released only after a second person approves: ask for the release first.")
        )
