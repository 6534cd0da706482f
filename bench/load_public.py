"""Load test of the public endpoints: gunicorn + PostgreSQL on 127.0.0.1, driven by wrk.

Each endpoint is compared with a trivial view served by the same server (/healthz/live: no
database, no broker), which is the ceiling on this machine. After each run the rows written are
counted and compared with the 2xx responses wrk received, so a lost request shows.

    python bench/load_public.py                       # 3 rounds of 15 s per endpoint, 32 connections
    python bench/load_public.py --duration 5 --write  # and append the table to docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime

from common import ROOT

PYTHON = sys.executable
PORT = 8765

LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("seed", RUN_SEED + #threads) end
-- LuaJIT seeds every thread alike: without this, threads would post the same emails and the
-- request form's per-address limit would refuse the repeats.
function init(args) ok = 0; other = 0; math.randomseed(seed) end
request = function()
  return wrk.format(nil, nil, nil, BODY())
end
function response(status, headers, body)
  if status >= 200 and status < 400 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, t in ipairs(threads) do total_ok = total_ok + t:get("ok"); total_other = total_other + t:get("other") end
  io.write(string.format('RESULT {"ok": %d, "other": %d, "errors": %d, "rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f}\n',
    total_ok, total_other, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

# name, method, path, headers, Lua expression producing the body, SQL counting the rows it writes
ENDPOINTS = [
    ("trivial view (ceiling)", "GET", "/healthz/live", {}, '""', None),
    (
        "POST /api/visits",
        "POST",
        "/api/visits",
        {"Content-Type": "application/json", "X-API-Key": "{key}"},
        'string.format(\'{"path": "/load/%d", "ip": "203.0.113.%d", "user_agent": "wrk"}\', math.random(1e9), '
        "math.random(1, 254))",
        "SELECT count(*) FROM subjects_visitlog",
    ),
    (
        "POST /api/consent/cookies",
        "POST",
        "/api/consent/cookies",
        {"Content-Type": "application/json"},
        'string.format(\'{"visitor_id": "%08x%08x%08x%08x", "banner_version": "{banner}", "language": "ko", '
        '"choice": "allow_all"}\', math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), '
        "math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))",
        "SELECT count(*) FROM consent_cookieconsentrecord",
    ),
    (
        "POST /dsar/ (request form)",
        "POST",
        "/dsar/",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "csrftoken={csrf_cookie}"},
        "string.format('csrfmiddlewaretoken={csrf_token}&request_type=access&name=Load%%20Test&"
        "email=load%d%%40example.com&phone=&details=', math.random(1e9))",
        "SELECT count(*) FROM dsar_datasubjectrequest",
    ),
]


def sh(*args: str, env: dict | None = None, check: bool = True) -> str:
    return subprocess.run(args, cwd=ROOT, env=env, check=check, capture_output=True, text=True).stdout


def psql(database_url: str, sql: str) -> str:
    return sh("psql", database_url, "-tAc", sql).strip()


def _fill(template: str, values: dict) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _page_values(env: dict) -> dict:
    """What a browser would hold: a CSRF cookie and form token, and the banner's version."""
    response = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/dsar/", timeout=10)  # noqa: S310
    cookie = response.headers.get("Set-Cookie", "").split("csrftoken=", 1)[1].split(";", 1)[0]
    page = response.read().decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    banner = sh(
        PYTHON, "manage.py", "shell", "-c", "from consent import banner; print(banner.banner_version())", env=env
    )
    return {"csrf_cookie": cookie, "csrf_token": token, "banner": banner.split()[-1]}


def _wrk(args, lua: list[str], path: str, seconds: int, base: str | None = None) -> dict:
    """One wrk run against `base` (this script's server unless given), its RESULT line as a dict."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        # A fresh seed for every run, so no run repeats another's emails and ids.
        script.write("\n".join([f"RUN_SEED = {random.randrange(1, 2**31)}", *lua]))
    try:
        out = sh(
            "wrk",
            *("-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds}s", "--latency"),
            *("-s", script.name, f"{base or f'http://127.0.0.1:{PORT}'}{path}"),
        )
    finally:
        os.unlink(script.name)
    if "RESULT " not in out:
        raise SystemExit(f"wrk gave no result for {path}:\n{out}")
    return json.loads(out.split("RESULT ", 1)[1].splitlines()[0])


def _median(results: list[dict], field: str) -> float:
    return statistics.median(r[field] for r in results)


def server_env(database_url: str, broker_url: str | None = None) -> dict[str, str]:
    """The environment of a benchmarked server: production settings (DEBUG off, fresh secrets),
    on 127.0.0.1, the given database, Redis as the broker, the per-address limits lifted."""
    return {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ACCESS_LOG_CHAIN_KEY": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url or os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15"),
        "LOG_LEVEL": "WARNING",
        # The per-address limits would (rightly) stop one client sending thousands of requests.
        "DSAR_RATE_LIMIT_PER_IP_PER_HOUR": "100000000",
        "CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE": "100000000",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load before each endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=(os.cpu_count() or 1) + 1, help="as gunicorn.conf.py")
    parser.add_argument("--database", default="privacyops_bench")
    parser.add_argument("--write", action="store_true", help="append the results to docs/BENCHMARKS.md")
    parser.add_argument("--only", help="run only the endpoints whose name contains this text (and the ceiling)")
    args = parser.parse_args()

    database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], capture_output=True)
    env = server_env(database_url)
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    # The release step of a deployment: with DEBUG off, pages name their static files (the favicon,
    # the admin's CSS) through the manifest collectstatic writes.
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", env=env)
    key = sh(
        PYTHON,
        "manage.py",
        "shell",
        "-c",
        "from audit.models import ApiClient, ApiScope\n"
        "ApiClient.objects.filter(name='load-test').delete()\n"
        "c = ApiClient(name='load-test', scopes=list(ApiScope.values)); k = c.issue_key(); c.save(); print(k)",
        env=env,
    ).split()[-1]  # the key is the last word printed; start-up may log lines before it

    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(args.web_workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz/live", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        values = {"key": key, **_page_values(env)}
        endpoints = [e for e in ENDPOINTS if not (args.only and e[5] and args.only not in e[0])]
        # Rounds of every endpoint in turn, each ratio taken against the ceiling of its own round:
        # a neighbour's load on a shared machine then shifts both figures of a ratio alike.
        runs: dict[str, list[dict]] = {e[0]: [] for e in endpoints}
        for round_number in range(args.rounds):
            for name, method, path, headers, body, count_sql in endpoints:
                lua = [f'wrk.method = "{method}"']
                lua += [f'wrk.headers["{header}"] = "{value.format(**values)}"' for header, value in headers.items()]
                lua += [f"function BODY() return {_fill(body, values)} end", LUA]
                if round_number == 0:
                    # Each worker's first requests load templates, translations and its database
                    # connection; measured, they would be the p99 of a short run, not steady state.
                    _wrk(args, lua, path, args.warmup)
                    time.sleep(1)
                before = int(psql(database_url, count_sql)) if count_sql else 0
                result = _wrk(args, lua, path, args.duration)
                time.sleep(1)  # let in-flight requests finish before counting rows
                result["rows"] = int(psql(database_url, count_sql)) - before if count_sql else None
                runs[name].append(result)
                result["ratio"] = result["rps"] / runs[ENDPOINTS[0][0]][-1]["rps"]
                print(json.dumps({"round": round_number + 1, "name": name, **result}))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    lines = [
        f"### Public endpoints under load ({datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()})",
        "",
        f"gunicorn (gunicorn.conf.py) with {args.web_workers} sync workers and PostgreSQL on 127.0.0.1; wrk "
        f"{args.threads} threads, {args.connections} connections; {args.rounds} round(s) of {args.duration} s per "
        "endpoint, medians over the rounds, each ratio against the ceiling of its own round; 2xx, errors and rows "
        "summed over the rounds.",
        "",
        "| endpoint | requests/s | ratio to ceiling | p50 ms | p99 ms | 2xx | other | socket errors | rows written |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, results in runs.items():
        rows = None if results[0]["rows"] is None else sum(r["rows"] for r in results)
        lines.append(
            f"| {name} | {_median(results, 'rps'):.0f} | {_median(results, 'ratio'):.2f} | "
            f"{_median(results, 'p50_ms'):.1f} | {_median(results, 'p99_ms'):.1f} | "
            f"{sum(r['ok'] for r in results)} | {sum(r['other'] for r in results)} | "
            f"{sum(r['errors'] for r in results)} | {'' if rows is None else rows} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write:
        with open(ROOT / "docs" / "BENCHMARKS.md", "a") as f:
            f.write("\n" + table + "\n")
    lost = [
        name for name, results in runs.items() if any(r["rows"] is not None and r["rows"] < r["ok"] for r in results)
    ]
    if lost:
        print(f"LOST REQUESTS: {lost}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
