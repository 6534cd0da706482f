"""Benchmark: export and erasure of one data subject among many, on PostgreSQL (not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/privacyops_dsar_bench \
        .venv/bin/python bench/dsar_subject.py [--scale 1.0] [--reload] [--repeat 3]

At --scale 1.0 it loads 1,000,000 subjects, 10,000,000 visit logs (10 per subject) and 1,000,000
inquiries (one per subject, every tenth a closed complaint) with INSERT ... SELECT generate_series,
then VACUUM ANALYZE. A smaller --scale shrinks every table in proportion. The data is kept between
runs (the load is skipped when the row counts match; --reload forces it).

Then, for one subject in the middle of the id range (with a consent, a verified deletion request
and a verified access request):

- export:  dsar.package.collect() over every registered model (the queries the access package
           runs), then write_zip() (Python only);
- erasure: dsar.fulfilment.carry_out_deletion(): consents withdrawn through the ledger, vendor jobs
           created, retention.services.erase_subject() across the registry, the ledger row.

Database time is the sum of the wall time of every SQL statement the operation sent (measured
around each execute, so it includes the round trip but no Python). Each statement is also run
once under EXPLAIN (ANALYZE, BUFFERS) inside a savepoint that is rolled back, before the real
execution; the plans are searched for Seq Scan nodes. A Seq Scan on one of the loaded tables
fails the benchmark; one on a table of a few rows (seeded processors, purposes) is listed and
allowed, because there the planner rightly prefers it.

Writes bench/results/dsar_subject.json. Vendor jobs are queued on a filesystem broker in a
temporary folder (nothing is sent) and emails go to memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from common import ROOT, create_database, machine, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/privacyops_dsar_bench"
BASE_SUBJECTS = 1_000_000
VISITS_PER_SUBJECT = 10
LOADED_TABLES = {"subjects_datasubject", "subjects_visitlog", "subjects_inquiry"}
SMALL_TABLE_ROWS = 1000


def setup_django_isolated() -> None:
    """Django with a broker, mail box and log level of the benchmark's own."""
    broker = Path(tempfile.mkdtemp(prefix="dsar-bench-broker-"))
    os.environ["CELERY_BROKER_URL"] = f"filesystem://{broker}"
    os.environ["EMAIL_URL"] = "memorymail://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "False"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_django()


# --- loading ------------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in sorted(LOADED_TABLES):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
            out[table] = cursor.fetchone()[0]
    return out


def load(subjects: int) -> dict[str, float]:
    """Fill the three big tables from scratch; returns seconds per step."""
    from django.db import connection

    visits = subjects * VISITS_PER_SUBJECT
    timings = {}
    with connection.cursor() as cursor:
        began = time.perf_counter()
        # Everything that may point at a subject goes first (a previous run's requests, consents...).
        cursor.execute("TRUNCATE subjects_visitlog, subjects_inquiry, subjects_datasubject RESTART IDENTITY CASCADE")
        cursor.execute(
            """
            INSERT INTO subjects_datasubject
                (name, email, phone, source, created_at, updated_at, processing_restricted)
            SELECT 'Person ' || g, 'person' || g || '@example.com',
                   '010-' || lpad((g %% 10000)::text, 4, '0') || '-0000',
                   'automatic', now() - (g %% 1000) * interval '1 hour', now(), false
            FROM generate_series(1, %s) AS g
            """,
            [subjects],
        )
        timings["subjects_s"] = time.perf_counter() - began
        began = time.perf_counter()
        # Ids in time order, as in an append-only log; each subject gets VISITS_PER_SUBJECT visits
        # spread over the table (g % subjects), so one person's rows are not adjacent.
        cursor.execute(
            """
            INSERT INTO subjects_visitlog
                (subject_id, visited_at, ip, user_agent, os, screen_size, device_id, phone_model,
                 cookie_id, path, abnormal, abnormal_reason, external_ref)
            SELECT 1 + (g %% %s), now() - ((%s - g) * interval '1 second' * (80 * 86400.0 / %s)),
                   ('10.' || (g %% 256) || '.' || ((g / 256) %% 256) || '.' || ((g / 65536) %% 256))::inet,
                   'Mozilla/5.0 (iPhone)', 'iOS 18', '390x844', 'dev-' || (g %% %s), 'iPhone 16',
                   'c-' || g, '/works/' || (g %% 500), false, '', ''
            FROM generate_series(1, %s) AS g
            """,
            [subjects, visits, visits, subjects, visits],
        )
        timings["visit_logs_s"] = time.perf_counter() - began
        began = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO subjects_inquiry (subject_id, channel, kind, body, opened_at, closed_at, external_ref)
            SELECT g, 'email', CASE WHEN g %% 10 = 0 THEN 'complaint' ELSE 'question' END,
                   'Inquiry text number ' || g, now() - interval '60 days',
                   CASE WHEN g %% 10 = 0 THEN now() - interval '30 days' END, ''
            FROM generate_series(1, %s) AS g
            """,
            [subjects],
        )
        timings["inquiries_s"] = time.perf_counter() - began
    began = time.perf_counter()
    connection.ensure_connection()
    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        for table in sorted(LOADED_TABLES):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("ANALYZE")
    connection.set_autocommit(autocommit)
    timings["vacuum_analyze_s"] = time.perf_counter() - began
    return timings


# --- measuring ----------------------------------------------------------------------------------


class Recorder:
    """An execute_wrapper: EXPLAIN (ANALYZE, BUFFERS) each statement in a rolled-back savepoint,
    then time the real execution."""

    SKIP = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET ", "SHOW ")

    def __init__(self, explain: bool = True):
        self.explain = explain
        self.statements: list[dict] = []

    def __call__(self, execute, sql, params, many, context):
        plan = None
        raw = context["cursor"].cursor
        if self.explain and not many and not sql.lstrip().upper().startswith(self.SKIP):
            # Statements outside a transaction (the erasure's reads before it opens one) are
            # explained in a transaction of their own, rolled back.
            idle = raw.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            raw.execute("BEGIN" if idle else "SAVEPOINT bench_explain")
            try:
                raw.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
                plan = raw.fetchone()[0][0]
            finally:
                if idle:
                    raw.execute("ROLLBACK")
                else:
                    raw.execute("ROLLBACK TO SAVEPOINT bench_explain")
                    raw.execute("RELEASE SAVEPOINT bench_explain")
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - began
            self.statements.append({"sql": sql, "ms": elapsed * 1000, "plan": plan})

    @property
    def db_ms(self) -> float:
        return sum(s["ms"] for s in self.statements)

    @property
    def server_ms(self) -> float:
        """Planning plus execution time as PostgreSQL reports them (EXPLAIN ANALYZE): the time
        spent in the database itself, without the round trips."""
        return sum(
            s["plan"].get("Planning Time", 0) + s["plan"].get("Execution Time", 0)
            for s in self.statements
            if s["plan"] is not None
        )


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def table_rows(relation: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [relation])
        row = cursor.fetchone()
        return max(int(row[0]), 0) if row else 0


def seq_scans(recorder: Recorder) -> list[dict]:
    found = []
    for statement in recorder.statements:
        if statement["plan"] is None:
            continue
        for node in plan_nodes(statement["plan"]["Plan"]):
            if node["Node Type"] == "Seq Scan":
                relation = node.get("Relation Name", "?")
                found.append(
                    {
                        "relation": relation,
                        "estimated_rows_in_table": table_rows(relation),
                        "sql": statement["sql"][:160],
                    }
                )
    return found


def measure_export(subject, request, explain: bool) -> dict:
    from django.db import connection, transaction

    from dsar.package import collect, write_zip

    recorder = Recorder(explain=explain)
    began = time.perf_counter()
    with connection.execute_wrapper(recorder), transaction.atomic():
        package = collect(subject_id=subject.pk, reference=request.reference)
    collected = time.perf_counter()
    content = write_zip(package, language="ko", request_type_label="access", name=subject.name)
    done = time.perf_counter()
    return {
        "db_ms": recorder.db_ms,
        "queries_wall_ms": (collected - began) * 1000,
        "zip_ms": (done - collected) * 1000,
        "queries": len(recorder.statements),
        "rows": package.counts,
        "zip_bytes": len(content),
        "recorder": recorder,
    }


def _officers():
    """Two privacy officers: the erasure is asked for by one and carried out on the other's approval."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return [
        User.objects.get_or_create(username=name, defaults={"is_staff": True, "is_superuser": True})[0]
        for name in ("bench-officer", "bench-overseer")
    ]


def measure_erasure(request, explain: bool) -> dict:
    from django.db import connection

    from dsar.fulfilment import carry_out_deletion
    from dsar.services import decide_request_approval

    preparer, approver = _officers()
    carry_out_deletion(request=request, actor=preparer)
    recorder = Recorder(explain=explain)
    began = time.perf_counter()
    # The approval carries the erasure out: this is the part measured.
    with connection.execute_wrapper(recorder):
        decide_request_approval(request=request, actor=approver, approve=True)
    wall = time.perf_counter() - began
    request.refresh_from_db()
    return {
        "db_ms": recorder.db_ms,
        "wall_ms": wall * 1000,
        "queries": len(recorder.statements),
        "erased": request.outcome["erasure"]["erased"],
        "kept": sum(g["count"] for m in request.outcome["erasure"]["models"] for g in m["kept"]),
        "recorder": recorder,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 subjects, 10,000,000 visit logs")
    parser.add_argument("--reload", action="store_true", help="reload the tables even if the counts match")
    parser.add_argument("--repeat", type=int, default=3, help="subjects measured (a fresh one each time)")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    create_database(os.environ["DATABASE_URL"])
    setup_django_isolated()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    subjects = max(int(BASE_SUBJECTS * args.scale), 100)
    expected = {
        "subjects_datasubject": subjects,
        "subjects_visitlog": subjects * VISITS_PER_SUBJECT,
        "subjects_inquiry": subjects,
    }
    print(f"# {machine()}; {datetime.now(UTC):%Y-%m-%d}")
    load_timings = {}
    current = counts()
    # Earlier runs erased a few subjects' rows; anything close to the expected size is reused.
    loaded = all(abs(current[table] - n) <= max(100, n // 10_000) for table, n in expected.items())
    if args.reload or not loaded:
        print(f"# loading {subjects:,} subjects, {subjects * VISITS_PER_SUBJECT:,} visit logs, {subjects:,} inquiries")
        load_timings = load(subjects)
        print("# load: " + ", ".join(f"{k} {v:.1f}" for k, v in load_timings.items()))
    table_counts = counts()
    print("# rows: " + ", ".join(f"{k} {v:,}" for k, v in table_counts.items()))

    exports, erasures, scans = [], [], []
    server: dict[str, float] = {}
    explained: dict[str, list] = {}
    from subjects.models import DataSubject

    # Subjects in the middle of the id range not erased by an earlier run. The first is run under
    # EXPLAIN (ANALYZE, BUFFERS) for the plans; the others are timed plainly (the explain would
    # warm the buffers for the real statement and flatter the timing).
    targets = list(
        DataSubject.objects.filter(pk__gte=subjects // 2, processing_restricted=False)
        .order_by("pk")
        .values_list("pk", flat=True)[: args.repeat + 1]
    )
    for index, target in enumerate(targets):
        subject, made = fresh_subject_at(target)
        explain = index == 0
        export = measure_export(subject, made["access"], explain=explain)
        erasure = measure_erasure(made["deletion"], explain=explain)
        if explain:
            scans += seq_scans(export["recorder"]) + seq_scans(erasure["recorder"])
            server = {"export_ms": export["recorder"].server_ms, "erasure_ms": erasure["recorder"].server_ms}
            explained = {"export": slowest(export["recorder"]), "erasure": slowest(erasure["recorder"])}
            print(
                f"subject {target}: EXPLAIN ANALYZE server time: export {server['export_ms']:.1f} ms "
                f"({export['queries']} statements), erasure {server['erasure_ms']:.1f} ms ({erasure['queries']})"
            )
            continue
        exports.append(export)
        erasures.append(erasure)
        print(
            f"subject {target}: export db {export['db_ms']:.1f} ms ({export['queries']} queries, "
            f"zip {export['zip_ms']:.1f} ms, rows {sum(export['rows'].values())}); "
            f"erasure db {erasure['db_ms']:.1f} ms ({erasure['queries']} queries, wall {erasure['wall_ms']:.1f} ms, "
            f"erased {erasure['erased']}, kept {erasure['kept']})"
        )
    missing_indexes = unindexed_subject_paths()

    big = [s for s in scans if s["relation"] in LOADED_TABLES or s["estimated_rows_in_table"] >= SMALL_TABLE_ROWS]
    small = sorted({s["relation"] for s in scans if s not in big})
    result = {
        "machine": machine(),
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "scale": args.scale,
        "rows": table_counts,
        "load_seconds": load_timings,
        "server_ms_first_subject": server,
        "load_average_1min": os.getloadavg()[0],
        "export_db_ms_median": statistics.median(e["db_ms"] for e in exports),
        "export_db_ms_max": max(e["db_ms"] for e in exports),
        "export_queries": exports[0]["queries"],
        "export_zip_ms_median": statistics.median(e["zip_ms"] for e in exports),
        "erasure_db_ms_median": statistics.median(e["db_ms"] for e in erasures),
        "erasure_db_ms_max": max(e["db_ms"] for e in erasures),
        "erasure_wall_ms_median": statistics.median(e["wall_ms"] for e in erasures),
        "erasure_queries": erasures[0]["queries"],
        "export_slowest_explained": explained["export"],
        "erasure_slowest_explained": explained["erasure"],
        "erasure_slowest_in_slowest_run": slowest(max(erasures, key=lambda e: e["db_ms"])["recorder"]),
        "seq_scans_on_large_tables": big,
        "seq_scans_on_small_tables": small,
        "unindexed_subject_paths": missing_indexes,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "dsar_subject.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "seq_scans_on_large_tables"}, indent=2))
    assert not big, f"Seq Scan on a large table: {big}"
    assert not missing_indexes, f"registry paths without an index: {missing_indexes}"
    # The target is on database time: what PostgreSQL spent planning and executing (cold caches,
    # first subject). The client-side sums include round trips on a shared machine; reported only.
    assert server["export_ms"] < 500, "export over 0.5 s of database time"
    assert server["erasure_ms"] < 500, "erasure over 0.5 s of database time"


def unindexed_subject_paths() -> list[str]:
    """Every foreign-key column on a registered model's path to the subject must lead an index,
    so the export and erasure lookups stay index scans when the (here empty) tables grow."""
    from django.db import connection

    from subjects.registry import registry

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, a.attname FROM pg_index i
            JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
            """
        )
        leading = set(cursor.fetchall())
    missing = []
    for entry in registry.entries():
        model = entry.model
        for hop in [h for h in (entry.subject_path or "").split("__") if h]:
            field = model._meta.get_field(hop)
            if (model._meta.db_table, field.column) not in leading:
                missing.append(f"{model._meta.db_table}.{field.column}")
            model = field.related_model
    return missing


def slowest(recorder: Recorder, n: int = 5) -> list[dict]:
    def server(s):
        return s["plan"].get("Planning Time", 0) + s["plan"].get("Execution Time", 0) if s["plan"] else 0

    ranked = sorted(recorder.statements, key=lambda s: -s["ms"])[:n]
    return [
        {"ms": round(s["ms"], 2), "server_ms": round(server(s), 3), "sql": " ".join(s["sql"].split())[:200]}
        for s in ranked
    ]


def fresh_subject_at(pk: int):
    from django.utils import timezone

    from consent.services import grant_consent
    from dsar.models import DataSubjectRequest, RequestChannel, RequestStatus, VerificationMethod
    from subjects.models import DataSubject

    subject = DataSubject.objects.get(pk=pk)
    grant_consent(subject=subject, purpose="marketing", channel="web_form", notice_text="Newsletter v1")
    made = {}
    for kind in ("access", "deletion"):
        made[kind] = DataSubjectRequest.objects.create(
            request_type=kind,
            channel=RequestChannel.WEB_FORM,
            name=subject.name,
            email=subject.email,
            status=RequestStatus.VERIFIED,
            verified_at=timezone.now(),
            verification_method=VerificationMethod.EMAIL_LINK,
            subject=subject,
        )
    return subject, made


if __name__ == "__main__":
    main()
