"""A person's rows in the declared tables: the access package's sections and the erasure.

    subject_sections(*, subject_id) -> list[ExternalSection]
        Every declared table's rows of this person (export columns only, labelled), found by
        their normalised email, phone or customer key. A system that cannot be reached raises
        DatastoreDown: a package that silently lacks a system would be a wrong answer.

    erase_external(*, subject_id, reference, actor=None) -> list[TableErasure]
        Delete or overwrite the person's rows in every declared table, each table in its own short
        transaction on its database. Rows kept: the table is kept after erasure by statute, or a
        legal hold covers the person or the table's rule. Every system is reached before anything
        is erased (DatastoreDown: nothing erased anywhere). One DestructionRun (trigger "dsar")
        under the reference records counts per table, no personal data; a system lost after some
        tables were erased leaves a failed run with those tables' counts, then raises DatastoreDown.
        Call it with no transaction of ours open: that ledger row must stay whatever happens next.
        The counts returned include the reference's earlier, interrupted attempts (their rows).

Both are called by dsar (above this app), from the request's workflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from django.utils import timezone

from privacyops.lib.actors import user_or_none
from retention.models import DestructionMethod, DestructionRun, HoldScope, LegalHold, RunStatus, Trigger
from subjects.models import DataSubject

from .connect import (
    DatastoreDown,
    connect,
    from_remote_time,
    identity_condition,
    phone_variants,
    reflect,
    safe_error,
    validate_columns,
)
from .models import EraseMode, ExternalKey, ExternalTable

logger = logging.getLogger(__name__)

MAX_ROWS_PER_TABLE = 100_000


def declared_tables():
    return list(
        ExternalTable.objects.filter(system__active=True)
        .select_related("system", "rule")
        .order_by("system__key", "table")
    )


def identities_of(subject_ids, system) -> dict[str, set[str]]:
    """The normalised identities of these subjects as `system` may hold them."""
    ids = list(subject_ids)
    found: dict[str, set[str]] = {"email": set(), "phone": set(), "customer_key": set()}
    for email, phone in DataSubject.objects.filter(pk__in=ids).values_list("email", "phone"):
        if email:
            found["email"].add(email.strip().lower())
        found["phone"] |= phone_variants(phone)
    found["customer_key"] = set(
        ExternalKey.objects.filter(system=system, subject_id__in=ids).values_list("key", flat=True)
    )
    return found


def _plain(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    return value


@dataclass
class ExternalSection:
    label: str  # "website.members"
    name: str  # "Website members: members"
    system: str
    category: str
    fields: list[str]
    headers: list[str]
    rows: list[dict]
    truncated: bool
    rule: str
    runs_from: str
    kept_after_erasure: bool


def subject_sections(*, subject_id: int) -> list[ExternalSection]:
    sections = []
    by_system: dict[int, list[ExternalTable]] = {}
    for declared in declared_tables():
        by_system.setdefault(declared.system_id, []).append(declared)
    for tables in by_system.values():
        system = tables[0].system
        identities = identities_of([subject_id], system)
        with connect(system) as connection:
            for declared in tables:
                table = reflect(connection, declared.table, system_key=system.key)
                validate_columns(declared, table)
                labels = declared.export_map
                columns = list(labels)
                query = (
                    sa.select(*[table.c[c] for c in columns])
                    .where(identity_condition(connection, declared, table, identities))
                    .order_by(*table.primary_key.columns)
                    .limit(MAX_ROWS_PER_TABLE + 1)
                )
                try:
                    result = connection.execute(query).mappings().all()
                except sa.exc.DBAPIError as exc:
                    raise DatastoreDown(f"Table {declared.label} could not be read ({safe_error(exc)}).") from None
                rows = [{c: _plain(from_remote_time(system, row[c])) for c in columns} for row in result]
                sections.append(
                    ExternalSection(
                        label=declared.label,
                        name=declared.display_name,
                        system=system.name,
                        category=declared.category,
                        fields=columns,
                        headers=[labels[c] for c in columns],
                        rows=rows[:MAX_ROWS_PER_TABLE],
                        truncated=len(rows) > MAX_ROWS_PER_TABLE,
                        rule=declared.rule.key,
                        runs_from=declared.runs_from,
                        kept_after_erasure=declared.kept_after_erasure,
                    )
                )
    return sections


# --- erasure ------------------------------------------------------------------------------------

STATUTE = "statute"
LEGAL_HOLD = "legal hold"


@dataclass
class TableErasure:
    label: str
    name: str
    erased: int = 0
    anonymised: int = 0
    kept: list[dict] = field(default_factory=list)  # {"reason", "rule", "count", "due_on"}

    @property
    def kept_count(self) -> int:
        return sum(k["count"] for k in self.kept)

    def as_outcome(self) -> dict:
        return {
            "model": self.label,
            "name": self.name,
            "external": True,
            "erased": self.erased,
            "anonymised": self.anonymised,
            "kept": self.kept,
        }


def _subject_held(subject_id: int) -> bool:
    return LegalHold.objects.active().filter(scope=HoldScope.SUBJECT, subject_id=subject_id).exists()


def _rule_held(rule_id: int) -> bool:
    return LegalHold.objects.active().filter(scope=HoldScope.RULE, rule_id=rule_id).exists()


def _erased_earlier(reference: str) -> dict[str, tuple[int, int]]:
    """Rows erased and overwritten per table by this reference's earlier attempts (ledger rows)."""
    totals: dict[str, tuple[int, int]] = {}
    runs = DestructionRun.objects.filter(
        reference=reference, trigger=Trigger.DSAR, method=DestructionMethod.DELETE_OVERWRITE
    ).values_list("counts", flat=True)
    for counts in runs:
        for label, n in (counts or {}).items():
            if "erased" in n:
                erased, anonymised = totals.get(label, (0, 0))
                totals[label] = (erased + n["erased"], anonymised + n.get("anonymised", 0))
    return totals


def _erase_table(declared: ExternalTable, table: sa.Table, subject_id: int, subject_held: bool) -> TableErasure:
    """One declared table in one transaction on its database."""
    system = declared.system
    outcome = TableErasure(declared.label, declared.display_name)
    identities = identities_of([subject_id], system)
    held = subject_held or _rule_held(declared.rule_id)
    with connect(system) as connection:
        mine = identity_condition(connection, declared, table, identities)
        try:
            with connection.begin():
                if held or declared.kept_after_erasure:
                    runs_from = table.c[declared.runs_from]
                    count, latest, open_rows = connection.execute(
                        sa.select(
                            sa.func.count(),
                            sa.func.max(runs_from),
                            sa.func.sum(sa.case((runs_from.is_(None), 1), else_=0)),
                        ).where(mine)
                    ).one()
                    if count:
                        due_on = None
                        if not held and not open_rows and latest is not None:
                            due_on = declared.rule.due_on(from_remote_time(system, latest))
                        outcome.kept.append(
                            {
                                "reason": LEGAL_HOLD if held else STATUTE,
                                "rule": declared.rule.key,
                                "count": int(count),
                                "due_on": due_on.isoformat() if due_on else None,
                            }
                        )
                elif declared.erase_mode == EraseMode.DELETE:
                    outcome.erased = connection.execute(sa.delete(table).where(mine)).rowcount
                else:
                    outcome.anonymised = connection.execute(
                        sa.update(table).where(mine).values(**declared.overwrite)
                    ).rowcount
        except sa.exc.DBAPIError as exc:
            raise DatastoreDown(f"Table {declared.label}: the erasure failed ({safe_error(exc)}).") from None
    return outcome


def _record_erasure(
    outcomes: list[TableErasure], reference: str, actor, started: datetime, status: str, error: str = ""
) -> None:
    DestructionRun.objects.create(
        trigger=Trigger.DSAR,
        triggered_by_user=user_or_none(actor),
        reference=reference,
        status=status,
        method=DestructionMethod.DELETE_OVERWRITE,
        started_at=started,
        finished_at=timezone.now(),
        error=error[:500],
        counts={o.label: {"erased": o.erased, "anonymised": o.anonymised, "kept": o.kept_count} for o in outcomes},
    )


def erase_external(*, subject_id: int, reference: str, actor=None) -> list[TableErasure]:
    tables = declared_tables()
    if not tables:
        return []
    started = timezone.now()
    earlier = _erased_earlier(reference)
    subject_held = _subject_held(subject_id)
    # Reach every system first: a system that is down stops the erasure before anything is erased.
    reflected: dict[int, sa.Table] = {}
    for declared in tables:
        with connect(declared.system) as connection:
            table = reflect(connection, declared.table, system_key=declared.system.key)
            validate_columns(declared, table)
            reflected[declared.pk] = table
    outcomes: list[TableErasure] = []
    try:
        for declared in tables:
            outcomes.append(_erase_table(declared, reflected[declared.pk], subject_id, subject_held))
    except DatastoreDown as exc:
        # The tables before this one are erased there for good: their proof is written now.
        if outcomes:
            _record_erasure(outcomes, reference, actor, started, RunStatus.FAILED, error=str(exc))
        raise
    _record_erasure(outcomes, reference, actor, started, RunStatus.SUCCEEDED)
    for outcome in outcomes:
        erased, anonymised = earlier.get(outcome.label, (0, 0))
        outcome.erased += erased
        outcome.anonymised += anonymised
    logger.info(
        "erase_external subject=%s tables=%s erased=%s kept=%s",
        subject_id,
        len(outcomes),
        sum(o.erased + o.anonymised for o in outcomes),
        sum(o.kept_count for o in outcomes),
    )
    return outcomes
