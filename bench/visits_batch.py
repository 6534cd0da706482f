"""Visits over HTTP: POST /api/visits/batch (1,000 visits a call) against POST /api/visits (one),
in the same run, on the same gunicorn server (gunicorn.conf.py) and PostgreSQL, driven by wrk.

Rows/s is what the database holds afterwards (rows counted before and after each run, divided by
wrk's duration), not what wrk believes it sent. Rounds interleave the endpoints; each ratio is
taken against the single-visit endpoint of its own round. The workers' resident memory is read
before the first and after the last batch run: it must not grow with the number of batches.

    python bench/visits_batch.py                          # 3 rounds of 15 s per endpoint
    python bench/visits_batch.py --duration 3 --rounds 1  # quick (make bench-quick)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

from common import ROOT
from load_public import LUA, PYTHON, _wrk, psql, server_env, sh

PORT = 8765
COUNT = "SELECT count(*) FROM subjects_visitlog"

ONE = (
    'string.format(\'{"path": "/load/%d", "ip": "203.0.113.%d", "user_agent": "wrk", "cookie_id": "c%d"}\', '
    "math.random(1e9), math.random(1, 254), math.random(1e9))"
)
# A batch built in Lua per request: every visit different, an external_ref on each when asked
# (the reference lookup and the unique index then cost what they cost a real website).
BATCH_LUA = r"""
function BATCH(size, refs)
  local parts = {}
  local run = math.random(1e9)
  for i = 1, size do
    local ref = ""
    if refs then ref = string.format(', "external_ref": "r%d-%d-%d"', RUN_SEED, run, i) end
    parts[i] = string.format('{"path": "/load/%d", "ip": "203.0.113.%d", "user_agent": "wrk", "cookie_id": "c%d"%s}',
      math.random(1e9), math.random(1, 254), math.random(1e9), ref)
  end
  return '{"visits": [' .. table.concat(parts, ",") .. ']}'
end
"""


def _worker_rss_mb(server_pid: int) -> float:
    """Resident memory of the gunicorn workers (the master's children), in MB."""
    total = 0
    for pid in sh("pgrep", "-P", str(server_pid), check=False).split():
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def _workers_cpu_s(server_pid: int) -> float:
    """CPU seconds (user + system) the gunicorn master's children have used so far."""
    ticks = 0
    for pid in sh("pgrep", "-P", str(server_pid), check=False).split():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint and round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--connections-single", type=int, default=16)
    parser.add_argument("--connections-batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=(os.cpu_count() or 1) + 1, help="as gunicorn.conf.py")
    parser.add_argument("--database", default="privacyops_bench_visits_batch")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{args.database}"
    database = database_url.rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], capture_output=True)
    env = server_env(database_url)
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    psql(database_url, "TRUNCATE subjects_visitlog")
    key = sh(
        PYTHON,
        "manage.py",
        "shell",
        "-c",
        "from audit.models import ApiClient, ApiScope\n"
        "ApiClient.objects.filter(name='load-test').delete()\n"
        "c = ApiClient(name='load-test', scopes=[ApiScope.VISITS_WRITE]); k = c.issue_key(); c.save(); print(k)",
        env=env,
    ).split()[-1]

    endpoints = [
        ("POST /api/visits (one visit)", "/api/visits", ONE, args.connections_single, 1),
        (
            f"POST /api/visits/batch ({args.batch_size}, no external_ref)",
            "/api/visits/batch",
            f"BATCH({args.batch_size}, false)",
            args.connections_batch,
            args.batch_size,
        ),
        (
            f"POST /api/visits/batch ({args.batch_size}, external_ref each)",
            "/api/visits/batch",
            f"BATCH({args.batch_size}, true)",
            args.connections_batch,
            args.batch_size,
        ),
    ]
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{PORT}"]
        + ["--workers", str(args.web_workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    runs: dict[str, list[dict]] = {e[0]: [] for e in endpoints}
    rss: list[float] = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz/live", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        for round_number in range(args.rounds):
            for name, path, body, connections, size in endpoints:
                lua = [
                    'wrk.method = "POST"',
                    'wrk.headers["Content-Type"] = "application/json"',
                    f'wrk.headers["X-API-Key"] = "{key}"',
                    BATCH_LUA,
                    f"function BODY() return {body} end",
                    LUA,
                ]
                run_args = argparse.Namespace(threads=min(args.threads, connections), connections=connections)
                if round_number == 0:
                    _wrk(run_args, lua, path, args.warmup)
                    time.sleep(1)
                if size > 1 and not rss:
                    rss.append(_worker_rss_mb(server.pid))
                before = int(psql(database_url, COUNT))
                began = time.monotonic()
                cpu_before = _workers_cpu_s(server.pid)
                result = _wrk(run_args, lua, path, args.duration)
                time.sleep(1)  # requests in flight when wrk stopped
                result["rows"] = int(psql(database_url, COUNT)) - before
                result["web_cpu_ms_per_1000_rows"] = (
                    (_workers_cpu_s(server.pid) - cpu_before) * 1e6 / result["rows"] if result["rows"] else None
                )
                result["rows_per_s"] = result["rows"] / args.duration
                result["seconds"] = round(time.monotonic() - began, 1)
                result["connections"] = connections
                runs[name].append(result)
                result["x_single"] = result["rows_per_s"] / runs[endpoints[0][0]][-1]["rows_per_s"]
                print(json.dumps({"round": round_number + 1, "name": name, **result}), flush=True)
        rss.append(_worker_rss_mb(server.pid))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print()
    print(
        f"gunicorn {args.web_workers} sync workers, PostgreSQL on 127.0.0.1, wrk {args.threads} threads; "
        f"{args.rounds} round(s) of {args.duration} s per endpoint; medians over the rounds"
    )
    print(
        "| endpoint | connections | requests/s | rows/s | x single | p50 ms | p99 ms | gunicorn CPU per 1,000 rows "
        "| non-2xx | rows written |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, results in runs.items():
        print(
            f"| {name} | {results[0]['connections']} | {statistics.median(r['rps'] for r in results):.0f} | "
            f"{statistics.median(r['rows_per_s'] for r in results):,.0f} | "
            f"{statistics.median(r['x_single'] for r in results):.1f} | "
            f"{statistics.median(r['p50_ms'] for r in results):.1f} | "
            f"{statistics.median(r['p99_ms'] for r in results):.1f} | "
            f"{statistics.median(r['web_cpu_ms_per_1000_rows'] or 0 for r in results):,.0f} ms | "
            f"{sum(r['other'] + r['errors'] for r in results)} | {sum(r['rows'] for r in results):,} |"
        )
    print(f"workers' resident memory: {rss[0]:.0f} MB before the first batch run, {rss[-1]:.0f} MB after the last")
    failed = [name for name, results in runs.items() if any(r["other"] for r in results)]
    if failed:
        print(f"NON-2xx ANSWERS: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
