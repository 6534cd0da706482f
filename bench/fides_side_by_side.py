"""Side by side with Ethyca's Fides (an open-source peer): the same three jobs on both servers,
same machine, same load tool (wrk), interleaved rounds.

1. A privacy request from the public: ours `POST /dsar/` (the request form, CSRF token) against
   Fides' `POST /api/v1/privacy-request` (one request, an email identity, a policy this script
   creates through Fides' API).
2. An anonymous visitor's cookie choice: ours `POST /api/consent/cookies` against what Fides'
   open-source server offers anonymous visitors, `POST /api/v1/consent-request` (a device id)
   followed by `PATCH /api/v1/consent-request/{id}/preferences` (three data uses); a choice on
   Fides is those two HTTP requests, and its figures are per choice (latency per HTTP request).
3. A known person's consent write: ours `POST /api/consent/{subject}` (API key) against Fides'
   `PATCH /api/v1/consent-request/{id}/preferences` for an email identity (one data use), both
   alternating grant and withdrawal over 50 people.

For each run: requests/s, p50/p99, the CPU the server's processes used per request (utime +
stime of the server and its children from /proc, before and after) and the CPU of the
PostgreSQL backends connected to its database; 2xx against everything else, and the rows that
landed in each side's database, so a request that answered but did nothing shows. Ratios are
ours/Fides within one round; the tables give medians over the rounds.

    python bench/fides_side_by_side.py                        # starts both servers, 3 rounds of 10 s
    python bench/fides_side_by_side.py --fides-url http://127.0.0.1:8080 --fides-pid 1234

Installing Fides for it (never into the project's venv: its pins clash with ours). The newest
`ethyca-fides` for Python 3.11 is 2.78.2 (2.79 and later need Python 3.13):

    python3.11 -m venv /work/fides-venv && /work/fides-venv/bin/pip install 'ethyca-fides==2.78.2'
    createdb -h 127.0.0.1 -U postgres fides

Without --fides-url the script starts `uvicorn fides.api.main:app` from --fides-venv on
127.0.0.1 with PostgreSQL database --fides-database and Redis db --fides-redis-db (Fides migrates
its database at start-up, a minute or two the first time), manual approval of privacy requests
on (so no request is executed: both sides only record it), identity verification off, and an
OAuth root client made up for the run. Fides encrypts rows with --fides-encryption-key: a
database it has used needs the same key again (else it stops at start-up with "Error occurred
during database configuration"); a different key needs a new database. Its log goes to
$TMPDIR/fides_side_by_side.fides.log. With no Fides to
start or reach it says so and exits with status 2. Not part of bench/run_all.py.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import load_public
from common import ROOT, cpu_model
from load_public import ENDPOINTS, LUA, PYTHON, _fill, _page_values, _wrk, psql, server_env, sh

PURPOSE = "personalised_content"
FIDES_DATA_USE = "marketing.advertising"
PEOPLE = 50

# On Fides only 2xx counts (its API answers a redirect only for a wrong path).
STRICT_LUA = LUA.replace("status < 400", "status < 300")

# A consent write per request, over PEOPLE people; each thread starts at a random place so that
# the two threads do not send the same write at the same moment.
PER_PERSON = r"""
request = function()
  n = (n or math.random(0, 999)) + 1
  local grant = math.floor(n / #PEOPLE) % 2 == 0
  return wrk.format(nil, PATH(PEOPLE[(n % #PEOPLE) + 1]), nil, BODY(grant))
end
"""

# Fides' anonymous choice: a consent request for a new device id, then its preferences. Each id
# answered is queued and the connection's next request sets its preferences.
FIDES_COOKIE_LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("seed", RUN_SEED + #threads) end
function init(args) ok = 0; other = 0; choices = 0; queue = {}; math.randomseed(seed) end
local function device_id()
  return string.format("%08x-%04x-4%03x-a%03x-%06x%06x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end
request = function()
  local id = table.remove(queue)
  if id then
    return wrk.format("PATCH", "/api/v1/consent-request/" .. id .. "/preferences", nil, PREFERENCES)
  end
  return wrk.format("POST", "/api/v1/consent-request", nil,
    string.format('{"identity": {"fides_user_device_id": "%s"}}', device_id()))
end
function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    local id = body:match('"consent_request_id":%s*"([^"]+)"')
    if id then table.insert(queue, id) else choices = choices + 1 end
  else
    other = other + 1
  end
end
function done(summary, latency, requests)
  local total_ok, total_other, total_choices = 0, 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok"); total_other = total_other + t:get("other")
    total_choices = total_choices + t:get("choices")
  end
  io.write(string.format('RESULT {"ok": %d, "other": %d, "errors": %d, "rps": %.1f, "p50_ms": %.2f, '
    .. '"p99_ms": %.2f, "units": %d}\n', total_ok, total_other,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    total_choices))
end
"""


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += [int(p) for p in sh("pgrep", "-P", str(current), check=False).split()]
    return pids


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0


def _cpu_snapshot(server_pid: int, database_url: str) -> dict:
    """CPU ticks so far of the server's processes, and of each PostgreSQL backend on its database."""
    database = database_url.rsplit("/", 1)[1]
    backends = psql(
        database_url, f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    ).split()
    return {
        "server": sum(_ticks(p) for p in _tree(server_pid)),
        "backends": {int(p): _ticks(int(p)) for p in backends},
    }


def _cpu_used_ms(before: dict, after: dict) -> tuple[float, float]:
    """(server, PostgreSQL backends) CPU ms between two snapshots. A backend that closed in between
    is missed; one that opened counts whole."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    db = sum(t - before["backends"].get(p, 0) for p, t in after["backends"].items())
    return (after["server"] - before["server"]) * tick_ms, db * tick_ms


def _listening_pid(port: int) -> int | None:
    out = sh("ss", "-Hltnp", f"sport = :{port}", check=False)
    if "pid=" not in out:
        return None
    return int(out.split("pid=", 1)[1].split(",", 1)[0])


def _http(method: str, url: str, body=None, token: str | None = None, form: bool = False):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def _wait(url: str, seconds: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310
            return True
        except OSError:
            time.sleep(0.5)
    return False


def _fides_uvicorn(args) -> Path:
    """Fides' uvicorn in --fides-venv, or a clear exit (status 2) when there is none."""
    uvicorn = Path(args.fides_venv) / "bin" / "uvicorn"
    python = Path(args.fides_venv) / "bin" / "python"
    if not uvicorn.exists() or subprocess.run([str(python), "-c", "import fides"], capture_output=True).returncode:
        print(
            f"No Fides to compare with: {args.fides_venv} has no ethyca-fides (see this script's docstring to "
            "install it), and no --fides-url was given.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return uvicorn


def _start_fides(args, client_id: str, client_secret: str) -> subprocess.Popen:
    uvicorn = _fides_uvicorn(args)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.fides_database], capture_output=True)
    env = {
        **os.environ,
        "FIDES__DATABASE__SERVER": "127.0.0.1",
        "FIDES__DATABASE__PORT": "5432",
        "FIDES__DATABASE__USER": "postgres",
        "FIDES__DATABASE__PASSWORD": "postgres",  # trust authentication: any password will do
        "FIDES__DATABASE__DB": args.fides_database,
        "FIDES__REDIS__HOST": "127.0.0.1",
        "FIDES__REDIS__PORT": "6379",
        "FIDES__REDIS__DB_INDEX": str(args.fides_redis_db),
        "FIDES__REDIS__PASSWORD": "",
        "FIDES__REDIS__SSL": "false",
        # Fides encrypts rows with this key: a database it started with a key needs the same key again.
        "FIDES__SECURITY__APP_ENCRYPTION_KEY": args.fides_encryption_key,
        "FIDES__SECURITY__OAUTH_ROOT_CLIENT_ID": client_id,
        "FIDES__SECURITY__OAUTH_ROOT_CLIENT_SECRET": client_secret,
        "FIDES__SECURITY__ENV": "prod",
        # Privacy requests wait for a person's approval: recorded, not executed (as ours).
        "FIDES__EXECUTION__REQUIRE_MANUAL_REQUEST_APPROVAL": "true",
        "FIDES__EXECUTION__SUBJECT_IDENTITY_VERIFICATION_REQUIRED": "false",
        "FIDES__USER__ANALYTICS_OPT_OUT": "true",
        "FIDES__LOGGING__LEVEL": "WARNING",
    }
    # Several uvicorn workers on a new database race each other through Fides' migrations (seen:
    # "duplicate key ... alembic_version", a worker fails, uvicorn stops): one worker migrates first.
    counts = [1, args.fides_workers] if args.fides_workers > 1 else [1]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "fides_side_by_side.fides.log", "w")  # noqa: SIM115
    for workers in counts:
        command = [str(uvicorn), "fides.api.main:app", "--host", "127.0.0.1", "--port", str(args.fides_port)]
        command += ["--log-level", "warning", "--workers", str(workers)]
        process = subprocess.Popen(
            command,
            cwd=tempfile.mkdtemp(prefix="fides-side-by-side-"),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not _wait(f"http://127.0.0.1:{args.fides_port}/health", 240, process):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            raise SystemExit(f"Fides did not start; its log: {log.name}")
        if workers != counts[-1]:
            _stop(process)
    return process


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:  # seen when it had stalled (docs/BENCHMARKS.md)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _fides_setup(base: str, client_id: str, client_secret: str) -> dict:
    """An OAuth token, an access policy of the run's own, and one consent request per person."""
    token = _http(
        "POST",
        f"{base}/api/v1/oauth/token",
        {"client_id": client_id, "client_secret": client_secret, "grant_type": "client_credentials"},
        form=True,
    )["access_token"]
    policy = "bench_side_by_side"
    _http("PATCH", f"{base}/api/v1/dsr/policy", [{"name": "Side by side", "key": policy}], token)
    rule = [{"name": "Side by side access", "key": f"{policy}_access", "action_type": "access"}]
    answer = _http("PATCH", f"{base}/api/v1/dsr/policy/{policy}/rule", rule, token)
    if answer["failed"] and "already" not in json.dumps(answer["failed"]):
        raise SystemExit(f"Fides refused the policy rule: {answer['failed']}")
    people = [
        _http("POST", f"{base}/api/v1/consent-request", {"identity": {"email": f"bench{i}@example.com"}})[
            "consent_request_id"
        ]
        for i in range(PEOPLE)
    ]
    for person in people:  # each person's consent row exists before the load (no two first writes race)
        body = {"consent": [{"data_use": FIDES_DATA_USE, "opt_in": True}]}
        _http("PATCH", f"{base}/api/v1/consent-request/{person}/preferences", body)
    version = _http("GET", f"{base}/health")["version"]
    return {"token": token, "policy": policy, "people": people, "version": version}


def _scenarios(ours: dict, fides: dict) -> list[dict]:
    by_name = {e[0]: e for e in ENDPOINTS}
    _, _, dsar_path, dsar_headers, dsar_body, dsar_count = by_name["POST /dsar/ (request form)"]
    _, _, cookie_path, cookie_headers, cookie_body, cookie_count = by_name["POST /api/consent/cookies"]
    people_ours = "PEOPLE = {" + ",".join(ours["people"]) + "}"
    people_fides = "PEOPLE = {" + ",".join(f'"{p}"' for p in fides["people"]) + "}"
    json_header = ['wrk.headers["Content-Type"] = "application/json"']
    values = {k: v for k, v in ours.items() if isinstance(v, str)}
    return [
        {
            "name": "privacy request",
            "ours": {
                "label": "POST /dsar/",
                "path": dsar_path,
                "lua": ['wrk.method = "POST"']
                + [f'wrk.headers["{h}"] = "{v.format(**values)}"' for h, v in dsar_headers.items()]
                + [f"function BODY() return {_fill(dsar_body, values)} end", LUA],
                "count": dsar_count,
            },
            "fides": {
                "label": "POST /api/v1/privacy-request",
                "path": "/api/v1/privacy-request",
                "lua": ['wrk.method = "POST"', *json_header]
                + [
                    'function BODY() return string.format(\'[{"identity": {"email": "load%d@example.com"}, '
                    f'"policy_key": "{fides["policy"]}"}}]\', math.random(1e9)) end',
                    STRICT_LUA,
                ],
                "count": "SELECT count(*) FROM privacyrequest",
            },
        },
        {
            "name": "cookie choice (anonymous)",
            "ours": {
                "label": "POST /api/consent/cookies",
                "path": cookie_path,
                "lua": ['wrk.method = "POST"']
                + [f'wrk.headers["{h}"] = "{v}"' for h, v in cookie_headers.items()]
                + [f"function BODY() return {_fill(cookie_body, values)} end", LUA],
                "count": cookie_count,
            },
            "fides": {
                "label": "POST consent-request + PATCH its preferences",
                "path": "/api/v1/consent-request",
                "lua": [
                    *json_header,
                    "PREFERENCES = '"
                    + json.dumps(
                        {"consent": [{"data_use": u, "opt_in": True} for u in ("marketing", "analytics", "functional")]}
                    )
                    + "'",
                    FIDES_COOKIE_LUA,
                ],
                "count": "SELECT count(*) FROM consent",
            },
        },
        {
            "name": "per-person consent write",
            "ours": {
                "label": "POST /api/consent/{subject}",
                "path": "/api/consent/",
                "lua": ['wrk.method = "POST"', *json_header, f'wrk.headers["X-API-Key"] = "{ours["consent_key"]}"']
                + [
                    people_ours,
                    'function PATH(p) return "/api/consent/" .. p end',
                    'function BODY(grant) return string.format(\'{"purpose": "'
                    + PURPOSE
                    + '", "action": "%s", "channel": "web_form", "notice_text": "I agree."}\', '
                    'grant and "grant" or "withdraw") end',
                    LUA,
                    PER_PERSON,
                ],
                "count": "SELECT count(*) FROM consent_consentevent",
            },
            "fides": {
                "label": "PATCH /api/v1/consent-request/{id}/preferences",
                "path": "/api/v1/consent-request/",
                "lua": ['wrk.method = "PATCH"', *json_header]
                + [
                    people_fides,
                    'function PATH(p) return "/api/v1/consent-request/" .. p .. "/preferences" end',
                    'function BODY(grant) return string.format(\'{"consent": [{"data_use": "'
                    + FIDES_DATA_USE
                    + '", "opt_in": %s}]}\', grant and "true" or "false") end',
                    STRICT_LUA,
                    PER_PERSON,
                ],
                # Rows are updated in place: count the people whose consent row changed in the run.
                "count": "SELECT count(*) FROM consent WHERE updated_at >= '{since}'::timestamptz",
            },
        },
    ]


def _measure(args, side: dict, base: str, server_pid: int, database_url: str, seconds: int) -> dict:
    since = psql(database_url, "SELECT now()")
    count_sql = side["count"].replace("{since}", since)
    before_rows = 0 if "{since}" in side["count"] else int(psql(database_url, count_sql))
    before = _cpu_snapshot(server_pid, database_url)
    result = _wrk(args, side["lua"], side["path"], seconds, base=base)
    time.sleep(1)  # in-flight requests finish before the counts
    after = _cpu_snapshot(server_pid, database_url)
    result["rows"] = int(psql(database_url, count_sql)) - before_rows
    # What a job is done per second: a Fides cookie choice is two HTTP requests, answered 2xx.
    units = result.setdefault("units", result["ok"])
    answered = result["ok"] + result["other"]
    result["units_per_s"] = result["rps"] * units / answered if answered else 0.0
    server_ms, db_ms = _cpu_used_ms(before, after)
    result["server_cpu_ms"] = server_ms / units if units else None
    result["db_cpu_ms"] = db_ms / units if units else None
    return result


def _start_ours(args, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{args.port}"]
        + ["--workers", str(args.web_workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    if not _wait(f"http://127.0.0.1:{args.port}/healthz/live", 60, server):
        raise SystemExit("our server did not start")
    return server


def _ours_setup(args, env: dict) -> dict:
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", env=env)
    out = sh(
        PYTHON,
        "manage.py",
        "shell",
        "-c",
        "from audit.models import ApiClient, ApiScope\n"
        "from subjects.models import DataSubject\n"
        "ApiClient.objects.filter(name='fides-side-by-side').delete()\n"
        "c = ApiClient(name='fides-side-by-side', scopes=[ApiScope.CONSENT_WRITE]); k = c.issue_key(); c.save()\n"
        f"ids = [DataSubject.objects.get_or_create(email=f'bench{{i}}@example.com', "
        f"defaults={{'source': 'automatic'}})[0].pk for i in range({PEOPLE})]\n"
        "print('SETUP', k, ','.join(map(str, ids)))",
        env=env,
    )
    key, ids = out.split("SETUP ", 1)[1].split()[:2]
    return {"consent_key": key, "people": ids.split(",")}


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(value, digits=1):
    return "" if value is None else f"{value:,.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint, side and round")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load before the first round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=(os.cpu_count() or 1) + 1, help="as gunicorn.conf.py")
    parser.add_argument("--port", type=int, default=8767, help="our server's port")
    parser.add_argument("--database", default="po_fides_ours", help="our PostgreSQL database")
    parser.add_argument("--redis-db", type=int, default=8, help="our Celery broker's Redis db")
    parser.add_argument("--fides-url", help="a running Fides (else one is started from --fides-venv)")
    parser.add_argument("--fides-pid", type=int, help="with --fides-url: its server's pid (else found by port)")
    parser.add_argument("--fides-client-id", default="fidesadmin", help="with --fides-url: its OAuth root client")
    parser.add_argument("--fides-client-secret", default="fidesadminsecret")
    parser.add_argument("--fides-venv", default="/work/fides-venv")
    parser.add_argument("--fides-port", type=int, default=8768)
    parser.add_argument("--fides-settle", type=int, default=60, help="seconds to wait after starting Fides")
    parser.add_argument("--fides-workers", type=int, default=1, help="uvicorn workers (fides webserver runs one)")
    parser.add_argument("--fides-database", default="fides")
    parser.add_argument("--fides-redis-db", type=int, default=7)
    parser.add_argument(
        "--fides-encryption-key",
        default="side-by-side-bench-only-key-0001",
        help="32 characters; the same on every run against one Fides database (a benchmark's own, no secrets)",
    )
    parser.add_argument("--write", action="store_true", help="append the tables to docs/BENCHMARKS.md")
    args = parser.parse_args()

    ours_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], capture_output=True)
    env = server_env(ours_url, f"redis://127.0.0.1:6379/{args.redis_db}")
    if not args.fides_url:
        _fides_uvicorn(args)  # before anything else: no Fides, nothing to do
    ours = _ours_setup(args, env)
    fides_process = server = None
    if args.fides_url:
        fides_base = args.fides_url.rstrip("/")
        if not _wait(f"{fides_base}/health", 5):
            print(f"No Fides answers at {fides_base}/health.", file=sys.stderr)
            raise SystemExit(2)
        client_id, client_secret = args.fides_client_id, args.fides_client_secret
        fides_pid = args.fides_pid or _listening_pid(urllib.parse.urlsplit(fides_base).port or 80)
        if fides_pid is None:
            raise SystemExit("Cannot find the Fides server's pid (give --fides-pid): its CPU would go unmeasured.")
        fides_db = f"postgres://postgres@127.0.0.1:5432/{args.fides_database}"
    else:
        client_id, client_secret = "bench" + secrets.token_hex(4), secrets.token_urlsafe(24)
        fides_process = _start_fides(args, client_id, client_secret)
        # Observed on 2.78.2: in its first minute after /health answers, a fresh Fides stalled (a
        # 10 s round with no answer, then read timeouts); the cause was not established.
        time.sleep(args.fides_settle)
        fides_base, fides_pid = f"http://127.0.0.1:{args.fides_port}", fides_process.pid
        fides_db = f"postgres://postgres@127.0.0.1:5432/{args.fides_database}"

    load_public.PORT = args.port  # _page_values reads our form from there
    runs: dict[str, dict[str, list[dict]]] = {}
    try:
        server = _start_ours(args, env)
        ours.update(_page_values(env))
        fides = _fides_setup(fides_base, client_id, client_secret)
        scenarios = _scenarios(ours, fides)
        sides = {
            "ours": (f"http://127.0.0.1:{args.port}", server.pid, ours_url),
            "fides": (fides_base, fides_pid, fides_db),
        }
        for scenario in scenarios:  # first requests load code, templates, connections: unmeasured
            for side, (base, _, _) in sides.items():
                _wrk(args, scenario[side]["lua"], scenario[side]["path"], args.warmup, base=base)
        for round_number in range(args.rounds):
            for scenario in scenarios:
                order = ["ours", "fides"] if round_number % 2 == 0 else ["fides", "ours"]
                results = runs.setdefault(scenario["name"], {"ours": [], "fides": []})
                for side in order:
                    base, pid, database_url = sides[side]
                    result = _measure(args, scenario[side], base, pid, database_url, args.duration)
                    results[side].append(result)
                    print(json.dumps({"round": round_number + 1, "scenario": scenario["name"], "side": side, **result}))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if fides_process is not None:
            _stop(fides_process)

    load = os.getloadavg()
    lines = [
        f"Fides {fides['version']} (uvicorn, {args.fides_workers} process) and ours (gunicorn, "
        f"{args.web_workers} sync workers), PostgreSQL on 127.0.0.1; {os.cpu_count()} CPUs ({cpu_model()}); "
        f"wrk {args.threads} threads, {args.connections} connections; {args.rounds} interleaved round(s) of "
        f"{args.duration} s per side and job; medians over the rounds; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| job | side | endpoint | per s | p50 ms | p99 ms | server CPU ms | PostgreSQL CPU ms | 2xx | not 2xx "
        "| socket errors | rows |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {scenario["name"]: scenario for scenario in scenarios}
    for name, results in runs.items():
        for side in ("ours", "fides"):
            rs = results[side]
            med = {
                k: _median(r[k] for r in rs) for k in ("units_per_s", "p50_ms", "p99_ms", "server_cpu_ms", "db_cpu_ms")
            }
            lines.append(
                f"| {name} | {side} | `{labels[name][side]['label']}` | {_fmt(med['units_per_s'], 0)} "
                f"| {_fmt(med['p50_ms'])} | {_fmt(med['p99_ms'])} "
                f"| {_fmt(med['server_cpu_ms'], 2)} | {_fmt(med['db_cpu_ms'], 2)} "
                f"| {sum(r['ok'] for r in rs)} | {sum(r['other'] for r in rs)} | {sum(r['errors'] for r in rs)} "
                f"| {sum(r['rows'] for r in rs)} |"
            )
    lines += [
        "",
        "| job | ours/Fides per s (rounds) | median | ours/Fides server CPU per request (rounds) | median |",
        "|---|---|---:|---|---:|",
    ]
    for name, results in runs.items():
        pairs = list(zip(results["ours"], results["fides"], strict=True))
        rate = [o["units_per_s"] / f["units_per_s"] if f["units_per_s"] else None for o, f in pairs]
        cpu = [
            o["server_cpu_ms"] / f["server_cpu_ms"] if o["server_cpu_ms"] and f["server_cpu_ms"] else None
            for o, f in pairs
        ]
        lines.append(
            f"| {name} | {', '.join(_fmt(r, 2) for r in rate)} | **{_fmt(_median(rate), 2)}x** "
            f"| {', '.join(_fmt(c, 2) for c in cpu)} | {_fmt(_median(cpu), 2)}x |"
        )
    table = "\n".join(lines)
    print(table)
    if args.write:
        with open(ROOT / "docs" / "BENCHMARKS.md", "a") as f:
            f.write("\n" + table + "\n")
    failed = [
        f"{name} ({side})"
        for name, results in runs.items()
        for side in ("ours", "fides")
        if any(r["other"] or r["errors"] or not r["rows"] for r in results[side])
    ]
    if failed:
        print(f"NOT ALL REQUESTS SUCCEEDED OR LANDED: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
