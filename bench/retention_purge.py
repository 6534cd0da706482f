"""Benchmark: purging expired visit logs on PostgreSQL (not a test; run by hand).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/privacyops_retention_bench \
        .venv/bin/python bench/retention_purge.py [--rows 2000000] [--batch-sizes 10000,50000] [--orm-rows N]

Loads N visit logs (half expired, ids in time order as in an append-only log) with one
INSERT ... SELECT generate_series, then measures, each on a fresh copy of the table and in its
own subprocess (so peak memory is that method's alone):

- raw:    one `DELETE FROM subjects_visitlog WHERE visited_at < cutoff` (the limit);
- engine: `retention.services.destroy_expired(rule_key="visit_logs")` at each batch size;
- orm:    `VisitLog.objects.filter(visited_at__lt=cutoff).delete()` with one post_delete
          receiver connected (on --orm-rows rows if given, because it needs ~1 KB of RAM per row).

Prints rows/s, the longest transaction, peak RSS of the subprocess (ru_maxrss from wait4), and
the ratios to raw; "RSS growth" is the peak minus the RSS of the loaded process before the call.
The database named by DATABASE_URL is created if missing and migrated; its visit logs are wiped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from common import create_database, load_visit_logs, machine, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/privacyops_retention_bench"


# --- child: one measured method ---------------------------------------------------------------


def child(method: str, now_iso: str, batch_size: int) -> None:
    import resource

    setup_django()
    from dateutil.relativedelta import relativedelta
    from django.db import connection, transaction
    from django.db.models.signals import post_delete

    from privacyops.lib.actors import SYSTEM
    from retention.services import destroy_expired
    from subjects.models import VisitLog

    now = datetime.fromisoformat(now_iso)
    cutoff = now - relativedelta(months=3)
    connection.ensure_connection()
    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    if method == "raw":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM subjects_visitlog WHERE visited_at < %s", [cutoff])
            rows = cursor.rowcount
        elapsed = time.perf_counter() - began
        longest_ms = elapsed * 1000
        batches = 1
    elif method == "engine":
        [result] = destroy_expired(rule_key="visit_logs", batch_size=batch_size, now=now, actor=SYSTEM)
        elapsed = time.perf_counter() - began
        assert result.status == "succeeded", result.error
        rows, longest_ms, batches = result.destroyed, result.longest_batch_ms, result.batches
    elif method == "orm":

        def receiver(sender, instance, **kwargs):  # the kind of receiver an audit hook adds
            pass

        post_delete.connect(receiver, sender=VisitLog)
        with transaction.atomic():
            rows = VisitLog.objects.filter(visited_at__lt=cutoff).delete()[0]
        elapsed = time.perf_counter() - began
        longest_ms = elapsed * 1000
        batches = 1
    else:
        raise SystemExit(f"unknown method {method}")
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": elapsed,
                "longest_ms": longest_ms,
                "batches": batches,
                "baseline_rss_mb": baseline_rss_mb,
            }
        )
    )


# --- parent: load, spawn, report --------------------------------------------------------------


def load(rows: int, now: datetime) -> int:
    """Fresh table with `rows` visit logs, the first half older than the cutoff; returns expired count."""
    from dateutil.relativedelta import relativedelta
    from django.db import connection

    cutoff = now - relativedelta(months=3)
    half = rows // 2
    with connection.cursor() as cursor:
        load_visit_logs(cursor, cutoff=cutoff, due=half, total=rows)
    connection.close()
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE subjects_visitlog")
        cursor.execute("CHECKPOINT")
    return half


def summarise(runs: list[dict]) -> dict:
    """The median run (by rows/s); the worst longest transaction and peak RSS of all runs."""
    runs = sorted(runs, key=lambda r: r["rows_per_s"])
    result = dict(runs[len(runs) // 2])
    result["spread"] = f"{runs[0]['rows_per_s']:,.0f}-{runs[-1]['rows_per_s']:,.0f}" if len(runs) > 1 else ""
    result["longest_ms"] = max(r["longest_ms"] for r in runs)
    result["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return result


def measure_once(method: str, rows: int, now: datetime, batch_size: int = 0) -> dict:
    expired = load(rows, now)
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", method, "--now", now.isoformat(), "--batch-size", str(batch_size)],
        stdout=subprocess.PIPE,
        env=os.environ.copy(),
    )
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{method} failed (status {status})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["rows"] == expired, (method, result["rows"], expired)
    result.update(
        method=method if not batch_size else f"engine, {batch_size:,} ids/batch",
        table_rows=rows,
        rows_per_s=result["rows"] / result["seconds"],
        peak_rss_mb=usage.ru_maxrss / 1024,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000, help="visit logs to load (half expired)")
    parser.add_argument("--batch-sizes", default="10000", help="engine batch sizes to try, comma-separated")
    parser.add_argument("--orm-rows", type=int, default=None, help="table size for the ORM run (default --rows)")
    parser.add_argument("--skip-orm", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method (the median is shown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if args.child:
        child(args.child, args.now, args.batch_size)
        return
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    create_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    load_before = os.getloadavg()[0]
    print(f"# {machine()}; {datetime.now(UTC):%Y-%m-%d}")
    print(f"# {args.rows:,} visit logs, {args.rows // 2:,} expired")
    # Interleaved (raw, engine, raw, engine, ...) so a burst of load on a shared machine does not
    # land on one method only.
    methods = [("raw", 0)] + [("engine", int(size)) for size in args.batch_sizes.split(",")]
    runs: dict[tuple, list[dict]] = {m: [] for m in methods}
    for _ in range(args.repeat):
        for method, size in methods:
            runs[(method, size)].append(measure_once(method, args.rows, now, batch_size=size))
    results = [summarise(runs[m]) for m in methods]
    if not args.skip_orm:
        orm = summarise([measure_once("orm", args.orm_rows or args.rows, now)])
        if args.orm_rows:
            orm["method"] += f" ({args.orm_rows:,}-row table)"
        results.append(orm)
    raw_rate = results[0]["rows_per_s"]
    print(f"# 1-minute load average: {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"# median of {args.repeat} run(s) per method (ORM: 1); longest transaction and peak RSS: worst of the runs")
    print(
        "| method | rows deleted | rows/s | (range) | x raw | longest transaction | batches | peak RSS | RSS growth |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        growth = r["peak_rss_mb"] - r["baseline_rss_mb"]
        print(
            f"| {r['method']} | {r['rows']:,} | {r['rows_per_s']:,.0f} | {r['spread']} "
            f"| {r['rows_per_s'] / raw_rate:.2f} | {r['longest_ms']:,.0f} ms | {r['batches']:,} "
            f"| {r['peak_rss_mb']:,.0f} MB | +{growth:,.0f} MB |"
        )


if __name__ == "__main__":
    main()
