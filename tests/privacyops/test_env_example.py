"""Every environment variable the settings and the web server read is listed and explained in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'(?:_env\(env\.\w+, |_bool\(|env\.\w+\(|os\.environ\.get\()["\']([A-Z][A-Z0-9_]+)["\']')


def test_every_variable_the_settings_and_the_web_server_read_is_in_env_example():
    read = set(READ.findall((ROOT / "privacyops" / "settings.py").read_text()))
    read |= set(READ.findall((ROOT / "gunicorn.conf.py").read_text()))
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "EMAIL_URL", "WEB_CONCURRENCY"} <= read
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M))
    assert read - listed == set()
    # Each listed variable has an explanation above it (or above the group of variables it is in).
    for name in read:
        above = [line for line in example.split(f"\n{name}=", 1)[0].rstrip().splitlines()]
        while above and re.match(r"^[A-Z][A-Z0-9_]+=", above[-1]):
            above.pop()
        assert above and above[-1].startswith("#"), f"{name} has no explanation above it in .env.example"


def test_a_copy_of_env_example_as_the_environment_starts_the_project(tmp_path):
    """The README says to copy .env.example to .env: its empty values mean "use the default"."""
    import os
    import subprocess
    import sys

    values = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    env = {key: value for key, value in os.environ.items() if key not in values}
    env.update(values)
    env["MEDIA_ROOT"] = str(tmp_path / "media")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no issues" in result.stdout
