from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from consent import banner, services
from consent.models import ConsentEvent, ConsentState

pytestmark = pytest.mark.django_db


def config_of(response) -> dict:
    source = response.content.decode()
    return json.loads(re.search(r"var CONFIG = (\{.*?\});\n", source).group(1))


def test_the_banner_script_carries_both_languages_and_loads_no_tag_by_itself(client, settings):
    settings.GA_MEASUREMENT_ID, settings.META_PIXEL_ID = "G-TEST123", "999"
    response = client.get("/consent/banner.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert "Sec-GPC" in response["Vary"]
    config = config_of(response)
    assert config["version"] == banner.banner_version()
    assert config["texts"]["ko"]["rejectAll"] != config["texts"]["en"]["rejectAll"] == "Reject all"
    assert [c["key"] for c in config["texts"]["en"]["categories"]] == [
        "necessary",
        "preferences",
        "statistics",
        "marketing",
    ]
    assert config["ga"]["id"] == "G-TEST123" and config["meta"]["id"] == "999" and config["gpcHeader"] is False
    # The tag URLs appear only as data the script acts on after consent, nowhere in its code.
    code = [line for line in response.content.decode().splitlines() if not line.strip().startswith("var CONFIG")]
    assert not any("googletagmanager" in line or "fbevents" in line for line in code)


def test_the_banner_script_knows_when_the_request_carried_sec_gpc(client):
    assert config_of(client.get("/consent/banner.js", headers={"Sec-GPC": "1"}))["gpcHeader"] is True
    assert config_of(client.get("/consent/banner.js", headers={"Sec-GPC": "0"}))["gpcHeader"] is False


def test_editing_a_category_text_gives_a_new_banner_version(db):
    from consent.models import CookieCategory

    before = banner.banner_version()
    CookieCategory.objects.filter(key="statistics").update(description="Now with heatmaps.")
    assert banner.banner_version() != before


def test_the_gpc_support_resource_is_published(client):
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response.json()["gpc"] is True and re.fullmatch(r"\d{4}-\d{2}-\d{2}", response.json()["lastUpdate"])


def test_a_subject_sees_each_consent_on_the_preference_page(client, alice):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    link = services.preference_link(alice)
    assert link.startswith("http://127.0.0.1:8000/consent/preferences/")
    page = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "마케팅 및 광고 활용" in html and "맞춤형 콘텐츠 제공" in html and "제3자 연동 서비스" in html
    assert 'id="withdraw-marketing"' in html and 'id="grant-third_party_integration"' in html
    assert "alice@example.com" not in html and "Alice" not in html


def test_withdrawing_is_one_click(client, alice):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    path = services.preference_link(alice).removeprefix("http://127.0.0.1:8000")
    response = client.post(path, {"purpose": "marketing", "action": "withdraw"}, headers={"User-Agent": "UA/2"})
    assert response.status_code == 302
    assert not services.may_process(subject=alice, purpose="marketing")
    event = ConsentEvent.objects.filter(subject=alice).latest("occurred_at")
    assert (event.action, event.channel, event.user_agent) == ("withdrawn", "preference_page", "UA/2")
    assert 'id="grant-marketing"' in client.get(path).content.decode()


def test_consent_given_on_the_page_records_the_text_shown_and_the_night_choice(client, bob):
    path = services.preference_link(bob).removeprefix("http://127.0.0.1:8000")
    client.post(path, {"purpose": "marketing", "action": "grant", "night_time": "on"})
    state = ConsentState.objects.get(subject=bob, purpose__key="marketing")
    assert state.granted and state.night_time
    event = ConsentEvent.objects.get(subject=bob)
    assert event.notice_sha256 == ConsentEvent.hash_notice(state.purpose.description_ko)


def test_a_tampered_link_is_refused(client, alice):
    path = services.preference_link(alice).removeprefix("http://127.0.0.1:8000")
    response = client.get(path.replace("/preferences/", "/preferences/x"))
    assert response.status_code == 400 and "유효하지 않" in response.content.decode()
    other = signing.dumps({"s": alice.pk}, salt="some.other.purpose")
    assert client.get(f"/consent/preferences/{other}/").status_code == 400


def test_an_expired_link_says_so(client, alice, settings):
    path = services.preference_link(alice).removeprefix("http://127.0.0.1:8000")
    with time_machine.travel(timezone.now() + timedelta(days=settings.CONSENT_PREFERENCE_LINK_MAX_AGE_DAYS + 1)):
        response = client.get(path)
    assert response.status_code == 410 and "만료" in response.content.decode()


def test_a_post_that_names_no_consent_purpose_is_refused(client, alice):
    path = services.preference_link(alice).removeprefix("http://127.0.0.1:8000")
    assert client.post(path, {"purpose": "security", "action": "grant"}).status_code == 400
    assert client.post(path, {"purpose": "marketing", "action": "delete"}).status_code == 400
    assert not ConsentEvent.objects.exists()


def test_opening_the_page_from_a_gpc_browser_withdraws_marketing(client, alice):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    path = services.preference_link(alice).removeprefix("http://127.0.0.1:8000")
    response = client.get(path, headers={"Sec-GPC": "1"}, follow=True)
    assert response.status_code == 200
    event = ConsentEvent.objects.filter(subject=alice).latest("occurred_at")
    assert (event.action, event.channel, event.gpc) == ("withdrawn", "gpc_signal", True)
    # Consent given on the page from that browser is explicit and stays.
    client.post(path, {"purpose": "marketing", "action": "grant"}, headers={"Sec-GPC": "1"})
    client.get(path, headers={"Sec-GPC": "1"})
    assert services.may_process(subject=alice, purpose="marketing")


def test_the_page_is_in_english_when_the_browser_asks(client, alice):
    path = services.preference_link(alice).removeprefix("http://127.0.0.1:8000")
    html = client.get(path, headers={"Accept-Language": "en"}).content.decode()
    assert "Marketing and promotions" in html and "Your privacy choices" in html


def test_the_banner_links_to_the_policy_in_both_languages(client):
    config = config_of(client.get("/consent/banner.js"))
    assert config["policyPath"] == "/privacy/"
    assert config["texts"]["ko"]["policy"] == "개인정보처리방침" and config["texts"]["en"]["policy"] == "Privacy policy"


def test_the_preference_page_has_the_sites_header_language_switch_and_footer(client, alice):
    html = client.get(services.preference_link(alice).removeprefix("http://127.0.0.1:8000")).content.decode()
    assert 'class="site"' in html and 'id="language-select"' in html and 'action="/i18n/setlang/"' in html
    assert "<footer>" in html and 'href="/privacy/"' in html and "favicon.svg" in html
