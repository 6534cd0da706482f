"""Helpers the benchmark scripts share (run as `python bench/<script>.py`, so this imports as
`common`)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    """Make the project importable and set Django up as manage.py would (settings from the environment)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privacyops.settings")
    import django

    django.setup()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    """Cores, CPU, PostgreSQL and Python versions, for the heading of a result (needs Django set up)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return f"{os.cpu_count()} CPUs ({cpu_model()}), PostgreSQL {server}, Python {platform.python_version()}"


def create_database(url: str) -> None:
    """Create the PostgreSQL database named at the end of `url` when it does not exist."""
    import psycopg
    from psycopg import sql

    *server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server[0]}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def load_visit_logs(cursor, *, cutoff, due: int, total: int) -> None:
    """Empties the visit log and fills it with `total` anonymous visits a second apart, the first
    `due` of them before `cutoff` (what the purge benchmarks destroy)."""
    cursor.execute("TRUNCATE subjects_visitlog RESTART IDENTITY")
    cursor.execute(
        """
        INSERT INTO subjects_visitlog (subject_id, visited_at, ip, user_agent, os, screen_size, device_id,
            phone_model, cookie_id, path, abnormal, abnormal_reason, external_ref)
        SELECT NULL, %s::timestamptz + (i - %s - 1) * interval '1 second',
               ('203.0.113.' || (i %% 250))::inet,
               'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/126.0', 'macOS',
               '1440x900', 'dev-' || i, '', 'cookie-' || i, '/pricing/' || (i %% 97), false, '', ''
        FROM generate_series(1, %s) AS i
        """,
        [cutoff, due, total],
    )
