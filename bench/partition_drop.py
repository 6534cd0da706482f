"""Benchmark: destroying a month-partitioned visit log's due months (DETACH + DROP of whole
partitions, what `destroy_expired` does on PostgreSQL) against one raw DELETE of the same rows
on an unpartitioned copy of the same table, at several sizes, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/privacyops_bench_partition_drop \
        .venv/bin/python bench/partition_drop.py [--sizes 10000000:3000000,1000000:300000] [--repeat 3]

Each size is total:due rows. The due rows are spread evenly over three whole months long past
the visit log's 3-month period, the others over the last two months, each month in its own
partition (subjects.partitions; the empty month between them, wholly past too, is dropped as
well). The copy is a plain table with the indexes the table had before partitioning (primary
key on id, visited_at, subject_id, the partial external_ref index), loaded with the same rows.
Both are loaded with INSERT ... SELECT generate_series, then VACUUM ANALYZE and CHECKPOINT.
As in a real install, a legal hold is active (on a person whose visits are all recent), so the
run asks of every due month whether a held row is in it. Drop and raw DELETE alternate on
freshly loaded tables; the figure is the median wall time: for the drop, the visit-log rule's
whole `destroy_expired` run (the held-row question and the exact count of each month under a
lock, DETACH, DROP, the ledger), for raw, the one DELETE and its commit.

With --cold, the operating system's page cache is emptied after each load (sync, then
/proc/sys/vm/drop_caches, which needs root), so that both sides start from disk, as a month
three months past its last visit does on a busy server; PostgreSQL's own shared buffers keep what
they hold (the loads go through its small bulk-write ring, so little of the due months).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

from common import create_database, machine, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/privacyops_bench_partition_drop"
PLAIN = "bench_visitlog_plain"
COLUMNS = (
    "subject_id, visited_at, ip, user_agent, os, screen_size, device_id, phone_model, cookie_id, path, "
    "abnormal, abnormal_reason, external_ref"
)
ROWS = """
    SELECT NULL, %s::timestamptz + (i - 1) * (%s::timestamptz - %s::timestamptz) / %s,
           ('203.0.113.' || (i %% 250))::inet,
           'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/126.0', 'macOS',
           '1440x900', 'dev-' || i, '', 'cookie-' || i, '/pricing/' || (i %% 97), false, '', ''
    FROM generate_series(1, %s) AS i
"""


def _months(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    from subjects.partitions import month_start

    this = month_start(now)
    back = [this]
    for _ in range(7):
        previous = back[-1]
        back.append(datetime(previous.year - (previous.month == 1), (previous.month - 2) % 12 + 1, 1, tzinfo=UTC))
    # due: [this-7, this-4), not due: [this-2, this)
    return back[7], back[4], back[2], this


def _fill(cursor, table: str, total: int, due: int, now: datetime) -> None:
    due_from, due_to, recent_from, recent_to = _months(now)
    cursor.execute(f"INSERT INTO {table} ({COLUMNS}) {ROWS}", [due_from, due_to, due_from, due, due])  # noqa: S608
    rest = total - due
    cursor.execute(f"INSERT INTO {table} ({COLUMNS}) {ROWS}", [recent_from, recent_to, recent_from, rest, rest])  # noqa: S608


COLD = False  # --cold


def _settle() -> None:
    from django.db import connection

    connection.close()
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    if COLD:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as caches:
            caches.write("3\n")


def load_partitioned(total: int, due: int, now: datetime) -> None:
    from django.db import connection

    from subjects.partitions import ensure_visit_partitions

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE subjects_visitlog RESTART IDENTITY")
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN}")
    ensure_visit_partitions(months_ahead=10, now=_months(now)[0])
    with connection.cursor() as cursor:
        _fill(cursor, "subjects_visitlog", total, due, now)
    _hold_someone_recent(now)
    _settle()


def _hold_someone_recent(now: datetime) -> None:
    from django.contrib.auth import get_user_model

    from retention.models import HoldScope, LegalHold
    from subjects.models import CollectionSource, DataSubject, VisitLog

    officer, _ = get_user_model().objects.get_or_create(username="bench-officer")
    person = DataSubject.objects.create(email=f"held-{uuid.uuid4().hex}@example.com", source=CollectionSource.AUTOMATIC)
    VisitLog.objects.create(subject=person, visited_at=now)
    LegalHold.objects.create(scope=HoldScope.SUBJECT, subject_id=person.pk, reason="Benchmark", placed_by=officer)


def load_plain(total: int, due: int, now: datetime) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE subjects_visitlog RESTART IDENTITY")
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN}")
        cursor.execute(f"CREATE TABLE {PLAIN} (LIKE subjects_visitlog INCLUDING DEFAULTS INCLUDING IDENTITY)")
        cursor.execute(f"ALTER TABLE {PLAIN} ADD PRIMARY KEY (id)")
        cursor.execute(f"CREATE INDEX ON {PLAIN} (visited_at)")
        cursor.execute(f"CREATE INDEX ON {PLAIN} (subject_id)")
        cursor.execute(f"CREATE UNIQUE INDEX ON {PLAIN} (external_ref) WHERE external_ref <> ''")
        _fill(cursor, PLAIN, total, due, now)
    _settle()


def raw(now: datetime) -> tuple[float, int]:
    from dateutil.relativedelta import relativedelta
    from django.db import connection, transaction

    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {PLAIN} WHERE visited_at < %s", [now - relativedelta(months=3)])  # noqa: S608
        rows = cursor.rowcount
    deleted = time.perf_counter() - began
    connection.close()
    began = time.perf_counter()
    with connection.cursor() as cursor:  # what makes the deleted rows' bytes reusable, later
        cursor.execute(f"VACUUM {PLAIN}")  # noqa: S608
    return deleted, time.perf_counter() - began, rows


def _due_partitions_mb(now: datetime) -> float:
    from dateutil.relativedelta import relativedelta
    from django.db import connection

    from subjects.partitions import visit_partitions

    due = [p.name for p in visit_partitions() if p.upper <= now - relativedelta(months=3)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(name::regclass)), 0) FROM unnest(%s::text[]) AS name", [due]
        )
        return cursor.fetchone()[0] / 2**20


def drop(now: datetime) -> tuple[float, int, int]:
    from privacyops.lib.actors import SYSTEM
    from retention.services import destroy_expired

    began = time.perf_counter()
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs", now=now)
    elapsed = time.perf_counter() - began
    assert result.status == "succeeded", result.error
    counts = result.counts["subjects.VisitLog"]
    return elapsed, counts.get("destroyed", 0), counts.get("partitions_dropped", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000000:3000000,1000000:300000", help="total:due, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="empty the OS page cache after each load (root)")
    args = parser.parse_args()
    global COLD
    COLD = args.cold
    if COLD and not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        raise SystemExit("--cold needs to write /proc/sys/vm/drop_caches (root)")
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    create_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"# {machine()}; {datetime.now(UTC):%Y-%m-%d}; 1-minute load average {os.getloadavg()[0]:.1f}")
    rows = []
    for size in args.sizes.split(","):
        total, due = (int(n) for n in size.split(":"))
        raws, vacuums, drops, parts, mb = [], [], [], 0, 0.0
        for _ in range(args.repeat):
            load_plain(total, due, now)
            seconds, vacuum_s, deleted = raw(now)
            assert deleted == due, (deleted, due)
            raws.append(seconds)
            vacuums.append(vacuum_s)
            load_partitioned(total, due, now)
            mb = _due_partitions_mb(now)
            seconds, destroyed, parts = drop(now)
            assert destroyed == due and parts >= 3, (destroyed, due, parts)
            drops.append(seconds)
        raw_s, vacuum_s, drop_s = (statistics.median(v) for v in (raws, vacuums, drops))
        rows.append((total, due, parts, mb, raw_s, vacuum_s, drop_s, min(drops), max(drops)))
    print(
        f"# end load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}, each on freshly loaded tables"
        + ("; the OS page cache emptied after each load" if COLD else "")
    )
    print(
        "| rows | due | partitions dropped (MB) | raw DELETE (plain copy) | its VACUUM | partition drop run "
        "| (range) | raw / drop | (raw + VACUUM) / drop |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for total, due, parts, mb, raw_s, vacuum_s, drop_s, lo, hi in rows:
        print(
            f"| {total:,} | {due:,} | {parts} ({mb:,.0f}) | {raw_s * 1000:,.0f} ms | {vacuum_s * 1000:,.0f} ms "
            f"| {drop_s * 1000:,.0f} ms | {lo * 1000:,.0f}-{hi * 1000:,.0f} | {raw_s / drop_s:.1f}x "
            f"| {(raw_s + vacuum_s) / drop_s:.1f}x |"
        )


if __name__ == "__main__":
    main()
