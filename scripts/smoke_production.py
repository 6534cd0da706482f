"""Production smoke test: a clean install of the production layout works, on any port.

From requirements.txt alone, in a fresh virtual environment (no test tools), every module the
runtime imports is imported, then the Procfile's three processes run twice on a free port:

- production: DEBUG off, generated SECRET_KEY, FIELD_ENCRYPTION_KEY and ACCESS_LOG_CHAIN_KEY, a throwaway PostgreSQL
  database and a private Redis; migrate and collectstatic as a release step, then gunicorn (with
  gunicorn.conf.py), the Celery worker and beat, each started from its Procfile line as a process
  manager would, behind a pretend TLS proxy (X-Forwarded-Proto: https);
- embedded default: `make run` itself, on SQLite and the filesystem broker in a temporary folder.

In each run /healthz answers ok for the database and the broker, the admin sign-in page and its
stylesheet are served, a request posted through the /dsar/ form as a browser posts it gets its
verification email written by the worker with a link to this port, the link confirms the request,
and the confirmation page's "follow your request" link opens its status page. Beat has stored the
periodic jobs. Every process is stopped through its own process group, and must be gone.

    python3 scripts/smoke_production.py     # .ci/run runs it after lint

Quiet on success (one line); on failure the step, the reason and the last lines of each process's
log, and a non-zero exit. Every wait has a timeout. Needs python3 (3.11+), make, a PostgreSQL
server and redis-server (or SMOKE_REDIS_URL). Environment:

SMOKE_POSTGRES_URL: server for the throwaway database, created and dropped here
    (default postgres://postgres@127.0.0.1:5432/postgres).
SMOKE_REDIS_URL: an existing Redis database nothing else uses, instead of a private redis-server.
SMOKE_KEEP: any value keeps the temporary folder (virtual environment, logs, mail) afterwards.

Variables the script does not set may still come from a .env in the checkout.
"""

from __future__ import annotations

import base64
import email
import email.policy
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LOG_TAIL_LINES = 40

# Run inside the fresh environment: import everything the runtime imports. kombu loads its
# transports, and Django its database backend, only when first used; import them here, so a
# missing dependency is named now instead of surfacing as "broker: down" in production.
IMPORT_CHECK = r"""
import importlib, os, pkgutil, runpy, sys, traceback
from pathlib import Path
root = Path.cwd()
sys.path.insert(0, str(root))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacyops.settings")
import django
django.setup()
from django.conf import settings
failed = []
def attempt(name, load):
    try:
        load()
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
packages = ["privacyops"] + [
    app.split(".")[0] for app in settings.INSTALLED_APPS if (root / app.split(".")[0] / "__init__.py").exists()
]
for package in dict.fromkeys(packages):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        attempt(info.name, lambda: importlib.import_module(info.name))
for name in (
    "kombu.transport.redis", "kombu.transport.filesystem", "redis", "django.db.backends.postgresql.base",
    "django.db.backends.sqlite3.base", "django.core.cache.backends.redis", "django_celery_beat.schedulers",
    "gunicorn.app.wsgiapp", "whitenoise.storage", "honcho.command", "polib",
):
    attempt(name, lambda: importlib.import_module(name))
attempt("gunicorn.conf.py", lambda: runpy.run_path(str(root / "gunicorn.conf.py")))
from privacyops.celery import app
attempt("celery tasks", app.loader.import_default_modules)
attempt("celery broker transport", lambda: app.connection_for_write().transport)
if failed:
    print("\n".join(failed))
    sys.exit(1)
"""

PERIODIC_TASKS_CHECK = (
    "from django.conf import settings; from django_celery_beat.models import PeriodicTask; "
    "print(PeriodicTask.objects.filter(name__in=list(settings.CELERY_BEAT_SCHEDULE)).count(), "
    "len(settings.CELERY_BEAT_SCHEDULE))"
)


class SmokeFailure(Exception):
    pass


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def run(argv: list[str], *, env: dict, timeout: float, what: str) -> str:
    try:
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"{what}: no result within {timeout:.0f} s")
    if result.returncode != 0:
        raise SmokeFailure(f"{what} failed (exit {result.returncode}):\n{tail(result.stdout + result.stderr)}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for(what: str, check, *, timeout: float, interval: float = 0.5):
    """Call check() until it returns something truthy; the last error is part of the failure."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(interval)
    raise SmokeFailure(f"{what}: not within {timeout:.0f} s ({last})")


class Process:
    """A child in its own session, so it and everything it starts is one process group."""

    def __init__(self, name: str, argv: list[str], *, env: dict, logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(  # noqa: S603
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def group_alive(self) -> bool:
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def wait_gone(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            self.popen.poll()  # reap the leader, or the group never empties
            if not self.group_alive():
                return True
            time.sleep(0.2)
        return False

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self) -> str:
        return tail(self.log.read_text(errors="replace")) if self.log.exists() else "    (no log)"


class Browser:
    """Just enough of a browser: one host, a cookie jar, and the headers a browser sends."""

    def __init__(self, port: int, *, behind_tls_proxy: bool):
        self.port = port
        self.proxy = behind_tls_proxy
        self.origin = f"{'https' if behind_tls_proxy else 'http'}://{HOST}:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
        headers = {"Accept-Language": "en", **(headers or {})}
        if self.proxy:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(HOST, self.port, timeout=15)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, content

    def get(self, path: str, *, expect: int = 200, what: str) -> str:
        status, _, content = self.request("GET", path)
        if status != expect:
            raise SmokeFailure(f"{what}: GET {path} answered {status}, not {expect}:\n{tail(content, 15)}")
        return content

    def post_form(self, path: str, fields: dict[str, str], *, file_field: str | None = None):
        """A form post as a browser sends it: multipart when the form has a file input."""
        headers = {"Origin": self.origin, "Referer": self.origin + path}
        if file_field is None:
            from urllib.parse import urlencode

            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            boundary = "----smoke" + uuid.uuid4().hex
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                for name, value in fields.items()
            ]
            # An empty file input: the part a browser sends when no file was chosen.
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename=""\r\n'
                "Content-Type: application/octet-stream\r\n\r\n\r\n"
            )
            body = ("".join(parts) + f"--{boundary}--\r\n").encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        return self.request("POST", path, body=body, headers=headers)


def csrf_token(page: str, what: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise SmokeFailure(f"{what}: the page has no CSRF token")
    return match.group(1)


def mail_to(folder: Path, address: str) -> email.message.EmailMessage | None:
    """The first message to `address` in the file email backend's folder, if written yet."""
    for path in sorted(folder.glob("*")):
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if not raw.strip():
                continue
            message = email.message_from_bytes(raw, policy=email.policy.default)
            if address in str(message.get("To", "")):
                return message
    return None


def check_running_site(port: int, *, mail: Path, processes: list[Process], behind_tls_proxy: bool) -> str:
    """What a person and an operator would try first; returns the request's reference."""
    browser = Browser(port, behind_tls_proxy=behind_tls_proxy)
    plain = Browser(port, behind_tls_proxy=False)  # the load balancer probes over plain HTTP

    def healthy():
        for process in processes:
            if not process.alive():
                raise SmokeFailure(f"{process.name} exited with {process.popen.returncode} during start-up")
        status, _, content = plain.request("GET", "/healthz")
        if status == 200 and '"database": "ok"' in content and '"broker": "ok"' in content:
            return True
        raise OSError(f"/healthz answered {status}: {content.strip()[:200]}")

    wait_for(f"/healthz ok for database and broker on port {port}", healthy, timeout=120, interval=1)

    login = browser.get("/admin/login/", what="the admin sign-in page")
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', login)
    if not stylesheet:
        raise SmokeFailure("the admin sign-in page links no stylesheet under /static/")
    browser.get(stylesheet.group(1), what="the admin stylesheet (static files)")

    form = browser.get("/dsar/", what="the request form")
    types = re.findall(r'name="request_type" value="([a-z_]+)"', form)
    if not types:
        raise SmokeFailure("the request form offers no request type")
    address = f"smoke-{secrets.token_hex(4)}@example.com"
    fields = {
        "csrfmiddlewaretoken": csrf_token(form, "the request form"),
        "request_type": "access" if "access" in types else types[0],
        "name": "Smoke Test",
        "email": address,
        "phone": "",
        "details": "",
        "agent_name": "",
        "agent_email": "",
        "agent_phone": "",
        "agent_relationship": "",
    }
    status, headers, content = browser.post_form("/dsar/", fields, file_field="power_of_attorney")
    if status != 302 or not headers.get("Location", "").endswith("/dsar/submitted/"):
        raise SmokeFailure(
            f"posting the request form answered {status}, not a redirect to /dsar/submitted/:\n{tail(content, 15)}"
        )

    message = wait_for(
        "the verification email, written by the worker", lambda: mail_to(mail, address), timeout=90, interval=1
    )
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/dsar/verify/\S+/", body)
    if not link:
        raise SmokeFailure(f"the verification email has no /dsar/verify/ link:\n{tail(body, 15)}")
    expected = f"http://{HOST}:{port}/"
    if not link.group(0).startswith(expected):
        raise SmokeFailure(f"the emailed link {link.group(0)[:60]}... does not point at {expected} (SITE_URL)")
    reference = re.search(r"DSAR-[A-Z0-9]{8}", str(message["Subject"]))
    if not reference:
        raise SmokeFailure(f"the verification email's subject names no reference: {message['Subject']}")

    verify_path = urlsplit(link.group(0)).path
    confirm = browser.get(verify_path, what="the emailed verification link")
    status, _, verified = browser.post_form(
        verify_path, {"csrfmiddlewaretoken": csrf_token(confirm, "the verification page")}
    )
    if status != 200 or reference.group(0) not in verified:
        raise SmokeFailure(f"confirming the request answered {status}:\n{tail(verified, 15)}")
    follow = re.search(r'href="([^"]*/dsar/status/[^"]*)"', verified)
    if not follow:
        raise SmokeFailure("the confirmation page has no link to the request's status")
    target = urlsplit(urljoin(browser.origin + verify_path, follow.group(1)))
    if target.netloc != f"{HOST}:{port}":
        raise SmokeFailure(f"the confirmation page's status link leaves this server: it goes to {target.netloc}")
    status_page = browser.get(target.path, what="the status link on the confirmation page")
    if reference.group(0) not in status_page:
        raise SmokeFailure("the status page does not show the request's reference")
    return reference.group(0)


def check_beat_stored_the_schedule(python: str, env: dict) -> None:
    def stored():
        out = run([python, "manage.py", "shell", "-c", PERIODIC_TASKS_CHECK], env=env, timeout=60, what="beat check")
        found, declared = (int(n) for n in out.split()[-2:])
        return found == declared

    wait_for("beat storing CELERY_BEAT_SCHEDULE in the database", stored, timeout=60, interval=3)


def stop_all(processes: list[Process], sig: int = signal.SIGTERM, timeout: float = 30) -> list[str]:
    """Signal every group once, wait for all; the names of those still running are killed and returned."""
    for process in processes:
        process.signal_group(sig)
    deadline = time.monotonic() + timeout
    lingering = [process for process in processes if not process.wait_gone(deadline)]
    for process in lingering:
        process.kill()
    return [process.name for process in lingering]


def leftovers(venv: Path) -> list[str]:
    """Processes still running from this run's virtual environment ("pid command"): anything a
    process manager started in a session of its own (honcho does) and left behind."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if int(cmdline.parent.name) != os.getpid() and any(str(venv).encode() in arg for arg in argv):
            found.append(f"{cmdline.parent.name} {b' '.join(argv).decode(errors='replace')[:120]}")
    return found


def require_nothing_left(venv: Path, after: str) -> None:
    found = leftovers(venv)
    for line in found:
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    if found:
        raise SmokeFailure(f"still running {after} (killed now):\n" + "\n".join("    " + line for line in found))


def clean_environment(tmp: Path, venv: Path) -> dict:
    """The caller's environment without anything that configures the project or another venv."""
    example = (ROOT / ".env.example").read_text()
    configured = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M))
    configured |= {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MFLAGS"}
    configured |= {name for name in os.environ if name.startswith(("FIELD_ENCRYPTION_", "CELERY_"))}
    env = {k: v for k, v in os.environ.items() if k not in configured}
    env["PATH"] = f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    env["MEDIA_ROOT"] = str(tmp / "media")
    env["WEB_CONCURRENCY"] = "2"
    return env


def procfile(env: dict, venv: Path) -> dict[str, list[str]]:
    """The Procfile's commands, each program found on PATH as a process manager would find it."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    entries = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    commands = {name.strip(): command.split() for name, command in entries}
    for name, argv in commands.items():
        program = shutil.which(argv[0], path=env["PATH"])
        if not program or Path(program).parent != venv / "bin":
            raise SmokeFailure(f"Procfile {name}: {argv[0]} is not installed by requirements.txt (found {program})")
        argv[0] = program
    return commands


class Redis:
    """SMOKE_REDIS_URL, or a private redis-server on a free port (nothing else can take our tasks)."""

    def __init__(self, tmp: Path, logs: Path):
        self.process = None
        self.url = os.environ.get("SMOKE_REDIS_URL", "")
        if self.url:
            return
        server = shutil.which("redis-server")
        if not server:
            raise SmokeFailure("redis-server is not installed: install it, or set SMOKE_REDIS_URL")
        port = free_port()
        argv = [server, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", str(tmp)]
        self.process = Process("redis", argv, env=dict(os.environ), logs=logs)
        self.url = f"redis://{HOST}:{port}/0"

        def pong():
            with socket.create_connection((HOST, port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_for("the private redis-server", pong, timeout=30, interval=0.2)


def smoke_production(venv: Path, tmp: Path, logs: Path, env: dict) -> str:
    python = str(venv / "bin" / "python")
    port = free_port()
    database = f"privacyops_smoke_{secrets.token_hex(4)}"
    server = os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database_url = urlsplit(server)._replace(path=f"/{database}").geturl()
    admin = "import psycopg, sys\nwith psycopg.connect(sys.argv[1], autocommit=True) as c:\n    c.execute(sys.argv[2])"
    mail = tmp / "mail-production"
    mail.mkdir()
    redis = Redis(tmp, logs)
    env = {
        **env,
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ACCESS_LOG_CHAIN_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis.url,
        "EMAIL_URL": f"filemail:///{mail}",
        "HOST": HOST,
        "PORT": str(port),
    }
    run([python, "-c", admin, server, f'CREATE DATABASE "{database}"'], env=env, timeout=60, what="createdb")
    processes: list[Process] = []
    try:
        run([python, "manage.py", "migrate", "--noinput"], env=env, timeout=300, what="migrate (production)")
        run([python, "manage.py", "collectstatic", "--noinput"], env=env, timeout=300, what="collectstatic")
        for name, argv in procfile(env, venv).items():
            processes.append(Process(f"production-{name}", argv, env=env, logs=logs))
        try:
            reference = check_running_site(port, mail=mail, processes=processes, behind_tls_proxy=True)
            check_beat_stored_the_schedule(python, env)
            dead = [process.name for process in processes if not process.alive()]
            if dead:
                raise SmokeFailure(f"exited while serving: {', '.join(dead)}")
        except SmokeFailure as exc:
            raise SmokeFailure(f"{exc}\n{logs_of(processes)}")
        lingering = stop_all(processes)
        if lingering:
            raise SmokeFailure(f"still running 30 s after SIGTERM (killed): {', '.join(lingering)}")
        require_nothing_left(venv, "after SIGTERM to the Procfile processes")
        return reference
    finally:
        stop_all([process for process in processes if process.group_alive()], signal.SIGKILL, timeout=10)
        if redis.process:
            stop_all([redis.process])
        run(
            [python, "-c", admin, server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
            env=env,
            timeout=60,
            what="dropdb",
        )


def smoke_embedded(venv: Path, tmp: Path, logs: Path, env: dict) -> str:
    port = free_port()
    folder = tmp / "embedded"
    mail = folder / "mail"
    mail.mkdir(parents=True)
    env = {
        **env,
        "DATABASE_URL": f"sqlite:///{folder / 'privacyops.sqlite3'}",
        "CELERY_BROKER_URL": f"filesystem://{folder / 'celery'}",
        "EMAIL_URL": f"filemail:///{mail}",
    }
    # `make run` as a developer types it, on our own virtual environment: the same Procfile under honcho.
    make = Process(
        "embedded-make-run", ["make", "--no-print-directory", "run", f"VENV={venv}", f"PORT={port}"], env=env, logs=logs
    )
    try:
        try:
            printed = f"Admin:           http://{HOST}:{port}/admin/"

            def started():
                if not make.alive():
                    raise SmokeFailure(f"make run exited with {make.popen.returncode}")
                return printed in make.log.read_text(errors="replace")

            wait_for(f"make run printing {printed.split()[-1]}", started, timeout=300, interval=1)
            reference = check_running_site(port, mail=mail, processes=[make], behind_tls_proxy=False)
            check_beat_stored_the_schedule(str(venv / "bin" / "python"), env)
        except SmokeFailure as exc:
            raise SmokeFailure(f"{exc}\n{logs_of([make])}")
        # Ctrl-C: the terminal sends SIGINT to its foreground group, make and honcho; honcho stops
        # the Procfile processes, each in a session of its own.
        if stop_all([make], signal.SIGINT):
            raise SmokeFailure(f"make run still running 30 s after Ctrl-C (killed)\n{logs_of([make])}")
        require_nothing_left(venv, "after Ctrl-C on make run")
        return reference
    finally:
        stop_all([make] if make.group_alive() else [], signal.SIGKILL, timeout=10)


def logs_of(processes: list[Process]) -> str:
    return "\n".join(
        f"  --- last lines of {process.name} ({process.log}):\n{process.log_tail()}" for process in processes
    )


def main() -> int:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="privacyops-smoke-"))
    logs = tmp / "logs"
    logs.mkdir()
    venv = tmp / "venv"
    python = str(venv / "bin" / "python")
    env = clean_environment(tmp, venv)
    step = "virtual environment"
    try:
        run([sys.executable, "-m", "venv", str(venv)], env=env, timeout=120, what="python -m venv")
        run(
            [python, "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
            env=env,
            timeout=900,
            what="pip install -r requirements.txt",
        )
        step = "runtime imports"
        check_env = {
            **env,
            "DEBUG": "False",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "ACCESS_LOG_CHAIN_KEY": secrets.token_urlsafe(48),
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/x",
        }
        try:
            run([python, "-c", IMPORT_CHECK], env=check_env, timeout=120, what="import check")
        except SmokeFailure as exc:
            raise SmokeFailure(
                f"the runtime does not import from requirements.txt alone "
                f"(a dependency missing from requirements.txt?): {exc}"
            )
        run([python, "scripts/compile_messages.py"], env=env, timeout=120, what="compile_messages")
        step = "production layout (PostgreSQL, Redis, DEBUG off)"
        production = smoke_production(venv, tmp, logs, env)
        step = "embedded default (make run: SQLite, filesystem broker)"
        embedded = smoke_embedded(venv, tmp, logs, env)
    except SmokeFailure as exc:
        print(f"smoke_production: FAILED in {step}: {exc}", file=sys.stderr)
        print(f"smoke_production: logs kept in {tmp}", file=sys.stderr)
        return 1
    finally:
        for line in leftovers(venv):  # after an error or an interrupt: ours, by their ids
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass
    if not os.environ.get("SMOKE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"smoke_production: ok in {time.monotonic() - started:.0f} s: requests {production} (production) and "
        f"{embedded} (make run) confirmed over HTTP, /healthz ok, all processes stopped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
