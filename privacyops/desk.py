"""The privacy officer's desk: the admin index as a dashboard of what needs attention.

It composes every app (the project package sits above them all): each panel's query and threshold
lives in its app, used by that app's admin too, so the two cannot disagree. It shows no personal data:
request references, counts, rule names and dates only, so viewing it writes no access log.
Each panel appears only to staff who may view the records behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from audit.services import pending_reviews
from consent.services import consent_rates
from datastores.scan import drift
from dsar.models import DataSubjectRequest
from incidents.services import open_clocks
from policy.services import policy_is_out_of_date, processors_awaiting_publication, processors_for_legal_review
from retention.models import LegalHold
from retention.services import next_destruction_at, rules_with_last_run
from thirdparty.models import JOB_LATE_AFTER_DAYS, OAuthGrant, Processor, VendorErasureJob

# The desk's colour classes for dsar.models.deadline_state (templates/admin/officer_desk.html).
DEADLINE_COLOURS = {"overdue": "overdue", "at_risk": "soon", "on_track": "fine"}


@dataclass
class Desk:
    requests: list[dict] = field(default_factory=list)
    requests_shown: bool = False
    failing_jobs: list = field(default_factory=list)
    stale_jobs: int = 0
    # Disconnected YouTube grants Google has not confirmed: retries given up, or our client refused.
    unconfirmed_revocations: list = field(default_factory=list)
    late_after_days: int = JOB_LATE_AFTER_DAYS
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
    # Processors not yet in the version in force (held out of the page until a version's effective
    # date), and classifications (entrustment or provision) awaiting legal review (issue 17).
    processors_unpublished: list[dict] = field(default_factory=list)
    classification_reviews: list[dict] = field(default_factory=list)
    consent_rates: list[dict] = field(default_factory=list)
    consent_shown: bool = False
    refused_origins: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    incidents_shown: bool = False
    # Likely-personal columns in the company's other databases that the data map does not declare.
    drift: list = field(default_factory=list)
    drift_shown: bool = False

    @property
    def anything(self) -> bool:
        return any(
            [self.requests_shown, self.jobs_shown, self.rules_shown, self.holds_shown, self.contracts_shown]
            + [self.reviews_shown, self.policy_out_of_date is not None, self.consent_shown]
            + [bool(self.refused_origins), self.incidents_shown, self.drift_shown]
        )


def _requests(today: date) -> list[dict]:
    rows = (
        DataSubjectRequest.objects.open_by_due()
        .select_related("assignee")
        .only("pk", "reference", "request_type", "status", "due_on", "assignee__username")[:50]
    )
    out = []
    for request in rows:
        days_left = request.days_left(today)
        out.append(
            {
                "pk": request.pk,
                "reference": request.reference,
                "type": request.get_request_type_display(),
                "status": request.get_status_display(),
                "due_on": request.due_on,
                "days_left": days_left,
                "colour": DEADLINE_COLOURS[request.deadline_state(today)],
                "assignee": request.assignee.get_username() if request.assignee_id else "",
            }
        )
    return out


def _rules(now: datetime) -> list[dict]:
    next_at = next_destruction_at(now=now)
    return [
        {
            "rule": rule,
            "last": last,
            "last_total": last.total_destroyed + last.total_anonymised if last else 0,
            "next_at": next_at,
        }
        for rule, last in rules_with_last_run()
    ]


def build_desk(user, *, now: datetime | None = None) -> Desk:
    now = now or timezone.now()
    today = timezone.localdate(now)
    desk = Desk()
    # SA-08: the 72-hour clocks of open breaches, first, for the officer alone.
    if user.has_perm("incidents.handle_incident"):
        desk.incidents, desk.incidents_shown = open_clocks(now=now), True
    if user.has_perm("dsar.view_datasubjectrequest"):
        desk.requests, desk.requests_shown = _requests(today), True
    if user.has_perm("thirdparty.view_vendorerasurejob"):
        desk.failing_jobs = list(
            VendorErasureJob.objects.stuck().select_related("processor").order_by("created_at")[:20]
        )
        desk.stale_jobs = VendorErasureJob.objects.late(now).count()
        desk.unconfirmed_revocations = list(
            OAuthGrant.objects.revoke_unconfirmed()
            .filter(Q(revoke_next_attempt_at__isnull=True) | Q(revoke_error__contains="invalid_client"))
            .order_by("revoked_at")[:20]
        )
        desk.jobs_shown = True
    if user.has_perm("retention.view_destructionrun"):
        desk.rules, desk.rules_shown = _rules(now), True
    if user.has_perm("datastores.view_discoveredcolumn"):
        desk.drift, desk.drift_shown = drift()[:50], True
    if user.has_perm("retention.view_legalhold"):
        desk.expiring_holds, desk.holds_shown = list(LegalHold.objects.expiring(now)[:20]), True
    if user.has_perm("thirdparty.view_processor"):
        desk.expiring_contracts = list(Processor.objects.active().expiring_within().order_by("contract_end"))
        desk.contracts_shown = True
    if user.has_perm("audit.view_accessreview"):
        desk.pending_reviews, desk.reviews_shown = list(pending_reviews()), True
    if user.has_perm("policy.view_policyversion"):
        desk.policy_out_of_date = policy_is_out_of_date()
        desk.processors_unpublished = processors_awaiting_publication(now)
        if user.has_perm("thirdparty.view_processor"):
            desk.classification_reviews = processors_for_legal_review()
    # Aggregates only, so the marketing role (which may not read the ledger) sees them too.
    if user.has_perm("consent.view_purpose"):
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
