"""PORT moves the whole site: gunicorn listens on it and SITE_URL's default (the emailed links)
follows it; a SITE_URL that is set wins; .env fills in what the real environment leaves unset."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_SITE_URL = "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
PRINT_BIND = "import runpy, sys; print(runpy.run_path(sys.argv[1])['bind'])"


def run(code: str, *args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"PORT", "HOST", "SITE_URL", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env={**clean, "DJANGO_SETTINGS_MODULE": "privacyops.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_site_url_follows_port_by_default():
    assert run(PRINT_SITE_URL).stdout.strip() == "http://127.0.0.1:8000"
    assert run(PRINT_SITE_URL, PORT="8123").stdout.strip() == "http://127.0.0.1:8123"


def test_a_site_url_that_is_set_wins_over_port():
    result = run(PRINT_SITE_URL, PORT="8123", SITE_URL="https://privacy.example.com/")
    assert result.stdout.strip() == "https://privacy.example.com"


def test_a_port_that_is_not_a_number_stops_start_up_with_its_name():
    result = run(PRINT_SITE_URL, PORT="80a")
    assert result.returncode != 0
    assert "PORT has an invalid value" in result.stderr


def test_gunicorn_listens_on_port_and_takes_what_is_unset_from_env_file(tmp_path):
    shutil.copy(ROOT / "gunicorn.conf.py", tmp_path)
    config = str(tmp_path / "gunicorn.conf.py")
    assert run(PRINT_BIND, config, PORT="8123").stdout.strip() == "127.0.0.1:8123"
    (tmp_path / ".env").write_text("HOST=0.0.0.0\nPORT=8200\n")
    assert run(PRINT_BIND, config).stdout.strip() == "0.0.0.0:8200"
    assert run(PRINT_BIND, config, PORT="8123").stdout.strip() == "0.0.0.0:8123"
