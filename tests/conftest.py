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


@pytest.fixture(scope="session")
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
