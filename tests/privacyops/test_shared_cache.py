"""The default cache (a database table) counts across processes; `check --deploy` warns about a
cache that cannot."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from privacyops.lib.cache import count_attempt
from tests.conftest import worker_database_url

from .conftest import ROOT

INCREMENTS = """
import django, sys
django.setup()
from django.core.cache import cache
for _ in range(int(sys.argv[1])):
    cache.add("shared-counter", 0, timeout=600)
    cache.incr("shared-counter")
"""


ATTEMPTS = """
import django, sys
django.setup()
from privacyops.lib.cache import count_attempt
print(" ".join(str(count_attempt("shared-attempts", timeout=600)) for _ in range(int(sys.argv[1]))))
"""


def deploy_warnings() -> str:
    out = io.StringIO()
    call_command("check", "--deploy", "--tag", "caches", stdout=out, stderr=out)
    return out.getvalue()


def test_the_default_cache_raises_no_deploy_warning():
    assert "privacyops.W00" not in deploy_warnings()


@pytest.mark.parametrize("backend", ["locmem.LocMemCache", "dummy.DummyCache"])
def test_check_deploy_warns_that_a_per_process_cache_multiplies_the_limits(settings, backend):
    settings.CACHES = {"default": {"BACKEND": f"django.core.cache.backends.{backend}"}}
    output = deploy_warnings()
    assert "privacyops.W001" in output and "counted per web worker" in output


def test_check_deploy_warns_that_djangos_own_database_cache_loses_concurrent_counts(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"}}
    assert "privacyops.W002" in deploy_warnings()


@pytest.mark.django_db(transaction=True)
def test_increments_from_three_processes_at_once_are_all_counted():
    cache.delete("shared-counter")
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "DJANGO_SETTINGS_MODULE": "privacyops.settings"}
    env.pop("CACHE_URL", None)
    processes = [
        subprocess.Popen([sys.executable, "-c", INCREMENTS, "100"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for process in processes:
        assert process.wait(timeout=120) == 0, process.stderr.read().decode()[-2000:]
    # Django's own DatabaseCache (a get, then a set) ends near 150 here.
    assert cache.get("shared-counter") == 300
    cache.delete("shared-counter")


@pytest.mark.django_db(transaction=True)
def test_attempts_counted_from_three_processes_at_once_each_get_their_own_number():
    """A rate limit's count is one statement: 300 attempts from three processes are told 1 to 300,
    each number once (two told the same number would be two requests counted as one)."""
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "DJANGO_SETTINGS_MODULE": "privacyops.settings"}
    env.pop("CACHE_URL", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", ATTEMPTS, "100"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    told = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()[-2000:]
        told += [int(n) for n in out.split()]
    assert sorted(told) == list(range(1, 301))


@pytest.mark.django_db
def test_a_count_starts_again_once_its_entry_has_expired():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert [count_attempt("window", timeout=60) for _ in range(3)] == [1, 2, 3]
        traveller.shift(61)
        assert [count_attempt("window", timeout=60) for _ in range(2)] == [1, 2]


def test_migrate_alone_creates_the_cache_table(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "CELERY_BROKER_URL": f"filesystem://{tmp_path}"}
    env.pop("CACHE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "privacyops_cache" in tables
