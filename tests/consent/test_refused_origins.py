"""A cookie choice from a website left out of CONSENT_ALLOWED_ORIGINS is refused, and counted
per origin for the officer's desk and the admin, so the lost records do not go unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from consent import banner, services
from consent.models import CookieConsentRecord, RefusedOrigin

pytestmark = pytest.mark.django_db

SITE = "https://www.pltt.xyz"
SHOP = "https://shop.pltt.xyz"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def site(settings):
    settings.CONSENT_ALLOWED_ORIGINS = [SITE]


def choice(**overrides) -> dict:
    body = {
        "visitor_id": "0123456789abcdef0123456789abcdef",
        "banner_version": banner.banner_version(),
        "language": "ko",
        "choice": "allow_all",
        "categories": {},
        "gpc": False,
    }
    return {**body, **overrides}


def post(client, body: dict, origin: str, **extra):
    return client.post(
        "/api/consent/cookies",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Origin": origin},
        **extra,
    )


def preflight(client, origin: str):
    return client.options(
        "/api/consent/cookies",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_posts_from_an_origin_that_is_not_allowed_are_refused_and_counted_for_that_origin(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert post(client, choice(), SHOP).status_code == 403
        traveller.shift(timedelta(hours=2))
        assert post(client, choice(), SHOP).status_code == 403
        assert post(client, choice(), SITE).status_code == 201
    refusal = RefusedOrigin.objects.get()
    assert (refusal.origin, refusal.refused) == (SHOP, 2)
    assert refusal.first_seen_at == start and refusal.last_seen_at == start + timedelta(hours=2)
    assert CookieConsentRecord.objects.count() == 1  # the allowed website's


def test_a_refused_preflight_is_counted_since_the_browser_then_sends_no_post(client):
    # What the banner's JSON post from another website causes: the OPTIONS, and nothing more.
    assert preflight(client, SHOP).status_code == 403
    assert preflight(client, SITE).status_code == 204
    assert list(RefusedOrigin.objects.values_list("origin", "refused")) == [(SHOP, 1)]


def test_the_refused_origin_is_all_that_is_kept(client):
    post(client, choice(), SHOP, REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Mozilla/5.0 (Visitor)")
    refusal = RefusedOrigin.objects.values().get()
    assert set(refusal) == {"id", "origin", "refused", "first_seen_at", "last_seen_at"}
    assert "203.0.113" not in repr(refusal) and "Visitor" not in repr(refusal)


@pytest.mark.parametrize(
    "origin",
    ["javascript:alert(1)", "https://shop.pltt.xyz/path", "https://" + "a" * 300, "<script>", "HTTPS://SHOP"],
)
def test_an_origin_no_browser_would_send_is_refused_but_not_counted(client, origin):
    assert post(client, choice(), origin).status_code == 403
    assert not RefusedOrigin.objects.exists()


def test_file_pages_and_sandboxed_frames_are_counted_as_null(client):
    post(client, choice(), "null")
    assert RefusedOrigin.objects.get().origin == "null"


def test_refusals_spend_the_rate_limit_and_are_not_counted_beyond_it(client, settings):
    settings.CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE = 3
    codes = [post(client, choice(), f"https://junk{n}.example").status_code for n in range(5)]
    assert codes == [403] * 5
    assert RefusedOrigin.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_refusals_of_a_new_origin_are_all_counted():
    def refuse():
        try:
            for _ in range(10):
                services.count_refused_origin(origin=SHOP)
        finally:
            connection.close()

    threads = [threading.Thread(target=refuse) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert RefusedOrigin.objects.get(origin=SHOP).refused == 40


def test_the_first_refusal_of_an_origin_is_logged_with_the_origin_and_the_setting_to_change(caplog):
    services.count_refused_origin(origin=SHOP)
    services.count_refused_origin(origin=SHOP)
    logged = [r.getMessage() for r in caplog.records if r.name == "consent.services"]
    assert len(logged) == 1 and SHOP in logged[0] and "CONSENT_ALLOWED_ORIGINS" in logged[0]


# --- a choice sent again by the banner --------------------------------------------------------
def test_a_choice_sent_again_is_recorded_once(client):
    body = choice(chosen_at="2026-12-01T10:00:00.123Z")
    first = post(client, body, SITE)
    again = post(client, body, SITE)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    record = CookieConsentRecord.objects.get()
    assert record.chosen_at.isoformat() == "2026-12-01T10:00:00.123000+00:00"
    assert record.created_at > record.chosen_at
    # Another choice of the same visitor is another record.
    assert post(client, choice(chosen_at="2026-12-01T10:05:00Z", choice="reject_all"), SITE).status_code == 201
    assert CookieConsentRecord.objects.count() == 2


def test_a_chosen_at_without_a_time_zone_is_refused(client):
    response = post(client, choice(chosen_at="2026-12-01T10:00:00"), SITE)
    assert response.status_code == 422 and "chosen_at" in response.json()["detail"]


# --- the officer's desk and the admin ---------------------------------------------------------
def desk(admin_login, user) -> str:
    page = admin_login(user).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return page[page.index('id="desk-refused-origins"') :] if 'id="desk-refused-origins"' in page else ""


def test_the_desk_shows_each_refused_origin_with_its_count_since_it_was_first_refused(admin_login, officer):
    first = timezone.now() - timedelta(days=3)
    with time_machine.travel(first, tick=False):
        services.count_refused_origin(origin=SHOP)
    for _ in range(2):
        services.count_refused_origin(origin=SHOP)
    section = desk(admin_login, officer)
    since = timezone.localtime(first).strftime("%Y-%m-%d %H:%M")
    assert f"cookie choices refused from {SHOP}: 3 since {since}" in section
    assert "CONSENT_ALLOWED_ORIGINS" in section and "allowed now" not in section
    korean = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert f"{SHOP}에서 거부된 쿠키 선택: 3건 ({since}부터)" in korean


def test_the_desk_says_when_a_refused_origin_is_allowed_now(admin_login, officer, settings):
    services.count_refused_origin(origin=SHOP)
    settings.CONSENT_ALLOWED_ORIGINS = [SITE, SHOP]
    assert "allowed now" in desk(admin_login, officer)


def test_the_desk_shows_no_refusals_section_when_none_happened_lately(admin_login, officer):
    assert desk(admin_login, officer) == ""
    with time_machine.travel(timezone.now() - timedelta(days=services.REFUSED_ORIGIN_DESK_DAYS + 1)):
        services.count_refused_origin(origin=SHOP)
    assert desk(admin_login, officer) == ""


def test_support_sees_the_refusals_and_marketing_does_not(admin_login, support, marketer):
    services.count_refused_origin(origin=SHOP)
    assert SHOP in desk(admin_login, support)
    assert desk(admin_login, marketer) == ""


def test_the_admin_lists_refused_origins_read_only(admin_login, officer):
    services.count_refused_origin(origin=SHOP)
    client = admin_login(officer)
    listing = client.get("/admin/consent/refusedorigin/", HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200 and SHOP in listing.content.decode()
    assert client.get("/admin/consent/refusedorigin/add/").status_code == 403
    row = RefusedOrigin.objects.get()
    assert client.post(f"/admin/consent/refusedorigin/{row.pk}/change/", {"refused": "0"}).status_code == 403
    assert client.post(f"/admin/consent/refusedorigin/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RefusedOrigin.objects.get().refused == 1


# --- the setting ------------------------------------------------------------------------------
def allowed_origins(value: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.CONSENT_ALLOWED_ORIGINS)",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "privacyops.settings", "CONSENT_ALLOWED_ORIGINS": value},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_allowed_origins_are_written_as_a_browser_sends_them():
    result = allowed_origins("https://WWW.pltt.xyz/, http://localhost:3000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['https://www.pltt.xyz', 'http://localhost:3000']"


@pytest.mark.parametrize("value", ["www.pltt.xyz", "https://www.pltt.xyz/consent", "*"])
def test_a_value_that_is_not_an_origin_stops_start_up_with_the_variable_named(value):
    result = allowed_origins(value)
    assert result.returncode != 0
    assert "CONSENT_ALLOWED_ORIGINS" in result.stderr and "is not a web origin" in result.stderr
