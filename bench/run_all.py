"""Run every benchmark in bench/ against PostgreSQL and write a dated section to docs/BENCHMARKS.md.

    python bench/run_all.py            # full sizes (tens of minutes: millions of rows)
    python bench/run_all.py --quick    # small sizes, for CI: proves each benchmark still runs

Each script prints its own figures and the ratio to its anchor measured in the same run (raw
DELETE for the purge, a trivial view for the load test); this collects them with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from common import ROOT, cpu_model

# script, full-size arguments, quick arguments
BENCHMARKS = [
    ("retention_purge.py", [], ["--rows", "20000", "--repeat", "1"]),
    ("consent_audience.py", [], ["--subjects", "20000", "--runs", "3"]),
    ("dsar_subject.py", [], ["--scale", "0.01", "--repeat", "3"]),
    ("audit_access_log.py", [], ["--rows", "2000"]),
    ("policy_notices.py", [], ["--subjects", "2000"]),
    ("load_public.py", [], ["--duration", "3", "--connections", "8", "--rounds", "1", "--warmup", "1"]),
    ("retention_run.py", [], ["--due", "0,2000", "--repeat", "1"]),
    ("consent_write.py", [], ["--rounds", "2", "--requests", "50"]),
    ("visits_batch.py", [], ["--duration", "3", "--rounds", "1", "--warmup", "1"]),
    ("partition_drop.py", [], ["--sizes", "20000:6000", "--repeat", "1"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    started = datetime.now(UTC)
    sections, failed = [], []
    for script, full, quick in BENCHMARKS:
        arguments = quick if args.quick else full
        print(f"== {script} {' '.join(arguments)}", flush=True)
        began = time.monotonic()
        # Each benchmark wipes the tables it fills: give it a PostgreSQL database of its own, never
        # the DATABASE_URL of the environment (that may be someone's development data).
        database = f"privacyops_bench_{Path(script).stem}"
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], capture_output=True)
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), *arguments],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}"},
            capture_output=True,
            text=True,
        )
        output = (result.stdout + ("\n" + result.stderr[-3000:] if result.returncode else "")).strip()
        print(output, flush=True)
        if result.returncode:
            failed.append(script)
        sections.append(
            f"#### `bench/{script} {' '.join(arguments)}`"
            f" ({time.monotonic() - began:.0f} s{', FAILED' if result.returncode else ''})\n\n```\n{output}\n```\n"
        )
    heading = (
        f"\n## Suite run {started:%Y-%m-%d %H:%M} UTC ({'quick sizes' if args.quick else 'full sizes'})\n\n"
        f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
        "PostgreSQL and Redis on 127.0.0.1.\n\n"
    )
    if not args.no_write:
        with open(ROOT / "docs" / "BENCHMARKS.md", "a") as f:
            f.write(heading + "\n".join(sections))
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
