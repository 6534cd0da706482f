"""The privacy officer's desk: the admin index as a dashboard of what needs attention.

It composes every app (the project package sits above them all) and shows no personal data:
request references, counts, rule names and dates only, so viewing it writes no access log.
Each panel appears only to staff who may view the records behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

DSAR_AMBER_DAYS = 5  # fewer days left than this shows amber; overdue shows red (ANCHORS (c) 7)
HOLD_EXPIRY_WARNING_DAYS = 30


@dataclass
class Desk:
    requests: list[dict] = field(default_factory=list)
    requests_shown: bool = False
    failing_jobs: list = field(default_factory=list)
    stale_jobs: int = 0
    jobs_shown: bool = False
    rules: list[dict] = field(default_factory=list)
    rules_shown: bool = False
    expiring_holds: list = field(default_factory=list)
    holds_shown: bool = False
    expiring_contracts: list = field(default_factory=list)
    contracts_shown: bool = False
    pending_reviews: list = field(default_factory=list)
    reviews_shown: bool = False
    policy_out_of_date: bool | None = None
    consent_rates: list[dict] = field(default_factory=list)
    consent_shown: bool = False
    refused_origins: list[dict] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return any(
            [self.requests_shown, self.jobs_shown, self.rules_shown, self.holds_shown, self.contracts_shown]
            + [self.reviews_shown, self.policy_out_of_date is not None, self.consent_shown]
            + [bool(self.refused_origins)]
        )


def _colour(days_left: int) -> str:
    if days_left < 0:
        return "overdue"
    return "soon" if days_left < DSAR_AMBER_DAYS else "fine"


def _requests(today: date) -> list[dict]:
    from dsar.models import OPEN_STATUSES, DataSubjectRequest

    rows = (
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES)
        .select_related("assignee")
        .only("pk", "reference", "request_type", "status", "due_on", "assignee__username")
        .order_by("due_on", "pk")[:50]
    )
    out = []
    for request in rows:
        days_left = (request.due_on - today).days
        out.append(
            {
                "pk": request.pk,
                "reference": request.reference,
                "type": request.get_request_type_display(),
                "status": request.get_status_display(),
                "due_on": request.due_on,
                "days_left": days_left,
                "colour": _colour(days_left),
                "assignee": request.assignee.get_username() if request.assignee_id else "",
            }
        )
    return out


def _next_destruction_at(now: datetime) -> datetime | None:
    """When beat next runs the destruction: from its row in the database (staff may have changed
    or switched it off there), or from the settings until beat has first copied them in."""
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.filter(task="retention.tasks.destroy_expired").select_related("crontab").first()
    if task is not None:
        if not task.enabled or task.crontab is None:
            return None
        return now + task.crontab.schedule.remaining_estimate(task.last_run_at or now)
    entry = settings.CELERY_BEAT_SCHEDULE.get("destroy_expired")
    return now + entry["schedule"].remaining_estimate(now) if entry else None


def _rules(now: datetime) -> list[dict]:
    from django.db.models import OuterRef, Subquery

    from retention.models import DestructionRun, RetentionRule, RunStatus

    # Two queries whatever the number of rules: each rule's latest real run, then those runs.
    latest = (
        DestructionRun.objects.filter(rule=OuterRef("pk"))
        .exclude(status=RunStatus.DRY_RUN)
        .order_by("-started_at")
        .values("pk")[:1]
    )
    rules = list(RetentionRule.objects.filter(active=True).annotate(last_run_id=Subquery(latest)).order_by("key"))
    runs = DestructionRun.objects.in_bulk([rule.last_run_id for rule in rules if rule.last_run_id])
    next_at = _next_destruction_at(now)
    out = []
    for rule in rules:
        last = runs.get(rule.last_run_id)
        out.append(
            {
                "rule": rule,
                "last": last,
                "last_total": last.total_destroyed + last.total_anonymised if last else 0,
                "next_at": next_at,
            }
        )
    return out


def build_desk(user, *, now: datetime | None = None) -> Desk:
    now = now or timezone.now()
    today = timezone.localdate(now)
    desk = Desk()
    if user.has_perm("dsar.view_datasubjectrequest"):
        desk.requests, desk.requests_shown = _requests(today), True
    if user.has_perm("thirdparty.view_vendorerasurejob"):
        from thirdparty.models import JobStatus, VendorErasureJob

        desk.failing_jobs = list(
            VendorErasureJob.objects.filter(status=JobStatus.FAILED)
            .select_related("processor")
            .order_by("created_at")[:20]
        )
        desk.stale_jobs = VendorErasureJob.objects.open().filter(created_at__lt=now - timedelta(days=8)).count()
        desk.jobs_shown = True
    if user.has_perm("retention.view_destructionrun"):
        desk.rules, desk.rules_shown = _rules(now), True
    if user.has_perm("retention.view_legalhold"):
        from retention.models import LegalHold

        desk.expiring_holds = list(
            LegalHold.objects.active(now)
            .filter(expires_at__isnull=False, expires_at__lte=now + timedelta(days=HOLD_EXPIRY_WARNING_DAYS))
            .order_by("expires_at")[:20]
        )
        desk.holds_shown = True
    if user.has_perm("thirdparty.view_processor"):
        from thirdparty.models import Processor

        desk.expiring_contracts = list(Processor.objects.active().expiring_within().order_by("contract_end"))
        desk.contracts_shown = True
    if user.has_perm("audit.view_accessreview"):
        from audit.services import pending_reviews

        desk.pending_reviews, desk.reviews_shown = list(pending_reviews()), True
    if user.has_perm("policy.view_policyversion"):
        from policy.services import policy_is_out_of_date

        desk.policy_out_of_date = policy_is_out_of_date()
    # Aggregates only, so the marketing role (which may not read the ledger) sees them too.
    if user.has_perm("consent.view_purpose"):
        from consent.services import consent_rates

        desk.consent_rates, desk.consent_shown = consent_rates(months=6, at=now), True
    if user.has_perm("consent.view_refusedorigin"):
        from consent.services import refused_origins

        desk.refused_origins = refused_origins(at=now)
    return desk


def officer_desk(request) -> dict:
    """Context processor: the desk, computed only when a template (the admin index) uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {"officer_desk": SimpleLazyObject(lambda: build_desk(user))}
