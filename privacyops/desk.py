"""The privacy officer's desk: the admin index as a dashboard of what needs attention.

It composes every app (the project package sits above them all): each panel's query and threshold
lives in its app, used by that app's admin too, so the two cannot disagree. It shows no personal data:
request references, counts, rule names and dates only, so viewing it writes no access log.
Each panel appears only to staff who may view the records behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext
from django_celery_beat.models import PeriodicTask

from audit.jobruns import job_name, latest_runs, summarise
from audit.services import pending_reviews
from consent.services import consent_rates
from datastores.scan import drift
from dsar.models import DataSubjectRequest
from incidents.services import open_clocks
from policy.services import policy_is_out_of_date, processors_awaiting_publication, processors_for_legal_review
from privacyops.lib.charts import bar_chart, sparkline
from privacyops.lib.i18n import pick
from privacyops.lib.schedules import next_fire_time
from retention.models import DestructionRun, LegalHold, RunStatus
from retention.services import rules_with_last_run
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
    request_counts: list[dict] = field(default_factory=list)
    consent_charts: list[dict] = field(default_factory=list)
    job_runs: list[dict] = field(default_factory=list)
    job_runs_shown: bool = False
    data_map_shown: bool = False

    @property
    def anything(self) -> bool:
        return any(
            [self.requests_shown, self.jobs_shown, self.rules_shown, self.holds_shown, self.contracts_shown]
            + [self.reviews_shown, self.policy_out_of_date is not None, self.consent_shown]
            + [bool(self.refused_origins), self.incidents_shown, self.drift_shown, self.job_runs_shown]
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


def admin_list(name: str, **filters) -> str:
    """The admin list `name` ("retention_destructionrun") filtered as given: every number on the
    desk links to the rows it counts."""
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def next_run_at(task: str, now: datetime) -> datetime | None:
    """When beat next starts `task`: from its row in the database (staff may have changed or
    switched it off there), else from the settings; the crontab read in its own time zone."""
    row = PeriodicTask.objects.filter(task=task).select_related("crontab").order_by("pk").first()
    if row is not None:
        if not row.enabled or row.crontab is None:
            return None
        return next_fire_time(row.crontab.schedule, now, str(row.crontab.timezone))
    entry = next((e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task), None)
    if entry is None or not hasattr(entry["schedule"], "day_of_month"):
        return None
    return next_fire_time(entry["schedule"], now, settings.CELERY_TIMEZONE)


RULE_HISTORY_RUNS = 10


def _rules(now: datetime) -> list[dict]:
    next_at = next_run_at("retention.tasks.destroy_expired", now)
    rules = rules_with_last_run()
    history: dict[int, list[DestructionRun]] = {}
    for rule, _last in rules:
        history[rule.pk] = list(
            DestructionRun.objects.filter(rule=rule)
            .exclude(status=RunStatus.DRY_RUN)
            .order_by("-started_at", "-pk")[:RULE_HISTORY_RUNS]
        )[::-1]
    out = []
    for rule, last in rules:
        runs = history[rule.pk]
        totals = [run.total_destroyed + run.total_anonymised for run in runs]
        # The last run that destroyed something: a no-op run after it does not hide what went.
        last_work = next((run for run in reversed(runs) if run.total_destroyed + run.total_anonymised), None)
        name = pick(rule, "public_name") or rule.name
        out.append(
            {
                "rule": rule,
                "name": name,
                "last": last,
                "last_total": last.total_destroyed + last.total_anonymised if last else 0,
                "last_work": last_work,
                "last_work_total": last_work.total_destroyed + last_work.total_anonymised if last_work else 0,
                "recent_total": sum(totals),
                "sparkline": sparkline(
                    totals, label=gettext("Rows destroyed by the last runs of %(rule)s") % {"rule": name}
                ),
                "runs_url": admin_list("retention_destructionrun", rule_key__exact=rule.key),
                "next_at": next_at,
            }
        )
    return out


def _request_counts(today: date) -> list[dict]:
    labels = {
        "overdue": gettext("Overdue"),
        "at_risk": gettext("Due soon"),
        "on_track": gettext("On track"),
    }
    return [
        {
            "state": state,
            "label": label,
            "colour": DEADLINE_COLOURS[state],
            "count": DataSubjectRequest.objects.by_deadline_state(state, today).count(),
            "url": admin_list("dsar_datasubjectrequest", deadline=state),
        }
        for state, label in labels.items()
    ]


def _consent_charts(rates: list[dict]) -> list[dict]:
    charts = []
    for row in rates:
        months = [m["month"][2:].replace("-", ".") for m in row["months"]]
        name = row["purpose"].localized_name or row["purpose"].key
        charts.append(
            {
                "name": name,
                "holding_percent": row["holding_percent"],
                "key": row["purpose"].key,
                "url": admin_list("consent_consentevent", purpose__id__exact=row["purpose"].pk),
                "chart": bar_chart(
                    categories=months,
                    series=[
                        (gettext("granted"), [m["granted"] for m in row["months"]]),
                        (gettext("withdrawn"), [m["withdrawn"] for m in row["months"]]),
                    ],
                    x_label=gettext("month"),
                    y_label=gettext("consents"),
                    title=gettext("Consents to %(purpose)s granted and withdrawn per month") % {"purpose": name},
                ),
            }
        )
    return charts


def _job_runs(now: datetime) -> list[dict]:
    out = []
    for task, runs in latest_runs(limit_per_task=10).items():
        last = runs[0] if runs else None
        failures = sum(1 for run in runs if run.status == "failed")
        out.append(
            {
                "task": task,
                "name": job_name(task),
                "last": last,
                "summary": (summarise(last.result) if last.status == "succeeded" else last.error) if last else "",
                "failures": failures,
                "next_at": next_run_at(task, now),
                "url": admin_list("audit_jobrun", task__exact=task),
                "failures_url": admin_list("audit_jobrun", task__exact=task, status__exact="failed"),
            }
        )
    return out


def build_desk(user, *, now: datetime | None = None) -> Desk:
    now = now or timezone.now()
    today = timezone.localdate(now)
    desk = Desk()
    # SA-08: the 72-hour clocks of open breaches, first, for the officer alone.
    if user.has_perm("incidents.handle_incident"):
        desk.incidents, desk.incidents_shown = open_clocks(now=now), True
    if user.has_perm("dsar.view_datasubjectrequest"):
        desk.requests, desk.requests_shown = _requests(today), True
        desk.request_counts = _request_counts(today)
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
        desk.consent_charts = _consent_charts(desk.consent_rates)
    if user.has_perm("consent.view_refusedorigin"):
        from consent.services import refused_origins

        desk.refused_origins = refused_origins(at=now)
    if user.has_perm("audit.view_jobrun"):
        desk.job_runs, desk.job_runs_shown = _job_runs(now), True
    desk.data_map_shown = user.has_perm("retention.view_retentionrule")
    return desk


def officer_desk(request) -> dict:
    """Context processor: the desk, computed only when a template (the admin index) uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {"officer_desk": SimpleLazyObject(lambda: build_desk(user))}
