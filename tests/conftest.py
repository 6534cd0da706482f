"""The fixed cast: alice (a subject with visits, inquiries and consents), bob (another
subject), and the staff users officer, support and marketer."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import ApiClient, ApiScope
from subjects.models import CollectionSource, DataSubject, Inquiry, InquiryChannel, InquiryKind, VisitLog


def pytest_collection_modifyitems(items):
    """Tests that commit (live server, real worker) end with a flush that empties every table,
    including the rows data migrations seeded (retention rules, purposes, processors, the policy
    version). Serialized rollback puts them back, so the next test sees a migrated database."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        marker = item.get_closest_marker("django_db")
        commits = marker is not None and marker.kwargs.get("transaction")
        if names is not None and (commits or {"transactional_db", "live_server"} & set(names)):
            if "django_db_serialized_rollback" not in names:
                names.append("django_db_serialized_rollback")


@pytest.fixture(autouse=True)
def _forget_what_the_process_remembers():
    """API keys, the cookie banner, the purposes and the policy version in force are remembered per
    process for a few seconds; a test starts with none, as a freshly started server process would."""
    from audit.models import forget_recent_keys
    from consent import purposes
    from consent.banner import forget_last_read
    from policy.services import forget_version_label

    forget_recent_keys()
    forget_version_label()
    forget_last_read()
    purposes.forget_last_read()


@pytest.fixture
def registry_as_it_was():
    """The personal-data registry put back exactly as it was after a test that changes an entry,
    order included: the order is what the admin lists a person's records in."""
    from subjects.registry import registry

    saved = dict(registry._entries)
    yield registry
    registry._entries.clear()
    registry._entries.update(saved)


@pytest.fixture
def alice(db):
    subject = DataSubject.objects.create(
        name="Alice Kim", email="alice@example.com", phone="010-1111-2222", source=CollectionSource.CUSTOMER_SERVICE
    )
    now = timezone.now()
    for days_ago in (1, 10, 100):
        VisitLog.objects.create(subject=subject, visited_at=now - timedelta(days=days_ago), ip="203.0.113.7", path="/")
    Inquiry.objects.create(
        subject=subject, channel=InquiryChannel.EMAIL, kind=InquiryKind.QUESTION, body="Where is my order?"
    )
    Inquiry.objects.create(
        subject=subject,
        channel=InquiryChannel.PHONE,
        kind=InquiryKind.COMPLAINT,
        body="The product arrived broken.",
        opened_at=now - timedelta(days=30),
        closed_at=now - timedelta(days=20),
    )
    return subject


@pytest.fixture
def bob(db):
    subject = DataSubject.objects.create(name="Bob Lee", email="bob@example.com", source=CollectionSource.OFFLINE_EVENT)
    VisitLog.objects.create(subject=subject, ip="198.51.100.9", path="/pricing")
    return subject


def _staff(username: str, role: str, **extra):
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@pltt.xyz", password="Correct-Horse-42", is_staff=True, **extra
    )
    # The role groups are kept by audit's post_migrate handler; get_or_create covers a flushed database.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def officer(db):
    return _staff("officer", "privacy officer", is_superuser=True)


@pytest.fixture
def overseer(db):
    """A second privacy officer: four eyes need two people holding dsar.oversee_requests."""
    return _staff("overseer", "privacy officer", is_superuser=True)


@pytest.fixture
def support(db):
    return _staff("support", "customer support")


@pytest.fixture
def marketer(db):
    return _staff("marketer", "marketing")


@pytest.fixture
def admin_login(client):
    """Log a staff user into the admin (with whatever second factor the admin requires)
    and return the test client: `admin_login(officer).get("/admin/")`.

    The admin requires a TOTP second factor: the user gets a confirmed device and the session
    is marked as verified by it, as after a real sign-in with password and code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def login(user):
        client.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="test authenticator", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return login


@pytest.fixture
def api_key(db):
    """Issue an API key with the given scopes; returns the raw key."""

    def issue(*scopes: str, name: str = "website") -> str:
        client = ApiClient(name=name, scopes=list(scopes))
        raw_key = client.issue_key()
        client.save()
        return raw_key

    return issue


@pytest.fixture
def website_key(api_key):
    return api_key(ApiScope.VISITS_WRITE, ApiScope.INQUIRIES_WRITE)


# --- Browser ---------------------------------------------------------------------------------
# Headless Debian Chromium driven by Playwright (its own browser download does not work here).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that
# thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Per test, not per session: while Playwright runs, its event loop makes asgiref hand out
# different database connections, which lack the serialized copy that restores seeded rows
# after a test that commits. Starting Chromium costs about a second.
@pytest.fixture
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (.ci/run installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, request):
    """A fresh browser page; on teardown a screenshot goes to test-artifacts/<test name>.png."""
    context = chromium.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


# --- A real Celery worker ------------------------------------------------------------------
def worker_database_url() -> str:
    """DATABASE_URL for another process (a worker, a command) to use the test database."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _reset_producer_pool(app) -> None:
    # The pools hold connections to the previous broker; Celery builds new ones on next use
    # (as it does after a fork). kombu keeps one pool per URL, so nothing is closed here.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path, settings):
    """Start `celery worker --beat` as a separate process against the test database and a
    real broker (Redis when CELERY_BROKER_URL is redis://, else a fresh filesystem folder).

    Tasks must then travel through the broker: this process and the worker share nothing else.
    Yields a handle with `.stop(signal)` and `.log()`.
    """
    import signal
    import subprocess
    import sys
    import time

    from privacyops.celery import app

    database_url = worker_database_url()
    broker_url = settings.CELERY_BROKER_URL
    # Tasks must go through the broker, whatever a folder's conftest set for in-process runs.
    previous = {
        key: app.conf[key]
        for key in ("broker_url", "broker_write_url", "broker_transport_options", "task_always_eager")
    }
    app.conf.task_always_eager = False
    if broker_url.startswith("filesystem://"):
        broker_dir = tmp_path / "broker"
        broker_dir.mkdir()
        broker_url = f"filesystem://{broker_dir}"
        app.conf.broker_transport_options = {
            "data_folder_in": str(broker_dir),
            "data_folder_out": str(broker_dir),
            "store_processed": False,
            "control_folder": str(broker_dir / "control"),
        }
    else:
        with app.connection_for_write() as conn:
            for queue in app.conf.task_queues:
                queue.bind(conn.default_channel).purge()
    # broker_write_url was filled from broker_url when the app was configured: change both.
    app.conf.update(broker_url=broker_url, broker_write_url=broker_url)
    _reset_producer_pool(app)

    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",  # filemail:/// + an absolute path
    }
    root = Path(__file__).resolve().parent.parent
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "privacyops",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--schedule",
                str(tmp_path / "beat-schedule"),
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    class Worker:
        process = proc
        mail_dir = tmp_path / "mail"

        @staticmethod
        def log() -> str:
            return log_path.read_text()

        @staticmethod
        def wait_for(predicate, timeout: float = 60.0, what: str = "the worker") -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if predicate():
                    return
                if proc.poll() is not None:
                    raise AssertionError(f"the worker exited early:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.25)
            raise AssertionError(f"timed out waiting for {what}:\n{log_path.read_text()[-3000:]}")

        @staticmethod
        def stop(sig: int = signal.SIGTERM) -> None:
            if proc.poll() is None:
                os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    Worker.wait_for(lambda: "ready." in log_path.read_text(), timeout=60, what="the worker to start")
    try:
        yield Worker
    finally:
        Worker.stop()
        app.conf.update(previous)
        _reset_producer_pool(app)
