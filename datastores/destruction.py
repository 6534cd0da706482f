"""Scheduled destruction in the declared tables: retention's `destroy_expired` asks for it through
the `external_destruction` hook (privacyops/lib/hooks.py), once per rule, inside the rule's lock
and with the rule's frozen cutoff.

Per declared table under the rule, one DestructionRun (the ledger row: counts, never values):

- the due rows are those whose `runs_from` is before the cutoff (NULL: never due);
- rows of a person under a legal hold are kept: the held subjects' identities (normalised email,
  phone, customer keys) are resolved to the remote values first and excluded in the same SQL that
  deletes; a hold on the rule keeps the whole table;
- keyset batches by primary key, each a short transaction on the remote database: select the next
  batch of due keys, delete (or overwrite, for an anonymising rule) those still due, commit;
- a dry run counts and writes nothing remotely (its ledger row says "dry run");
- a lost connection or an unreachable system ends that table's run as failed (batches already
  committed stay destroyed and counted); the other tables and rules carry on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from django.db.models import F
from django.utils import timezone

from retention.models import (
    DestructionMethod,
    DestructionRun,
    HoldScope,
    LegalHold,
    RetentionRule,
    RuleAction,
    RunStatus,
)
from retention.services import RunResult

from .connect import (
    DatastoreError,
    connect,
    identity_condition,
    reflect,
    remote_cutoff,
    safe_error,
    validate_columns,
)
from .models import EraseMode, ExternalTable
from .services import identities_of

logger = logging.getLogger(__name__)


def _already_overwritten(table: sa.Table, replacements: dict):
    conditions = [
        table.c[name].is_(None) if value is None else table.c[name] == value for name, value in replacements.items()
    ]
    return sa.and_(*conditions)


def _destroy_table(
    declared: ExternalTable,
    *,
    rule: RetentionRule,
    cutoff,
    dry_run: bool,
    batch_size: int,
    trigger: str,
    actor,
    held_subject_ids: list[int],
    rule_held: bool,
    heartbeat: Callable[[], None] | None,
) -> RunResult:
    anonymise = rule.action == RuleAction.ANONYMISE
    run = DestructionRun.objects.create(
        rule=rule,
        rule_key=rule.key,
        legal_basis=f"{rule.legal_basis} ({rule.law_article})" if rule.law_article else rule.legal_basis,
        period=rule.period_display(),
        trigger=trigger,
        triggered_by_user=actor,
        status=RunStatus.DRY_RUN if dry_run else RunStatus.RUNNING,
        method=DestructionMethod.ANONYMISE if anonymise else DestructionMethod.DELETE_OVERWRITE,
        cutoff=cutoff,
        batch_size=batch_size,
    )
    label = declared.label
    key = "anonymised" if anonymise else "destroyed"
    counts = {label: {key: 0}}
    result = RunResult(rule.key, run.status, run.pk, cutoff, counts=counts)
    system = declared.system
    try:
        if anonymise and declared.erase_mode != EraseMode.OVERWRITE:
            raise DatastoreError(f"Rule {rule.key} anonymises, but {label} names no columns to overwrite.")
        identities = identities_of(held_subject_ids, system) if held_subject_ids else {}
        with connect(system) as connection:
            table = reflect(connection, declared.table, system_key=system.key)
            validate_columns(declared, table)
            pk = table.primary_key.columns[0]
            runs_from = table.c[declared.runs_from]
            due = runs_from < remote_cutoff(system, runs_from, cutoff)
            if anonymise:
                due = sa.and_(due, sa.not_(_already_overwritten(table, declared.overwrite)))
            held = identity_condition(connection, declared, table, identities) if identities else sa.false()
            if rule_held:
                kept = connection.execute(sa.select(sa.func.count()).where(due)).scalar_one()
                counts[label]["kept"] = int(kept)
                destroyable = None
            else:
                # A NULL identity compares neither true nor false: COALESCE so such rows stay destroyable.
                destroyable = sa.and_(due, sa.not_(sa.func.coalesce(held, sa.false()))) if identities else due
                if identities:
                    kept = connection.execute(sa.select(sa.func.count()).where(sa.and_(due, held))).scalar_one()
                    if kept:
                        counts[label]["kept"] = int(kept)
            connection.commit()
            if destroyable is not None and dry_run:
                counts[label][key] = int(connection.execute(sa.select(sa.func.count()).where(destroyable)).scalar_one())
                connection.commit()
            elif destroyable is not None:
                last = None
                while True:
                    began = time.perf_counter()
                    with connection.begin():
                        keys_query = sa.select(pk).where(destroyable).order_by(pk).limit(batch_size)
                        if last is not None:
                            keys_query = keys_query.where(pk > last)
                        keys = connection.execute(keys_query).scalars().all()
                        if not keys:
                            break
                        # The condition again in the statement: a row that changed since the select stays.
                        target = sa.and_(pk.in_(keys), destroyable)
                        if anonymise:
                            n = connection.execute(sa.update(table).where(target).values(**declared.overwrite)).rowcount
                        else:
                            n = connection.execute(sa.delete(table).where(target)).rowcount
                    last = keys[-1]
                    counts[label][key] += n
                    elapsed_ms = int((time.perf_counter() - began) * 1000)
                    result.batches += 1
                    result.longest_batch_ms = max(result.longest_batch_ms, elapsed_ms)
                    DestructionRun.objects.filter(pk=run.pk).update(counts=counts, batches=F("batches") + 1)
                    if heartbeat is not None:
                        heartbeat()
                    if len(keys) < batch_size:
                        break
        result.status = RunStatus.DRY_RUN if dry_run else RunStatus.SUCCEEDED
        DestructionRun.objects.filter(pk=run.pk).update(
            status=result.status, finished_at=timezone.now(), counts=counts, longest_batch_ms=result.longest_batch_ms
        )
    except (DatastoreError, sa.exc.SQLAlchemyError) as exc:
        result.status = RunStatus.FAILED
        result.error = str(exc) if isinstance(exc, DatastoreError) else safe_error(exc)
        DestructionRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            counts=counts,
            error=result.error,
            longest_batch_ms=result.longest_batch_ms,
        )
        logger.error("destroy_expired rule=%s table=%s run=%s failed: %s", rule.key, label, run.pk, type(exc).__name__)
    result.counts = counts
    logger.info(
        "destroy_expired rule=%s table=%s run=%s status=%s destroyed=%s anonymised=%s batches=%s",
        rule.key,
        label,
        run.pk,
        result.status,
        result.destroyed,
        result.anonymised,
        result.batches,
    )
    return result


def rules_with_tables() -> frozenset[str]:
    """The hook `external_rules`' provider: the rules with a declared table in an active system."""
    return frozenset(ExternalTable.objects.filter(system__active=True).values_list("rule__key", flat=True).distinct())


def destroy_external(
    *, rule, cutoff, dry_run: bool, batch_size: int, trigger: str, actor, heartbeat=None
) -> list[RunResult]:
    """The hook's provider: one run per declared table under `rule` (see the module docstring)."""
    tables = list(
        ExternalTable.objects.filter(rule=rule, system__active=True)
        .select_related("system")
        .order_by("system__key", "table")
    )
    if not tables:
        return []
    holds = LegalHold.objects.active()
    held_subject_ids = list(holds.filter(scope=HoldScope.SUBJECT).values_list("subject_id", flat=True).distinct())
    rule_held = holds.filter(scope=HoldScope.RULE, rule=rule).exists()
    return [
        _destroy_table(
            declared,
            rule=rule,
            cutoff=cutoff,
            dry_run=dry_run,
            batch_size=batch_size,
            trigger=trigger,
            actor=actor,
            held_subject_ids=held_subject_ids,
            rule_held=rule_held,
            heartbeat=heartbeat,
        )
        for declared in tables
    ]
