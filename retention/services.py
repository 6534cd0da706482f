"""Destruction of personal data: the scheduled engine and the erasure of one subject.

Public services (keyword-only; each owns its transactions):

    erase_subject(*, subject_id: int, reference: str, triggered_by: str, actor=None, dry_run=False)
        -> ErasureResult
        Erase one data subject across the registry (DSAR "deletion"). For every registry entry:
        rows a statute keeps after erasure (`entry.kept_after_erasure_q()`) and rows under a legal
        hold are kept and reported (reason "statute" / "legal hold", with the day they become due
        under their rule); the rest are deleted or anonymised per `entry.erase`, children before
        parents, in SQL. The DataSubject row is deleted when nothing refers to it any more, else
        kept with processing_restricted=True. Writes one DestructionRun (trigger "dsar" unless
        `triggered_by` names another Trigger value, the reference, counts per model, method), with
        no personal data. `triggered_by` must be a `Trigger` value ("dsar", "admin", "command").
        `dry_run=True` computes the same result and writes nothing (no ledger row either).

    destroy_expired(*, rule_key=None, dry_run=False, batch_size=None, trigger="command", actor,
                    now=None, on_progress=None) -> list[RunResult]
        For each active rule (or just `rule_key`): freeze the cutoff, then delete or anonymise
        the due rows of every model the rule governs in primary-key range batches, each its own
        short transaction, skipping held rows in the same SQL. One DestructionRun per rule,
        updated after every batch. A rule another run holds is skipped and recorded as skipped.

    due_counts(*, rule, now=None, grace_days=0) -> dict[str, int]
        Rows per model that are due (or, with grace_days, overdue by that many days) and not held.

    place_hold(...), release_hold(...), approve_run(...): the admin's writes.

    rules_with_last_run(): what the officer's desk shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, OperationalError, connection, models, transaction
from django.db.models import F, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

from privacyops.lib import hooks
from privacyops.lib.actors import require_permission, user_or_none
from subjects import partitions
from subjects.models import DataSubject
from subjects.registry import Entry, EraseMethod, Retention, registry

from .graph import (
    batch_delete,
    children_first,
    count_with_children,
    delete_with_children,
    filled,
    raw_delete,
    references_to,
    stand_in_slots,
    unreferenced_q,
)
from .holds import only_held
from .locks import LockLost, rule_lock
from .models import (
    DestructionMethod,
    DestructionRun,
    HoldScope,
    LegalHold,
    RetentionRule,
    RuleAction,
    RunStatus,
    Trigger,
)

logger = logging.getLogger(__name__)


class RetentionError(Exception):
    """A domain rule refused the operation; the message is safe to show."""


RUN_DESTRUCTION_PERMISSION = "retention.run_destruction"
RELEASE_HOLD_PERMISSION = "retention.release_legalhold"
APPROVE_RUN_PERMISSION = "retention.approve_destructionrun"
PLACE_HOLD_PERMISSION = "retention.add_legalhold"


# --- shared conditions ------------------------------------------------------------------------


def _is_date_only(model: type[models.Model], name: str) -> bool:
    field_obj = model._meta.get_field(name)
    return isinstance(field_obj, models.DateField) and not isinstance(field_obj, models.DateTimeField)


def due_q(entry: Entry, retention: Retention, cutoff: datetime, *, by_range: bool = False) -> Q:
    """Rows of `entry` under `retention` whose period started strictly before `cutoff`.
    A NULL start (an open dispute, a still-linked account) never compares true: never due.

    `by_range`: for the batch statements, which also bound the primary key. The timestamp is
    wrapped (COALESCE(ts, ts), same value) so no index on it can be used: otherwise PostgreSQL
    ANDs the primary-key range with a bitmap of *every* expired row's timestamp index entry,
    which makes each batch cost O(expired rows) (measured: 10x slower at 100,000 rows and
    worsening with N). The primary-key range alone bounds the work per batch."""
    value: datetime | date = cutoff
    if _is_date_only(entry.model, retention.runs_from):
        value = timezone.localtime(cutoff).date()
    if by_range:
        q = Q(LessThan(Coalesce(F(retention.runs_from), F(retention.runs_from)), value))
    else:
        q = Q(**{f"{retention.runs_from}__lt": value})
    if retention.scope is not None:
        q &= retention.scope
    if entry.subject_path == "":
        # A person's profile is due only once no record of theirs is left (lead decision).
        q &= unreferenced_q(entry.model)
    return q


def anonymised_q(replacements: dict) -> Q:
    """Rows already carrying every replacement value, so a second run does not count them again."""
    q = Q()
    for name, value in replacements.items():
        q &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    return q


# --- erase_subject (DSAR) ---------------------------------------------------------------------

STATUTE = "statute"
LEGAL_HOLD = "legal hold"
REFERENCED = "referenced by kept records"


@dataclass(frozen=True)
class KeptRows:
    reason: str  # STATUTE, LEGAL_HOLD or REFERENCED
    rule: str
    count: int
    # The day the last of these rows becomes due under its rule; None when some have no start
    # yet (an open dispute) or the rule is unknown.
    due_on: date | None


@dataclass
class ModelErasure:
    model: str  # "subjects.VisitLog"
    verbose_name: str
    erased: int = 0
    anonymised: int = 0
    kept: list[KeptRows] = field(default_factory=list)

    @property
    def kept_count(self) -> int:
        return sum(k.count for k in self.kept)


@dataclass
class ErasureResult:
    subject_id: int
    reference: str
    dry_run: bool
    run_id: int | None = None
    models: list[ModelErasure] = field(default_factory=list)
    subject_deleted: bool = False
    subject_restricted: bool = False

    def for_model(self, model: type[models.Model] | str) -> ModelErasure:
        label = model if isinstance(model, str) else model._meta.label
        return next(m for m in self.models if m.model == label)

    @property
    def erased(self) -> int:
        return sum(m.erased for m in self.models)

    @property
    def anonymised(self) -> int:
        return sum(m.anonymised for m in self.models)

    @property
    def kept(self) -> int:
        return sum(m.kept_count for m in self.models)


def _due_on(rules: dict[str, RetentionRule], entry: Entry, retention: Retention, rows: models.QuerySet) -> date | None:
    rule = rules.get(retention.rule)
    if rule is None:
        return None
    agg = rows.aggregate(
        latest=Max(retention.runs_from),
        open=models.Count("pk", filter=Q(**{f"{retention.runs_from}__isnull": True})),
    )
    if agg["open"]:
        return None
    return rule.due_on(agg["latest"])


def _kept_groups(rules: dict[str, RetentionRule], entry: Entry, rows: models.QuerySet, reason: str) -> list[KeptRows]:
    groups = []
    for retention in entry.retention:
        if reason == STATUTE and not retention.kept_after_erasure:
            continue
        scoped = rows.filter(retention.scope) if retention.scope is not None else rows
        count = scoped.count()
        if count:
            groups.append(KeptRows(reason, retention.rule, count, _due_on(rules, entry, retention, scoped)))
    return groups


def _subject_field_cleared(entry: Entry) -> bool:
    """Does this entry's anonymisation cut the row loose from the subject?"""
    first_hop = (entry.subject_path or "").split("__")[0]
    return (
        entry.erase.method == EraseMethod.ANONYMISE
        and first_hop in entry.erase.replacements
        and (entry.erase.replacements[first_hop] is None)
    )


def erase_subject(
    *, subject_id: int, reference: str, triggered_by: str, actor=None, dry_run: bool = False
) -> ErasureResult:
    if triggered_by not in Trigger.values:
        raise RetentionError(f"triggered_by must be one of {', '.join(Trigger.values)}.")
    started = timezone.now()
    rules = {rule.key: rule for rule in RetentionRule.objects.all()}
    result = ErasureResult(subject_id=subject_id, reference=reference, dry_run=dry_run)
    subject_entry = registry.entry(DataSubject)
    still_refers = False

    with transaction.atomic():
        # Serialises two erasures of one person (and an erasure against the profile purge).
        if not DataSubject.objects.select_for_update().filter(pk=subject_id).exists():
            raise RetentionError("No data subject with this id.")
        linked = [e for e in registry.entries() if e is not subject_entry and e.linked_to_subject]
        for entry in children_first(linked):
            outcome = ModelErasure(entry.label, entry.verbose_name)
            result.models.append(outcome)
            rows = entry.rows_of(subject_id)
            kept_q = entry.kept_after_erasure_q()
            if kept_q is not None:
                outcome.kept += _kept_groups(rules, entry, rows.filter(kept_q), STATUTE)
                candidates = rows.none() if not kept_q else rows.exclude(kept_q)
            else:
                candidates = rows
            outcome.kept += _kept_groups(rules, entry, only_held(candidates), LEGAL_HOLD)
            free = registry.destroyable(candidates)
            if entry.erase.method == EraseMethod.DELETE:
                # Registered children were handled as their own entries (children first); a parent
                # a kept child still points at stays, and says why.
                deletable = free.filter(unreferenced_q(entry.model, cascading=not dry_run))
                referenced = free.count() - deletable.count()
                if referenced:
                    outcome.kept.append(KeptRows(REFERENCED, entry.retention[0].rule, referenced, None))
                outcome.erased = deletable.count() if dry_run else raw_delete(deletable)
            else:
                replacements = entry.erase.replacements
                todo = free.exclude(anonymised_q(replacements))
                outcome.anonymised = todo.count() if dry_run else todo.update(**replacements)
                if not _subject_field_cleared(entry) and free.exists():
                    still_refers = True
            if outcome.kept_count:
                still_refers = True

        subject_rows = DataSubject.objects.filter(pk=subject_id)
        outcome = ModelErasure(subject_entry.label, subject_entry.verbose_name)
        result.models.append(outcome)
        if only_held(subject_rows).exists():
            outcome.kept.append(KeptRows(LEGAL_HOLD, subject_entry.retention[0].rule, 1, None))
        elif dry_run:
            result.subject_deleted = not still_refers
        else:
            result.subject_deleted = bool(
                raw_delete(registry.destroyable(subject_rows).filter(unreferenced_q(DataSubject)))
            )
        if result.subject_deleted:
            outcome.erased = 1
        else:
            result.subject_restricted = True
            if not outcome.kept:
                outcome.kept.append(KeptRows(REFERENCED, subject_entry.retention[0].rule, 1, None))
            if not dry_run:
                subject_rows.update(processing_restricted=True, updated_at=timezone.now())

        if not dry_run:
            counts = {
                m.model: {"erased": m.erased, "anonymised": m.anonymised, "kept": m.kept_count} for m in result.models
            }
            run = DestructionRun.objects.create(
                trigger=triggered_by,
                triggered_by_user=actor,
                reference=reference,
                status=RunStatus.SUCCEEDED,
                method=DestructionMethod.DELETE_OVERWRITE
                if result.erased or not result.anonymised
                else DestructionMethod.ANONYMISE,
                started_at=started,
                finished_at=timezone.now(),
                counts=counts,
            )
            result.run_id = run.pk
    logger.info(
        "erase_subject subject=%s run=%s erased=%s anonymised=%s kept=%s dry_run=%s",
        subject_id,
        result.run_id,
        result.erased,
        result.anonymised,
        result.kept,
        dry_run,
    )
    return result


# --- the destruction engine ----------------------------------------------------------------


@dataclass
class RunResult:
    rule: str
    status: str
    run_id: int | None
    cutoff: datetime | None
    counts: dict[str, dict] = field(default_factory=dict)
    batches: int = 0
    longest_batch_ms: int = 0
    error: str = ""

    @property
    def destroyed(self) -> int:
        return sum(c.get("destroyed", 0) for c in self.counts.values())

    @property
    def anonymised(self) -> int:
        return sum(c.get("anonymised", 0) for c in self.counts.values())


# on_progress(run, model_label, done, total): called after every batch (done/total in pk span).
ProgressCallback = Callable[[DestructionRun, str, int, int], None]


@dataclass
class _Plan:
    entry: Entry
    retention: Retention
    queryset: models.QuerySet  # due and not held (the guard is part of the query)
    batch_queryset: models.QuerySet  # the same, for statements bounded by a primary-key range
    lo: int | None = None
    hi: int | None = None

    @property
    def span(self) -> int:
        return 0 if self.lo is None else self.hi - self.lo + 1


def _safe_error(exc: BaseException) -> str:
    # Database errors may carry a "DETAIL: Failing row contains (...)" line with personal data:
    # keep the class and the first line only.
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:500]


def _plans(rule: RetentionRule, cutoff: datetime) -> list[_Plan]:
    plans = []
    for entry, retention in registry.bindings_for_rule(rule.key):
        q, batch_q = due_q(entry, retention, cutoff), due_q(entry, retention, cutoff, by_range=True)
        if rule.action == RuleAction.ANONYMISE:
            if entry.erase.method != EraseMethod.ANONYMISE:
                raise RetentionError(
                    f"Rule {rule.key} anonymises, but {entry.label} names no fields to anonymise in the registry."
                )
            q &= ~anonymised_q(entry.erase.replacements)
            batch_q &= ~anonymised_q(entry.erase.replacements)
        manager = entry.model._default_manager
        plans.append(
            _Plan(
                entry,
                retention,
                registry.destroyable(manager.filter(q)),
                registry.destroyable(manager.filter(batch_q)),
            )
        )
    return plans


def _id_bounds(due: models.QuerySet) -> tuple[int | None, int | None]:
    """Lowest and highest primary key among the due rows, read once, without the hold
    subqueries (a wider range only costs an empty batch).

    On PostgreSQL the due rows are read through the timestamp index behind an OFFSET 0 fence:
    left to itself the planner answers MAX(id) by walking the primary key backwards through
    every row that is *not* due, which in the steady state (a day's rows due out of three
    months) reads the whole table every day. Through the fence the cost is the due rows only."""
    if connection.vendor != "postgresql":
        bounds = due.aggregate(lo=Min("pk"), hi=Max("pk"))
        return bounds["lo"], bounds["hi"]
    inner, params = due.values_list("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(due.id), MAX(due.id) FROM ({inner} OFFSET 0) AS due(id)", params)  # noqa: S608
        lo, hi = cursor.fetchone()
    return lo, hi


def due_counts(*, rule: RetentionRule, now: datetime | None = None, grace_days: int = 0) -> dict[str, int]:
    """Rows per model (label) that are due under `rule` and not held; with `grace_days`, only those
    due for longer than that (RD-01: destroyed within 5 days of becoming due)."""
    cutoff = rule.cutoff(now) - timedelta(days=grace_days)
    return {plan.entry.label: plan.queryset.count() for plan in _plans(rule, cutoff)}


def _record_skip(rule: RetentionRule, trigger: str, actor) -> RunResult:
    run = DestructionRun.objects.create(
        rule=rule,
        rule_key=rule.key,
        legal_basis=rule.legal_basis,
        period=rule.period_display(),
        trigger=trigger,
        triggered_by_user=actor,
        status=RunStatus.SKIPPED,
        method=_method(rule),
        finished_at=timezone.now(),
        error="Another run of this rule was in progress.",
    )
    logger.warning("destroy_expired rule=%s skipped: another run holds the lock (run=%s)", rule.key, run.pk)
    return RunResult(rule.key, RunStatus.SKIPPED, run.pk, None, error=run.error)


@contextmanager
def _batch_session() -> Iterator[None]:
    """PostgreSQL session settings for the batches, reset when the run ends.

    - jit off: the planner's cost estimate for the batch statements (hold subqueries, the wrapped
      timestamp) crosses jit_above_cost, and compiling costs ~50 ms, more than a batch.
    - synchronous_commit off: a batch's commit does not wait for its WAL flush (one fsync per
      batch was a third of the batch time). A crash can undo the last fraction of a second of
      batches: their rows come back *together with* their counts in the register (same
      transaction), and the next run destroys them again. Nothing is ever half-recorded.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off; SET synchronous_commit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit; RESET synchronous_commit")


def _walk(
    plans: list[_Plan],
    rule: RetentionRule,
    run: DestructionRun,
    lock,
    counts: dict[str, dict],
    result: RunResult,
    batch_size: int,
    on_progress: ProgressCallback | None,
) -> None:
    """Delete (or anonymise) every plan's due rows in primary-key range batches, one short
    transaction each; the run's counts and progress are written in the same transaction."""
    total, done = run.progress_total, 0
    anonymise = rule.action == RuleAction.ANONYMISE
    for plan in plans:
        label = plan.entry.label
        counts.setdefault(label, {"anonymised" if anonymise else "destroyed": 0})
        if plan.lo is None:
            continue
        start = plan.lo
        delete_range = None if anonymise else batch_delete(plan.batch_queryset)
        while start <= plan.hi:
            stop = min(start + batch_size, plan.hi + 1)
            began = time.perf_counter()
            with transaction.atomic():
                if delete_range is not None:
                    _add(counts, label, "destroyed", delete_range(start, stop))
                else:
                    batch = plan.batch_queryset.filter(pk__gte=start, pk__lt=stop)
                    if anonymise:
                        _add(counts, label, "anonymised", batch.update(**plan.entry.erase.replacements))
                    else:
                        child_counts: dict[str, int] = {}
                        _add(counts, label, "destroyed", delete_with_children(batch, child_counts))
                        for child, n in child_counts.items():
                            _add(counts, child, "destroyed", n, with_parent=label)
                lock.heartbeat()
                done += stop - start
                DestructionRun.objects.filter(pk=run.pk).update(
                    counts=counts, batches=F("batches") + 1, progress_done=done, progress_total=total
                )
            elapsed_ms = int((time.perf_counter() - began) * 1000)
            result.batches += 1
            result.longest_batch_ms = max(result.longest_batch_ms, elapsed_ms)
            start = stop
            if on_progress is not None:
                run.progress_done = done
                on_progress(run, label, done, total)


def _destroy_rule(
    rule: RetentionRule,
    *,
    dry_run: bool,
    batch_size: int,
    trigger: str,
    actor,
    now: datetime | None,
    on_progress: ProgressCallback | None,
) -> list[RunResult]:
    """The rule's run over our own models, then (same lock, same frozen cutoff) one run per table
    of the company's other databases the data map declares under it (the `external_destruction`
    hook, provided by datastores). A failed table's run fails alone."""
    with rule_lock(rule) as lock:
        if not lock.acquired:
            return [_record_skip(rule, trigger, actor)]
        result = _destroy_rule_locked(
            rule,
            lock,
            dry_run=dry_run,
            batch_size=batch_size,
            trigger=trigger,
            actor=actor,
            now=now,
            on_progress=on_progress,
        )
        if result.cutoff is None:
            return [result]
        external = hooks.external_destruction(
            rule=rule,
            cutoff=result.cutoff,
            dry_run=dry_run,
            batch_size=batch_size,
            trigger=trigger,
            actor=actor,
            heartbeat=lock.heartbeat,
        )
        return [result, *external]


def _destroy_rule_locked(
    rule: RetentionRule,
    lock,
    *,
    dry_run: bool,
    batch_size: int,
    trigger: str,
    actor,
    now: datetime | None,
    on_progress: ProgressCallback | None,
) -> RunResult:
    # We hold the lock, so a run of this rule still marked running was killed mid-way.
    DestructionRun.objects.filter(rule=rule, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, finished_at=timezone.now(), error="Interrupted: the process stopped mid-run."
    )
    # Frozen once: rows that become due while we run wait for the next run.
    cutoff = rule.cutoff(now)
    run = _new_run(
        rule,
        trigger=trigger,
        actor=actor,
        status=RunStatus.DRY_RUN if dry_run else RunStatus.RUNNING,
        cutoff=cutoff,
        batch_size=batch_size,
    )
    run.save()
    result = RunResult(rule.key, run.status, run.pk, cutoff)
    counts: dict[str, dict] = {}
    try:
        plans = _plans(rule, cutoff)
        if dry_run:
            for plan in plans:
                child_counts: dict[str, int] = {}
                if rule.action == RuleAction.ANONYMISE:
                    n = plan.queryset.count()
                else:
                    n = count_with_children(plan.queryset, child_counts)
                _add(counts, plan.entry.label, _verb(rule), n)
                for label, c in child_counts.items():
                    _add(counts, label, "destroyed", c, with_parent=plan.entry.label)
            DestructionRun.objects.filter(pk=run.pk).update(counts=counts, finished_at=timezone.now())
            result.counts = counts
            return result

        # One session for the drops, the bounds and the batches: the progress total's commit does
        # not wait for its WAL flush either (it is only progress; the counts are the batches').
        with _batch_session():
            for plan in plans:
                _drop_due_partitions(plan, rule, run, lock, counts, result, cutoff)
            for plan in plans:
                plan.lo, plan.hi = _id_bounds(
                    plan.entry.model._default_manager.filter(due_q(plan.entry, plan.retention, cutoff))
                )
            # The total is written with the first batch's counts (one statement and commit fewer).
            total = run.progress_total = sum(plan.span for plan in plans)
            _walk(plans, rule, run, lock, counts, result, batch_size, on_progress)
        any_hold = LegalHold.objects.active().exists()
        for plan in plans:
            # What was due and is still there: held, or still referenced (RD-06 evidence).
            # Only counted when something can keep a row: the count re-reads the whole due
            # range, which would cost as much as a tenth of the purge itself.
            if plan.lo is None or not (any_hold or references_to(plan.entry.model)):
                continue
            kept = plan.entry.model._default_manager.filter(
                due_q(plan.entry, plan.retention, cutoff), pk__gte=plan.lo, pk__lte=plan.hi
            )
            if rule.action == RuleAction.ANONYMISE:
                kept = kept.exclude(anonymised_q(plan.entry.erase.replacements))
            n_kept = kept.count()
            if n_kept:
                _add(counts, plan.entry.label, "kept", n_kept)
        DestructionRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED,
            finished_at=timezone.now(),
            counts=counts,
            longest_batch_ms=result.longest_batch_ms,
            progress_done=total,
        )
        result.status = RunStatus.SUCCEEDED
    except BaseException as exc:
        # Batches already committed stay destroyed and counted; the next run finishes the job.
        result.status = RunStatus.FAILED
        result.error = _safe_error(exc)
        DestructionRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=result.error,
            longest_batch_ms=result.longest_batch_ms,
        )
        logger.error("destroy_expired rule=%s run=%s failed: %s", rule.key, run.pk, type(exc).__name__)
        if not isinstance(exc, DatabaseError | LockLost | RetentionError):
            raise
    result.counts = counts
    logger.info(
        "destroy_expired rule=%s run=%s status=%s destroyed=%s anonymised=%s batches=%s longest_ms=%s",
        rule.key,
        run.pk,
        result.status,
        result.destroyed,
        result.anonymised,
        result.batches,
        result.longest_batch_ms,
    )
    return result


def _drop_due_partitions(
    plan: _Plan,
    rule: RetentionRule,
    run: DestructionRun,
    lock,
    counts: dict[str, dict],
    result: RunResult,
    cutoff: datetime,
) -> None:
    """On PostgreSQL, where the visit log is partitioned by month (subjects.partitions): drop every
    month partition whose upper bound is at or before the frozen cutoff (so every row in it is
    due) and none of whose rows a guard keeps, recorded like a batch (its row count added to
    "destroyed", "partitions_dropped" and "dropped_months" in the run's counts; month bounds only,
    no personal data). A month with a held row is left to the batch path, which works across
    partitions.

    The due months are detached together in one short transaction, under an ACCESS EXCLUSIVE
    lock on the visit log, after asking again whether any of their rows is kept; the lock is not
    waited for longer than RETENTION_PARTITION_LOCK_TIMEOUT_MS (months whose lock a long reader
    keeps are left to the batches of the same run). Then the detached months in one transaction:
    their exact counts (no one writes to them any more) and their DROP with the register's
    update; the removal of their files at that commit, the slow part, no longer holds the visit log.
    A month detached by a run that stopped in between is dropped and recorded by the next run.
    "Is any row kept?" is asked from the holds' side (`registry.protects_any`: one index probe per
    active hold), first without the lock, so that a held month never takes it, and of all the due
    months at once: only when the answer is yes is each month asked, to find the ones that are
    clear."""
    entry, retention = plan.entry, plan.retention
    if (
        rule.action != RuleAction.DELETE
        or entry.model._meta.db_table != partitions.PARENT
        or retention.runs_from != "visited_at"
        or retention.scope is not None
        or references_to(entry.model)
        or not partitions.is_partitioned()
    ):
        return
    stranded = [part for part in partitions.detached_months() if part.upper <= cutoff]
    if stranded:
        _drop_detached(stranded, entry.label, rule, run, lock, counts, result, time.perf_counter())
    manager = entry.model._default_manager
    clear = _months_clear(manager, [part for part in partitions.visit_partitions() if part.upper <= cutoff])
    if not clear:
        return
    began = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{settings.RETENTION_PARTITION_LOCK_TIMEOUT_MS}ms"])
            cursor.execute(f"LOCK TABLE {partitions.PARENT} IN ACCESS EXCLUSIVE MODE")
            clear = _months_clear(manager, clear)  # a hold placed since the first look
            for part in clear:
                cursor.execute(f"ALTER TABLE {partitions.PARENT} DETACH PARTITION {part.name}")
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        logger.warning(
            "destroy_expired rule=%s run=%s partitions %s: lock not had in time, left to the batches",
            rule.key,
            run.pk,
            ", ".join(part.name for part in clear),
        )
        return
    _drop_detached(clear, entry.label, rule, run, lock, counts, result, began)


def _months_clear(manager: models.Manager, months: list[partitions.Partition]) -> list[partitions.Partition]:
    """The months none of whose rows a guard keeps: asked once of the span from the first to the
    last (the usual answer, no), and month by month only when something in the span is kept."""
    if not months:
        return []

    def rows(lower: datetime, upper: datetime) -> models.QuerySet:
        return manager.filter(visited_at__gte=lower, visited_at__lt=upper)

    if not registry.protects_any(rows(months[0].lower, months[-1].upper)):
        return months
    if len(months) == 1:
        return []
    return [part for part in months if not registry.protects_any(rows(part.lower, part.upper))]


def _drop_detached(
    months: list[partitions.Partition],
    label: str,
    rule: RetentionRule,
    run: DestructionRun,
    lock,
    counts: dict[str, dict],
    result: RunResult,
    began: float,
) -> None:
    """Count and drop detached month tables in one transaction, recorded as one batch: one
    question counts them all, one DROP removes them (one commit, one pass over the shared buffers
    for all their files); if it fails, nothing is dropped and they stay detached for the next run."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction (rows written earlier in
        # it, as a caller's own transaction may have) would make PostgreSQL refuse the DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            " UNION ALL ".join(f"SELECT {i}, COUNT(*) FROM {part.name}" for i, part in enumerate(months))  # noqa: S608 (our own partition names)
        )
        rows = dict(cursor.fetchall())
        cursor.execute(f"DROP TABLE {', '.join(part.name for part in months)}")
        _add(counts, label, "destroyed", sum(rows.values()))
        _add(counts, label, "partitions_dropped", len(months))
        dropped = [counts[label]["dropped_months"]] if counts[label].get("dropped_months") else []
        counts[label]["dropped_months"] = ", ".join(dropped + [f"{part.lower:%Y-%m}" for part in months])
        lock.heartbeat()
        DestructionRun.objects.filter(pk=run.pk).update(counts=counts, batches=F("batches") + 1)
    elapsed_ms = int((time.perf_counter() - began) * 1000)
    result.batches += 1
    result.longest_batch_ms = max(result.longest_batch_ms, elapsed_ms)
    for i, part in enumerate(months):
        logger.info(
            "destroy_expired rule=%s run=%s dropped partition %s [%s, %s) rows=%s",
            rule.key,
            run.pk,
            part.name,
            part.lower.isoformat(),
            part.upper.isoformat(),
            rows[i],
        )
    logger.info("destroy_expired rule=%s run=%s dropped %s partitions ms=%s", rule.key, run.pk, len(months), elapsed_ms)


def _add(counts: dict[str, dict], label: str, key: str, n: int, with_parent: str | None = None) -> None:
    entry = counts.setdefault(label, {})
    entry[key] = entry.get(key, 0) + n
    if with_parent:
        entry["with_parent"] = with_parent


def destroy_expired(
    *,
    rule_key: str | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    trigger: str = Trigger.COMMAND,
    actor,
    now: datetime | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[RunResult]:
    """Destroy what has expired under every active rule (or one). See the module docstring.

    `actor` is the user who asked (a real run needs retention.run_destruction) or SYSTEM for
    beat and the command; a dry run needs no permission (it deletes nothing)."""
    if not dry_run:
        require_permission(actor, RUN_DESTRUCTION_PERMISSION, error=RetentionError)
    batch_size = batch_size or settings.RETENTION_BATCH_ROWS
    if batch_size < 1:
        raise RetentionError("The batch size must be at least 1.")
    rules = list(RetentionRule.objects.active())
    if rule_key is not None:
        rules = [rule for rule in rules if rule.key == rule_key]
        if not rules:
            raise RetentionError(f"No active retention rule with the key {rule_key!r}.")
    actor = user_or_none(actor)
    idle = {} if dry_run else _record_nothing_due(rules, trigger=trigger, actor=actor, batch_size=batch_size, now=now)
    return [
        result
        for rule in rules
        for result in (
            [idle[rule.pk]]
            if rule.pk in idle
            else _destroy_rule(
                rule,
                dry_run=dry_run,
                batch_size=batch_size,
                trigger=trigger,
                actor=actor,
                now=now,
                on_progress=on_progress,
            )
        )
    ]


def _record_nothing_due(
    rules: list[RetentionRule], *, trigger: str, actor, batch_size: int, now: datetime | None
) -> dict[int, RunResult]:
    """The rules with nothing due, each recorded in the register as a run that destroyed nothing,
    all in one query and one INSERT.

    Most rules have nothing due on most days, and the full path costs each of them a lock, four
    writes and four commits (measured: 1.4 s for 15 idle rules on a busy 2-core machine, more than
    destroying 200,000 rows). One statement asks every rule at once whether any row is due (held
    rows count as due: the full path reports them as kept) or a run of it is still marked running
    (the full path marks a killed run as interrupted under the lock); those go the full path. The
    others get the same register row a full run that found nothing would leave (status succeeded,
    cutoff, counts 0 per model), so the register still proves that every rule ran every day. No
    lock is taken: a run of the same rule under way elsewhere has nothing left to destroy either."""
    checks: list[tuple[RetentionRule, datetime, int]] = []
    parts: list[str] = []
    params: list = []
    external = hooks.external_rules()
    runs_table, rule_column = DestructionRun._meta.db_table, DestructionRun._meta.get_field("rule").column
    running_sql = f"SELECT 1 FROM {runs_table} WHERE {rule_column} = %s AND status = %s"  # noqa: S608
    for rule in rules:
        if rule.key in external:
            continue  # tables of other databases under it: only their own run can tell what is due
        bindings = registry.bindings_for_rule(rule.key)
        if rule.action == RuleAction.ANONYMISE and any(e.erase.method != EraseMethod.ANONYMISE for e, _ in bindings):
            continue  # misconfigured: the full path fails it with the reason
        cutoff = rule.cutoff(now)
        # Written by hand (the same for every rule): compiling it through the ORM for every rule
        # was a fifth of what a run with rows due spends besides its DELETEs.
        questions = [(running_sql, [rule.pk, RunStatus.RUNNING])]
        questions += [_due_question(rule, entry, retention, cutoff) for entry, retention in bindings]
        if connection.vendor == "postgresql" and any(e.model._meta.db_table == partitions.PARENT for e, _ in bindings):
            # A month a stopped run detached but did not drop: the full path drops it.
            questions.append((partitions.DETACHED_MONTHS_SQL, partitions.DETACHED_MONTHS_PARAMS))
        for sql, sql_params in questions:
            parts.append(f"EXISTS({sql})")
            params.extend(sql_params)
        checks.append((rule, cutoff, len(questions)))
    if not parts:
        return {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(parts)}", params)  # noqa: S608 (our own compiled SQL)
            answers = iter(cursor.fetchone())
    except DatabaseError as exc:
        # The full path records a failure per rule; this shortcut must never hide one.
        logger.warning("destroy_expired: the nothing-due check failed (%s); all rules run in full", type(exc).__name__)
        return {}
    idle = [(rule, cutoff) for rule, cutoff, n in checks if not any([next(answers) for _ in range(n)])]
    if not idle:
        return {}
    finished = timezone.now()
    runs = DestructionRun.objects.bulk_create(
        [
            _new_run(
                rule,
                trigger=trigger,
                actor=actor,
                status=RunStatus.SUCCEEDED,
                cutoff=cutoff,
                batch_size=batch_size,
                started_at=finished,
                finished_at=finished,
                counts={entry.label: {_verb(rule): 0} for entry, _ in registry.bindings_for_rule(rule.key)},
            )
            for rule, cutoff in idle
        ]
    )
    results = {}
    for (rule, cutoff), run in zip(idle, runs, strict=True):
        results[rule.pk] = RunResult(rule.key, RunStatus.SUCCEEDED, run.pk, cutoff, counts=run.counts)
        logger.info("destroy_expired rule=%s run=%s status=succeeded destroyed=0 (nothing due)", rule.key, run.pk)
    return results


# A cutoff no rule ever has: the questions are compiled with it, then asked with the real one.
_CUTOFF_STAND_IN = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
_questions: dict[tuple, tuple[Entry, Retention, str, tuple, dict[int, object]]] = {}


def _due_question(rule: RetentionRule, entry: Entry, retention: Retention, cutoff: datetime) -> tuple[str, list]:
    """`SELECT pk ... WHERE <due to act under rule> LIMIT 1` with `cutoff`, compiled through the
    ORM once per process and shape (database, the rule's action, the binding) and asked with each
    run's cutoff: compiling a run's 22 questions cost 15-35 ms of CPU, more than PostgreSQL
    spends planning and answering them (docs/BENCHMARKS.md). Nothing else in a question changes
    between runs: the registry's scopes and the model graph are code."""
    # The cutoff as the database layer passes it: the datetime, or the local day (a date field,
    # due_q), each through the backend's adapter (unchanged, or text on SQLite).
    ops = connection.ops
    forms = {
        ops.adapt_datetimefield_value(_CUTOFF_STAND_IN): ops.adapt_datetimefield_value,
        _local_day(_CUTOFF_STAND_IN): _local_day,
    }
    key = (connection.alias, rule.action, id(entry), id(retention))
    cached = _questions.get(key)
    if cached is None or cached[0] is not entry or cached[1] is not retention:
        sql, params = _compile_question(rule, entry, retention, _CUTOFF_STAND_IN)
        slots = stand_in_slots(params, forms)
        if not slots:  # the cutoff is not where this expects it: never ask with the stand-in
            return _compile_question(rule, entry, retention, cutoff)
        cached = _questions[key] = (entry, retention, sql, params, slots)
    _, _, sql, params, slots = cached
    return sql, filled(params, slots, {form: to_param(cutoff) for form, to_param in forms.items()})


def _local_day(cutoff: datetime):
    return connection.ops.adapt_datefield_value(timezone.localtime(cutoff).date())


def _compile_question(rule: RetentionRule, entry: Entry, retention: Retention, cutoff: datetime) -> tuple[str, tuple]:
    manager = entry.model._default_manager
    return manager.filter(_due_to_act_q(rule, entry, retention, cutoff)).values("pk")[:1].query.sql_with_params()


def _due_to_act_q(rule: RetentionRule, entry: Entry, retention: Retention, cutoff: datetime) -> Q:
    q = due_q(entry, retention, cutoff)
    if rule.action == RuleAction.ANONYMISE:
        q &= ~anonymised_q(entry.erase.replacements)
    return q


def _legal_basis(rule: RetentionRule) -> str:
    return f"{rule.legal_basis} ({rule.law_article})" if rule.law_article else rule.legal_basis


def _method(rule: RetentionRule) -> str:
    return DestructionMethod.ANONYMISE if rule.action == RuleAction.ANONYMISE else DestructionMethod.DELETE_OVERWRITE


def _new_run(rule: RetentionRule, *, trigger: str, actor, status: str, **fields) -> DestructionRun:
    """A register row of a run of `rule` (unsaved): what every run records of the rule itself."""
    return DestructionRun(
        rule=rule,
        rule_key=rule.key,
        legal_basis=_legal_basis(rule),
        period=rule.period_display(),
        trigger=trigger,
        triggered_by_user=actor,
        status=status,
        method=_method(rule),
        **fields,
    )


def _verb(rule: RetentionRule) -> str:
    return "anonymised" if rule.action == RuleAction.ANONYMISE else "destroyed"


# --- holds and approvals (admin writes) -------------------------------------------------------


def place_hold(
    *,
    placed_by,
    reason: str,
    subject_id: int | None = None,
    record: models.Model | None = None,
    rule: RetentionRule | None = None,
    reference: str = "",
    expires_at: datetime | None = None,
) -> LegalHold:
    require_permission(placed_by, PLACE_HOLD_PERMISSION, error=RetentionError)
    targets = [t for t in (subject_id, record, rule) if t is not None]
    if len(targets) != 1:
        raise RetentionError("A hold protects exactly one thing: a subject, a record or a rule.")
    if not reason.strip():
        raise RetentionError("Give the reason for the hold.")
    if expires_at is not None and expires_at <= timezone.now():
        raise RetentionError("The expiry must be in the future.")
    hold = LegalHold(
        placed_by=user_or_none(placed_by), reason=reason.strip(), reference=reference, expires_at=expires_at
    )
    if subject_id is not None:
        if not DataSubject.objects.filter(pk=subject_id).exists():
            raise RetentionError("No data subject with this id.")
        hold.scope, hold.subject_id = HoldScope.SUBJECT, subject_id
    elif record is not None:
        hold.scope = HoldScope.RECORD
        hold.content_type = ContentType.objects.get_for_model(record, for_concrete_model=True)
        hold.object_id = record.pk
    else:
        hold.scope, hold.rule = HoldScope.RULE, rule
    hold.save()
    logger.info("legal hold %s placed (scope=%s) by user %s", hold.pk, hold.scope, placed_by.pk or "system")
    return hold


def release_hold(*, hold_id: int, released_by, note: str = "") -> LegalHold:
    """Officer-only: once released, the held rows become destroyable by the next run."""
    require_permission(released_by, RELEASE_HOLD_PERMISSION, error=RetentionError)
    # Four eyes: only after a second person approved (retention.approvals.decide_hold_release).
    from .approvals import require_approved_release

    require_approved_release(hold_id=hold_id, released_by=released_by)
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
        if hold is None:
            raise RetentionError("No legal hold with this id.")
        if hold.released_at is not None:
            raise RetentionError("This hold was already released.")
        hold.released_at = timezone.now()
        hold.released_by = user_or_none(released_by)
        hold.release_note = note
        hold.save(update_fields=["released_at", "released_by", "release_note"])
    logger.info("legal hold %s released by user %s", hold.pk, released_by.pk or "system")
    return hold


def approve_run(*, run_id: int, approver) -> DestructionRun:
    """The privacy officer's sign-off on a finished run (RD-06: approver)."""
    require_permission(
        approver,
        APPROVE_RUN_PERMISSION,
        error=RetentionError,
        message="Only the privacy officer may approve destruction runs.",
    )
    with transaction.atomic():
        run = DestructionRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise RetentionError("No destruction run with this id.")
        if run.status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            raise RetentionError("Only a finished run (succeeded or failed) can be approved.")
        if run.approved_at is not None:
            raise RetentionError("This run was already approved.")
        run.approved_by, run.approved_at = approver, timezone.now()
        run.save(update_fields=["approved_by", "approved_at"])
    return run


def rules_with_last_run() -> list[tuple[RetentionRule, DestructionRun | None]]:
    """Each active rule with its latest real (not dry) run, in two queries whatever their number."""
    latest = (
        DestructionRun.objects.filter(rule=OuterRef("pk"))
        .exclude(status=RunStatus.DRY_RUN)
        .order_by("-started_at")
        .values("pk")[:1]
    )
    rules = list(RetentionRule.objects.filter(active=True).annotate(last_run_id=Subquery(latest)).order_by("key"))
    runs = DestructionRun.objects.in_bulk([rule.last_run_id for rule in rules if rule.last_run_id])
    return [(rule, runs.get(rule.last_run_id)) for rule in rules]


# --- data collected on a consent ----------------------------------------------------------

OTHER_BASIS = "other basis"


def erase_consent_data(
    *,
    subject_id: int,
    purposes: list[str] | tuple[str, ...] | set[str],
    reference: str,
    actor=None,
    keep: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ErasureResult:
    """Destroy the person's rows collected solely on these consents (registry `collected_on_consent`),
    once the consents are withdrawn or the purposes suspended (PIPA art. 37(1), (4); DSAR-06/07).

    `keep` maps a model label to the art. 37(2) ground staff recorded for keeping it: those rows
    stay and say why. Rows under a legal hold stay too. One ledger row (trigger "dsar") under the
    request's reference; `dry_run` only counts, for the staff page."""
    keep = keep or {}
    started = timezone.now()
    rules = {rule.key: rule for rule in RetentionRule.objects.all()}
    result = ErasureResult(subject_id=subject_id, reference=reference, dry_run=dry_run)
    with transaction.atomic():
        for entry in children_first(registry.entries()):
            scope = entry.consent_only_q(purposes)
            if scope is None:
                continue
            outcome = ModelErasure(entry.label, entry.verbose_name)
            result.models.append(outcome)
            rows = entry.rows_of(subject_id).filter(scope)
            if entry.label in keep:
                outcome.kept += _kept_groups(rules, entry, rows, OTHER_BASIS)
                continue
            outcome.kept += _kept_groups(rules, entry, only_held(rows), LEGAL_HOLD)
            free = registry.destroyable(rows)
            if entry.erase.method == EraseMethod.DELETE:
                deletable = free.filter(unreferenced_q(entry.model, cascading=not dry_run))
                outcome.erased = deletable.count() if dry_run else raw_delete(deletable)
            else:
                todo = free.exclude(anonymised_q(entry.erase.replacements))
                outcome.anonymised = todo.count() if dry_run else todo.update(**entry.erase.replacements)
        if not dry_run and result.models:
            run = DestructionRun.objects.create(
                trigger=Trigger.DSAR,
                triggered_by_user=user_or_none(actor),
                reference=reference,
                status=RunStatus.SUCCEEDED,
                method=DestructionMethod.DELETE_OVERWRITE,
                started_at=started,
                finished_at=timezone.now(),
                counts={
                    m.model: {"erased": m.erased, "anonymised": m.anonymised, "kept": m.kept_count}
                    for m in result.models
                },
            )
            result.run_id = run.pk
    logger.info(
        "erase_consent_data subject=%s run=%s erased=%s kept=%s dry_run=%s",
        subject_id,
        result.run_id,
        result.erased,
        result.kept,
        dry_run,
    )
    return result
