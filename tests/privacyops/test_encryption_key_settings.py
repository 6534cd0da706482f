"""FIELD_ENCRYPTION_KEYS (newest first) or the one-key FIELD_ENCRYPTION_KEY: read strictly at
start-up; an error names the variable and the key's position, never a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
NEW, OLD = Fernet.generate_key().decode(), Fernet.generate_key().decode()
DEVELOPMENT_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtITE="


def start(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "FIELD_ENCRYPTION_KEY", "FIELD_ENCRYPTION_KEYS"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(settings.FIELD_ENCRYPTION_KEYS))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "privacyops.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_key_list_is_read_newest_first_and_the_one_key_shorthand_still_works():
    assert start(FIELD_ENCRYPTION_KEYS=f" {NEW} , {OLD} ").stdout.strip() == f"{NEW},{OLD}"
    assert start(FIELD_ENCRYPTION_KEY=OLD).stdout.strip() == OLD
    # The first step of a rotation: the old single key may stay set while it is in the list.
    assert start(FIELD_ENCRYPTION_KEYS=f"{NEW},{OLD}", FIELD_ENCRYPTION_KEY=OLD).stdout.strip() == f"{NEW},{OLD}"


def test_a_single_key_that_the_list_does_not_hold_stops_start_up():
    result = start(FIELD_ENCRYPTION_KEYS=NEW, FIELD_ENCRYPTION_KEY=OLD)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is set to a key that FIELD_ENCRYPTION_KEYS does not list" in result.stderr
    assert OLD not in result.stderr and NEW not in result.stderr


def test_a_bad_key_stops_start_up_naming_the_variable_not_the_key():
    result = start(FIELD_ENCRYPTION_KEYS=f"{NEW},not-a-fernet-key-at-all")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS has an invalid value: key 2 of 2 is not a url-safe base64" in result.stderr
    assert "not-a-fernet-key-at-all" not in result.stderr and NEW not in result.stderr
    result = start(FIELD_ENCRYPTION_KEY="tooshort")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY has an invalid value: the key is not" in result.stderr
    assert "tooshort" not in result.stderr


def test_debug_off_refuses_the_development_key_anywhere_in_the_list():
    result = start(DEBUG="False", SECRET_KEY="x" * 60, FIELD_ENCRYPTION_KEYS=f"{NEW},{DEVELOPMENT_KEY}")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS lists the development key (key 2)" in result.stderr
    assert DEVELOPMENT_KEY not in result.stderr
