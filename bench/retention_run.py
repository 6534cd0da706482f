"""Benchmark: a whole `destroy_expired` run (every active rule) against one raw DELETE of the same
rows, at several numbers of due visit logs, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/privacyops_bench_retention_run \
        .venv/bin/python bench/retention_run.py [--due 0,200000,2000000] [--repeat 3]

For each size the table holds the due visit logs plus as many that are not due (ids in time
order, as in an append-only log), loaded with one INSERT ... SELECT generate_series and then
`VACUUM ANALYZE` (what autovacuum does after a bulk load; without fresh statistics the planner
misjudges the due range). The other rules' tables are empty or nearly so, as in a real install
where visit logs are the bulk. Raw and run alternate (raw, run, raw, run, ...) on a freshly
loaded table each time; the figure is the median wall time, the ratio raw / run (1.0 = as fast as
the one statement). At 0 due rows the run's time is its fixed cost: what every daily run pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

from common import create_database, load_visit_logs, machine, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/privacyops_bench_retention_run"


def load(due: int, now: datetime) -> None:
    from dateutil.relativedelta import relativedelta
    from django.db import connection

    cutoff = now - relativedelta(months=3)
    total = max(2 * due, 1000)  # at 0 due, a thousand recent visits
    with connection.cursor() as cursor:
        load_visit_logs(cursor, cutoff=cutoff, due=due, total=total)
    connection.close()
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def raw(now: datetime) -> tuple[float, int]:
    from dateutil.relativedelta import relativedelta
    from django.db import connection, transaction

    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM subjects_visitlog WHERE visited_at < %s", [now - relativedelta(months=3)])
        rows = cursor.rowcount
    return time.perf_counter() - began, rows


def whole_run(now: datetime) -> tuple[float, int, int]:
    from privacyops.lib.actors import SYSTEM
    from retention.services import destroy_expired

    began = time.perf_counter()
    results = destroy_expired(actor=SYSTEM, now=now)
    elapsed = time.perf_counter() - began
    failed = [r.rule for r in results if r.status != "succeeded"]
    assert not failed, failed
    return elapsed, sum(r.destroyed for r in results), len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", default="0,200000,2000000", help="due visit logs per size, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    create_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"# {machine()}; {datetime.now(UTC):%Y-%m-%d}; 1-minute load average {os.getloadavg()[0]:.1f}")
    rows = []
    for due in [int(n) for n in args.due.split(",")]:
        raws, runs, queries = [], [], []
        for _ in range(args.repeat):
            load(due, now)
            seconds, deleted = raw(now)
            assert deleted == due, (deleted, due)
            raws.append(seconds)
            load(due, now)
            connection.force_debug_cursor = True
            connection.queries_log.clear()
            seconds, destroyed, rules = whole_run(now)
            queries.append(len(connection.queries_log))
            connection.force_debug_cursor = False
            assert destroyed == due, (destroyed, due)
            runs.append(seconds)
        raw_s, run_s = statistics.median(raws), statistics.median(runs)
        rows.append((due, rules, raw_s, run_s, min(runs), max(runs), statistics.median(queries)))
    print(f"# end load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}, each on a freshly loaded table")
    print("| due visit logs | rules run | raw DELETE | whole run | (range) | raw / run | statements in the run |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for due, rules, raw_s, run_s, lo, hi, n in rows:
        ratio = f"{raw_s / run_s:.2f}" if due else "-"
        print(
            f"| {due:,} | {rules} | {raw_s * 1000:,.0f} ms | {run_s * 1000:,.0f} ms "
            f"| {lo * 1000:,.0f}-{hi * 1000:,.0f} "
            f"| {ratio} | {n:.0f} |"
        )


if __name__ == "__main__":
    main()
