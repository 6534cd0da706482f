"""A visitor's cookie choice and a person's preference change, in headless Chromium and in
Korean: the banner on the policy page (with its link to the policy), the same choice saved again
(no second record), and the preference page reached from an email, where a consent given twice
is recorded once and answered by one notice. Screenshots at 1366 and 390 px in test-artifacts/;
no English UI word on the Korean pages."""

from __future__ import annotations

import pytest
from django.core import mail

from consent import services
from consent.models import ConsentEvent, CookieConsentRecord
from tests.english_scan import english_on_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def shots(page, name: str) -> None:
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"subject_consent_{name}_{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (name, label)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert page.locator("html").get_attribute("lang") == "ko"
    assert english_on_page(page) == [], (name, english_on_page(page))


def test_a_visitor_chooses_cookies_and_saving_the_same_choice_again_records_nothing_new(live_server, browser_page):
    page = browser_page
    # The policy archive carries the banner as every public policy page does (the policy text
    # itself is the published document, not interface text, so it is not scanned here).
    page.goto(f"{live_server.url}/privacy/versions/")
    page.wait_for_selector("#palette-consent")
    policy = page.locator("#palette-consent-policy")
    assert policy.inner_text() == "개인정보처리방침"
    assert policy.get_attribute("href") == f"{live_server.url}/privacy/"
    shots(page, "1_banner")

    page.click("#palette-consent-choose")
    page.check("#palette-consent-statistics")
    with page.expect_response(lambda r: r.url.endswith("/api/consent/cookies")) as first:
        page.click("#palette-consent-save")
    assert first.value.status == 201
    page.wait_for_selector("#palette-consent", state="detached")
    assert CookieConsentRecord.objects.get().categories == ["necessary", "statistics"]

    # Reopened (the website's "cookie settings" link calls this) and saved unchanged: the
    # standing record answers.
    page.evaluate("window.PaletteConsent.open()")
    page.wait_for_selector("#palette-consent")
    page.click("#palette-consent-choose")
    assert page.is_checked("#palette-consent-statistics")
    shots(page, "2_banner_reopened")
    with page.expect_response(lambda r: r.url.endswith("/api/consent/cookies")) as again:
        page.click("#palette-consent-save")
    assert again.value.status == 200
    assert CookieConsentRecord.objects.count() == 1

    # A different choice is a new record.
    page.evaluate("window.PaletteConsent.open()")
    with page.expect_response(lambda r: r.url.endswith("/api/consent/cookies")) as changed:
        page.click("#palette-consent-reject")
    assert changed.value.status == 201
    assert CookieConsentRecord.objects.count() == 2


def test_a_person_changes_their_preferences_from_the_emailed_link(live_server, settings, browser_page, bob):
    from privacyops.celery import app

    settings.SITE_URL = live_server.url
    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        page = browser_page
        page.goto(services.preference_link(bob))
        assert page.is_visible("header.site") and page.is_visible("#language-select") and page.is_visible("footer")
        shots(page, "3_preferences")

        page.click("#grant-marketing")
        page.wait_for_selector(".messages li")
        assert "기록되었습니다" in page.inner_text(".messages")
        shots(page, "4_consented")
        # The person presses the button again (or goes back and resends): nothing new.
        page.click("#grant-marketing")
        page.wait_for_selector(".messages li")
        assert "바뀐 것이 없습니다" in page.inner_text(".messages")
        shots(page, "5_consented_again")
        assert ConsentEvent.objects.filter(subject=bob).count() == 1
        assert len([m for m in mail.outbox if m.to == ["bob@example.com"]]) == 1

        page.click("#withdraw-marketing")
        page.wait_for_selector("#grant-marketing")
        assert "철회" in page.inner_text(".messages")
        shots(page, "6_withdrawn")
        assert not services.may_process(subject=bob, purpose="marketing")
        assert len([m for m in mail.outbox if m.to == ["bob@example.com"]]) == 2

        # The language switch keeps the person on their page, now in English.
        page.select_option("#language-select", "en")
        page.click(".lang button")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "/consent/preferences/" in page.url
    finally:
        app.conf.task_always_eager = previous
