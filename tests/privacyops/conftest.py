"""gunicorn as the Procfile starts it (the repository's gunicorn.conf.py), against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.cache import cache

from tests.conftest import worker_database_url

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(django_db_setup, django_db_blocker, tmp_path):
    """Start gunicorn: `server = gunicorn(workers=3, DEBUG="False")`, extra keywords being
    environment variables. The default cache (no CACHE_URL), mail kept in memory, tasks run in the
    web process. `server.url`, `server.log()` (its stderr, where every log line goes)."""
    started = []

    def start(*, workers: int = 1, **env: str):
        port = _free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "EMAIL_URL": "memorymail://",
            "CELERY_TASK_ALWAYS_EAGER": "True",
            **env,
        }
        environment.pop("CACHE_URL", None)
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)

        class Server:
            url = f"http://127.0.0.1:{port}"

            @staticmethod
            def log() -> str:
                return log_path.read_text()

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{Server.log()[-3000:]}")
            try:
                requests.get(f"{Server.url}/healthz/live", timeout=1)
                # Every worker up: each prints its pid once booted.
                if Server.log().count("Booting worker") >= workers:
                    return Server
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{Server.log()[-3000:]}")

    yield start
    for process in started:
        os.kill(process.pid, signal.SIGTERM)  # the master stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # The rate-limit counters its requests committed: the flush after a test does not reach them.
    with django_db_blocker.unblock():
        cache.clear()
