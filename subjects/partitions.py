"""Monthly range partitions of the visit log on PostgreSQL (issue 20).

On PostgreSQL `subjects_visitlog` is a table PARTITIONED BY RANGE (visited_at) (migration 0004):
one partition per calendar month in UTC, named `subjects_visitlog_pYYYYMM` and holding
[first of the month 00:00 UTC, first of the next month), plus `subjects_visitlog_default`,
which catches any visit outside the months created (a stray timestamp years ahead, or a month
`ensure_visit_partitions` has not reached yet). The primary key is (id, visited_at) in SQL;
Django keeps `id` as the model's primary key (ids come from one sequence, so they stay unique).

PostgreSQL cannot enforce a unique index that leaves out the partition key, so the
`visitlog_external_ref_unique` index is (external_ref, visited_at) there, and the write path
(subjects.services._claim_refs) makes a reference unique across months: after its rows went in it
takes the references' transaction-scoped advisory locks (`lock_refs`) and looks for another
transaction's visit under them before committing. SQLite keeps the plain table and the plain
unique index; every function here does nothing there.

Public functions:

    ensure_visit_partitions(*, months_ahead=3, now=None) -> list[str]
        Create the month partitions from the current month to `months_ahead` months ahead that do
        not exist yet (names returned). Idempotent. A visit already in the default partition for
        such a month is moved into the new partition in the same transaction.

    visit_partitions() -> list[Partition]
        The month partitions that exist, oldest first (the default partition is not listed).

    detached_months() -> list[Partition]
        Month tables detached from the visit log but not yet dropped (a destruction run stopped
        between its two steps); retention drops them on its next run.

    is_partitioned() -> bool
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

PARENT = "subjects_visitlog"
DEFAULT = f"{PARENT}_default"
_NAME = re.compile(rf"^{PARENT}_p(\d{{4}})(\d{{2}})$")
# Advisory-lock key space for external references: a reference hashes to one of these buckets
# (bounded, so a batch of 1,000 references takes at most this many locks of the shared lock table).
REF_LOCK_BUCKETS = 64
_REF_LOCK_CLASS = 20_0002  # first half of the two-int advisory key: "visit external_ref"


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime  # inclusive
    upper: datetime  # exclusive


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_p{start:%Y%m}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def visit_partitions() -> list[Partition]:
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    return _months_named(names)


def _months_named(names: list[str]) -> list[Partition]:
    partitions = []
    for name in names:
        match = _NAME.match(name)
        if match:
            lower = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
            partitions.append(Partition(name, lower, next_month(lower)))
    return sorted(partitions, key=lambda p: p.lower)


# The names of month tables detached from the visit log and not dropped (a stopped run's).
DETACHED_MONTHS_SQL = (
    "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE %s "
    "AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass(%s)) "
    "AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)"
)
DETACHED_MONTHS_PARAMS = [f"{PARENT}\\_p%", PARENT]


def detached_months() -> list[Partition]:
    """Month tables of the visit log that are no longer its partitions: detached by a destruction
    run that stopped before it dropped them (retention drops them on its next run)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(DETACHED_MONTHS_SQL, DETACHED_MONTHS_PARAMS)
        names = [row[0] for row in cursor.fetchall()]
    return _months_named(names)


def create_partition(cursor, start: datetime) -> str:
    """Create the month partition starting at `start` (UTC first of a month) if missing; rows of
    that month already in the default partition move into it. Caller holds a transaction."""
    name, end = partition_name(start), next_month(start)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return ""
    cursor.execute(f"SELECT EXISTS(SELECT 1 FROM {DEFAULT} WHERE visited_at >= %s AND visited_at < %s)", [start, end])  # noqa: S608
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)", [start, end])
        return name
    # PostgreSQL refuses a new partition whose rows sit in the default one: move them first.
    cursor.execute(f"LOCK TABLE {PARENT} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE visited_at >= %s AND visited_at < %s RETURNING *) "  # noqa: S608
        f"INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
    return name


def ensure_visit_partitions(*, months_ahead: int = 3, now: datetime | None = None) -> list[str]:
    """See the module docstring. Returns the names of the partitions created (none when all exist)."""
    if months_ahead < 0:
        raise ValueError("months_ahead must be 0 or more.")
    if not is_partitioned():
        return []
    start = month_start(now or timezone.now())
    created = []
    for _ in range(months_ahead + 1):
        with transaction.atomic(), connection.cursor() as cursor:
            # Two runs at once (beat and the command) must not both try to create the month.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_REF_LOCK_CLASS + 1])
            name = create_partition(cursor, start)
        if name:
            created.append(name)
        start = next_month(start)
    return created


def lock_refs(refs: list[str]) -> None:
    """On PostgreSQL, take the advisory locks of these external references' buckets, in order
    (no deadlock between two batches), until the transaction ends: two writers of the same
    reference then run their check for the other's visit (taken after their own rows went in) and
    their commit one after the other, so the second sees the first's visit, which is what the
    unique index did before the table was partitioned. Needs a transaction."""
    if not refs or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, b) FROM ("
            "SELECT DISTINCT abs(hashtext(r) %% %s) AS b FROM unnest(%s::text[]) AS r ORDER BY b) AS buckets",
            [_REF_LOCK_CLASS, REF_LOCK_BUCKETS, list(refs)],
        )
