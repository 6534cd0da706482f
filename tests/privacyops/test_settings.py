"""Settings come from the environment, strictly: a bad value stops start-up with its name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.EMAIL_BACKEND)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "privacyops.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_no_environment_it_runs_on_sqlite_and_the_filesystem_broker():
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.mail.backends.console.EmailBackend",
    ]


def test_urls_switch_to_postgresql_redis_and_smtp():
    result = start(
        DATABASE_URL="postgres://u:p@db.internal:5432/privacyops",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp://mail.internal:25",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://cache.internal:6379/0",
        "django.core.mail.backends.smtp.EmailBackend",
    ]


def test_debug_off_with_the_development_secret_key_refuses_to_start():
    result = start(DEBUG="False")
    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr


def test_debug_off_with_the_development_encryption_key_refuses_to_start():
    result = start(DEBUG="False", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is the development key" in result.stderr


def test_debug_off_with_the_development_access_log_chain_key_refuses_to_start():
    result = start(
        DEBUG="False", SECRET_KEY="x" * 60, FIELD_ENCRYPTION_KEY="Y2ktb25seS1maWVsZC1rZXktZm9yLXRlc3RzLTAwMDE="
    )
    assert result.returncode != 0
    assert "ACCESS_LOG_CHAIN_KEY is the development key" in result.stderr
    result = start(ACCESS_LOG_CHAIN_KEY="short")
    assert result.returncode != 0
    assert "ACCESS_LOG_CHAIN_KEY has an invalid value: use 32+ random characters" in result.stderr


def test_a_typo_in_a_boolean_is_an_error_not_false():
    result = start(DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG has an invalid value: 'ture'" in result.stderr


def test_a_non_numeric_integer_is_an_error_naming_the_variable():
    result = start(DATA_UPLOAD_MAX_MEMORY_BYTES="lots")
    assert result.returncode != 0
    assert "DATA_UPLOAD_MAX_MEMORY_BYTES has an invalid value" in result.stderr


def test_an_unknown_database_scheme_is_an_error():
    result = start(DATABASE_URL="oracle-ish://nowhere")
    assert result.returncode != 0
    assert "DATABASE_URL has an invalid value" in result.stderr
