"""Benchmark of the access log: writing (one row per admin page), verifying the chain, and the
reads the officer and the monthly review make. Not a test.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/privacyops_audit_bench \\
        .venv/bin/python bench/audit_access_log.py [--rows 20000] [--threads 4]

The database named by DATABASE_URL is migrated and its access log is EMPTIED first (raw SQL,
past the append-only guard and its triggers). SQLite works too (sqlite:////tmp/audit_bench.sqlite3).
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import timedelta

from common import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from audit import services
    from audit.models import AccessLog

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        tables = ("audit_accesslogsubject", "audit_accesslog", "audit_accesslogchainhead")
        if connection.vendor == "postgresql":
            # The log's triggers refuse DELETE of young rows; TRUNCATE (the owner's) is not a row delete.
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608  (fixed names)
    user, _ = get_user_model().objects.get_or_create(username="bench-staff")
    print(f"database: {connection.vendor}; rows: {args.rows}")

    def timed(label: str, count: int, fn) -> float:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        print(f"{label:<58} {count / seconds:>10,.0f} /s  ({seconds:.2f} s)")
        return seconds

    one = args.rows // 2
    timed(
        "log_access, 1 subject (a change page), sequential",
        one,
        lambda: [
            services.log_access(user=user, ip="10.0.0.1", action="view", subject_ids=[i % 50000], path="/admin/x/")
            for i in range(one)
        ],
    )
    pages = args.rows // 10
    timed(
        "log_access, 100 subjects (a change list page), sequential",
        pages,
        lambda: [
            services.log_access(user=user, ip="10.0.0.1", action="list", subject_ids=range(i, i + 100))
            for i in range(pages)
        ],
    )

    per_thread = args.rows // 4 // args.threads

    def writer():
        for i in range(per_thread):
            services.log_access(user=user, ip="10.0.0.2", action="view", subject_ids=[i])
        connection.close()

    def concurrent():
        threads = [threading.Thread(target=writer) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    timed(f"log_access, 1 subject, {args.threads} threads at once", per_thread * args.threads, concurrent)

    total = AccessLog.objects.count()
    report = None

    def verify():
        nonlocal report
        report = services.verify_access_log()

    timed("verify_access_log (rows checked)", total, verify)
    assert report.ok, report.problems[:5]

    start = time.perf_counter()
    hits = list(services.accesses_of_subject(4242)[:100])
    print(
        f"{'accesses_of_subject (first 100)':<58} {len(hits):>10} rows  ({(time.perf_counter() - start) * 1000:.1f} ms)"
    )
    start = time.perf_counter()
    counts = services.access_counts(since=timezone.now() - timedelta(days=1))
    print(f"{'access_counts for a day':<58} {len(counts):>10} rows  ({(time.perf_counter() - start) * 1000:.1f} ms)")
    start = time.perf_counter()
    findings = services.review_findings(
        start=timezone.localdate() - timedelta(days=1), end=timezone.localdate() + timedelta(days=1)
    )
    elapsed_ms = (time.perf_counter() - start) * 1000
    print(f"{'review_findings over the whole log':<58} {len(findings):>10} rows  ({elapsed_ms:.1f} ms)")


if __name__ == "__main__":
    main()
