"""No link secret reaches a log line: each tokenised URL requested with a forged token, a spent
link and a missing CSRF token is logged once, with its route and a placeholder instead of the
token, through the handler settings.LOGGING configures and through gunicorn's own log."""

from __future__ import annotations

import io
import logging
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from consent.services import preference_link
from dsar import tokens
from privacyops.lib.logs import PLACEHOLDER, redact

pytestmark = pytest.mark.django_db

FORGED = signing.TimestampSigner(salt="forged").sign("DSAR-2026-0001.c2VjcmV0LW5vbmNlLXZhbHVl")
FORGED_PREFERENCE = signing.dumps({"s": 1}, salt="forged", compress=True)
META_CODE = "0123ABCD4567EF89"


@pytest.fixture
def logged():
    """What the root logger's configured console handler writes (settings.LOGGING)."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.fixture
def verification_path(client, mailoutbox, django_capture_on_commit_callbacks):
    """The path of a real verification link, as emailed after a post of the request form."""
    from privacyops.celery import app

    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/dsar/", {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com"})
    finally:
        app.conf.task_always_eager = previous
    return re.search(r"https?://[^/\s]+(/dsar/verify/\S+/)", mailoutbox[-1].body).group(1)


def secret_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def assert_logged_once_without_the_secret(stream: io.StringIO, line: str, secret: str) -> None:
    text = stream.getvalue()
    assert secret not in text and secret.rsplit(":", 1)[-1] not in text, text
    assert text.count(line) == 1, text


@pytest.mark.parametrize(
    ("path", "status", "line"),
    [
        (f"/dsar/verify/{FORGED}/", 404, f"Not Found: /dsar/verify/{PLACEHOLDER}/"),
        (f"/dsar/status/{FORGED}/", 404, f"Not Found: /dsar/status/{PLACEHOLDER}/"),
        (f"/dsar/download/{FORGED}/", 404, f"Not Found: /dsar/download/{PLACEHOLDER}/"),
        (f"/consent/preferences/{FORGED_PREFERENCE}/", 400, f"Bad Request: /consent/preferences/{PLACEHOLDER}/"),
        (f"/thirdparty/meta/deletion/{META_CODE}/", 404, f"Not Found: /thirdparty/meta/deletion/{PLACEHOLDER}/"),
    ],
)
def test_a_link_with_a_bad_token_is_logged_once_without_the_token(client, logged, path, status, line):
    assert client.get(path).status_code == status
    assert_logged_once_without_the_secret(logged, line, secret_of(path))


def test_a_status_link_whose_request_is_gone_is_logged_without_its_token(client, logged):
    path = f"/dsar/status/{tokens.sign_status('DSAR-2026-9999')}/"
    assert client.get(path).status_code == 404
    assert_logged_once_without_the_secret(logged, f"Not Found: /dsar/status/{PLACEHOLDER}/", secret_of(path))


def test_a_spent_verification_link_is_logged_without_its_token(client, logged, verification_path):
    assert client.post(verification_path).status_code == 200
    assert client.post(verification_path).status_code == 410
    assert_logged_once_without_the_secret(logged, f"Gone: /dsar/verify/{PLACEHOLDER}/", secret_of(verification_path))


def test_a_post_without_csrf_token_is_logged_once_without_the_link_token(logged, verification_path, alice):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(verification_path).status_code == 403
    line = f"Forbidden (CSRF cookie not set.): /dsar/verify/{PLACEHOLDER}/"
    assert_logged_once_without_the_secret(logged, line, secret_of(verification_path))

    preferences = urlsplit(preference_link(alice)).path
    assert browser.post(preferences, {"marketing": "on"}).status_code == 403
    line = f"Forbidden (CSRF cookie not set.): /consent/preferences/{PLACEHOLDER}/"
    assert_logged_once_without_the_secret(logged, line, secret_of(preferences))


def test_a_formatter_that_prints_the_request_or_the_exception_prints_neither_token(client, logged):
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    previous = handler.formatter
    handler.setFormatter(logging.Formatter("%(message)s | %(request)s"))
    try:
        client.get(f"/dsar/verify/{FORGED}/")
        try:
            raise ValueError(f"while reading /dsar/download/{FORGED}/")
        except ValueError:
            logging.getLogger("dsar.views").exception("failed", extra={"request": f"GET /dsar/status/{FORGED}/"})
    finally:
        handler.setFormatter(previous)
    text = logged.getvalue()
    assert f"<WSGIRequest: GET '/dsar/verify/{PLACEHOLDER}/'>" in text
    assert f"while reading /dsar/download/{PLACEHOLDER}/" in text
    assert FORGED not in text and FORGED.rsplit(":", 1)[1] not in text


def _routes(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_route_with_a_token_or_code_in_its_path_is_redacted():
    """A new route carrying a short secret (not shaped like a signed value) must be listed in
    privacyops.lib.logs.SECRET_ROUTES."""
    secret_parameter = re.compile(r"<(?:\w+:)?(token|code|key|secret|uidb64)>")
    routes = [route for route in _routes(get_resolver()) if secret_parameter.search(route)]
    assert len(routes) >= 5
    for route in routes:
        path = "/" + re.sub(r"<[^>]+>", lambda m: META_CODE if secret_parameter.fullmatch(m.group()) else "1", route)
        assert META_CODE not in redact(f"Not Found: {path}"), route


def test_the_request_line_gunicorn_logs_for_a_failed_request_loses_its_secret_query_values():
    line = redact("Error handling request /api/thirdparty/stibee/webhook?token=s3cret&page=2")
    assert line == f"Error handling request /api/thirdparty/stibee/webhook?token={PLACEHOLDER}&page=2"


@pytest.mark.django_db(transaction=True)
def test_gunicorn_logs_each_event_once_and_no_token_or_address(gunicorn, verification_path):
    # DEBUG on, as `make run` starts it: Django's own console handler used to print every warning again.
    server = gunicorn(DEBUG="True")
    assert requests.get(f"{server.url}/consent/preferences/{FORGED_PREFERENCE}/", timeout=10).status_code == 400
    assert requests.post(f"{server.url}{verification_path}", timeout=10).status_code == 403
    assert requests.get(f"{server.url}/dsar/status/{FORGED}/", timeout=10).status_code == 404
    # A request line gunicorn cannot parse: its error log quotes it, with the client's address.
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(f"GET /dsar/download/{FORGED}/\r\n\r\n".encode())
        assert raw.recv(100).startswith(b"HTTP/1.1 400")

    log = server.log()
    for secret in (FORGED, FORGED_PREFERENCE, secret_of(verification_path), META_CODE):
        assert secret not in log and secret.rsplit(":", 1)[-1] not in log, log
    assert log.count(f"Bad Request: /consent/preferences/{PLACEHOLDER}/") == 1, log
    assert log.count(f"Forbidden (CSRF cookie not set.): /dsar/verify/{PLACEHOLDER}/") == 1, log
    assert log.count(f"Not Found: /dsar/status/{PLACEHOLDER}/") == 1, log
    invalid = [line for line in log.splitlines() if "Invalid request from" in line]
    assert invalid == [line for line in invalid if f"ip={PLACEHOLDER}" in line and host not in line], log
    assert len(invalid) == 1 and f"/dsar/download/{PLACEHOLDER}/" in invalid[0], log


def test_a_celery_worker_logs_no_token(tmp_path, verification_path):
    """Celery replaces the root logger's handlers when a worker or beat starts; its handlers get the
    same filter (a task that fails may quote the link it was handling)."""
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "from privacyops.celery import app\n"
        "app.log.setup(loglevel='INFO', redirect_stdouts=False)\n"
        "from celery.utils.log import get_task_logger\n"
        f"logging.getLogger('dsar').warning('could not send %s', {verification_path!r})\n"
        f"get_task_logger('dsar.tasks').error('failed for %s', {verification_path!r})\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "could not send /dsar/verify/" in output and "failed for /dsar/verify/" in output
    assert secret_of(verification_path) not in output, output
