from __future__ import annotations

import json

import pytest

from audit.models import ApiScope
from consent import banner, services
from consent.models import ConsentEvent, CookieConsentRecord

pytestmark = pytest.mark.django_db

SITE = "https://www.pltt.xyz"


def post(client, path, body, key=None, **headers):
    if key:
        headers["X-API-Key"] = key
    extra = {"REMOTE_ADDR": headers.pop("REMOTE_ADDR")} if "REMOTE_ADDR" in headers else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=headers, **extra)


# --- GET /api/consent/{subject} ------------------------------------------------------------
def test_an_internal_service_reads_current_consent_and_whether_it_may_process(client, api_key, alice):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form", night_time=True)
    response = client.get(f"/api/consent/{alice.pk}", headers={"X-API-Key": api_key(ApiScope.CONSENT_READ)})
    assert response.status_code == 200
    body = response.json()
    purposes = {p["key"]: p for p in body["purposes"]}
    assert body["subject_id"] == alice.pk and body["processing_restricted"] is False
    assert (
        purposes["marketing"]["granted"]
        and purposes["marketing"]["may_process"]
        and purposes["marketing"]["night_time"]
    )
    assert purposes["marketing"]["reconfirm_due_at"] is not None
    assert not purposes["third_party_integration"]["may_process"]
    assert purposes["security"]["may_process"] and not purposes["security"]["consent_required"]
    # The read is in the access log, by the API client, naming the subject.
    from audit.models import AccessLog, AccessLogSubject

    log = AccessLog.objects.get(action="view")
    assert log.username == "api:website" and AccessLogSubject.objects.get(log=log).subject_id == alice.pk


def test_reading_consent_needs_a_key_with_the_read_scope(client, api_key, alice):
    assert client.get(f"/api/consent/{alice.pk}").status_code == 401
    response = client.get(f"/api/consent/{alice.pk}", headers={"X-API-Key": api_key(ApiScope.VISITS_WRITE)})
    assert response.status_code == 403 and "consent:read" in response.json()["detail"]


def test_an_unknown_subject_is_404(client, api_key):
    response = client.get("/api/consent/999999", headers={"X-API-Key": api_key(ApiScope.CONSENT_READ)})
    assert response.status_code == 404 and response.json()["detail"] == "No subject with this id."


# --- POST /api/consent/{subject} -------------------------------------------------------------
def test_a_signup_form_records_a_separate_marketing_consent(client, api_key, alice):
    key = api_key(ApiScope.CONSENT_WRITE)
    body = {"purpose": "marketing", "action": "grant", "channel": "web_form", "notice_text": "광고성 정보 수신 동의"}
    response = post(client, f"/api/consent/{alice.pk}", {**body, "ip": "203.0.113.4", "user_agent": "UA"}, key)
    assert response.status_code == 201 and response.json()["granted"] is True
    event = ConsentEvent.objects.get(pk=response.json()["event_id"])
    assert (event.ip, event.channel, event.purpose.key) == ("203.0.113.4", "web_form", "marketing")
    withdrawn = post(
        client, f"/api/consent/{alice.pk}", {"purpose": "marketing", "action": "withdraw", "channel": "web_form"}, key
    )
    assert withdrawn.status_code == 201 and withdrawn.json()["granted"] is False
    again = post(
        client, f"/api/consent/{alice.pk}", {"purpose": "marketing", "action": "withdraw", "channel": "web_form"}, key
    )
    assert again.status_code == 200 and again.json() == {"event_id": None, "recorded": False, "granted": False}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"purpose": "marketing", "action": "grant", "channel": "web_form"}, "notice_text is required"),
        (
            {"purpose": "security", "action": "grant", "channel": "web_form", "notice_text": "x"},
            "does not rely on consent",
        ),
        ({"purpose": "telepathy", "action": "grant", "channel": "web_form", "notice_text": "x"}, "no purpose"),
        ({"purpose": "marketing", "action": "grant", "channel": "gpc_signal", "notice_text": "x"}, "channel"),
        ({"purpose": "marketing", "action": "maybe", "channel": "web_form"}, "action"),
        (
            {"purpose": "marketing", "action": "grant", "channel": "web_form", "notice_text": "x", "night_time": "yes"},
            "night_time",
        ),
        (
            {
                "purpose": "marketing",
                "action": "grant",
                "channel": "web_form",
                "notice_text": "x",
                "occurred_at": "2026-01-01T00:00:00",
            },
            "occurred_at",
        ),
        ({"purpose": "marketing", "action": "grant", "channel": "web_form", "notice_text": "x", "extra": 1}, "extra"),
    ],
)
def test_bad_consent_writes_get_422_with_a_message(client, api_key, alice, body, message):
    response = post(client, f"/api/consent/{alice.pk}", body, api_key(ApiScope.CONSENT_WRITE))
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not ConsentEvent.objects.exists()


# --- POST /api/consent/cookies ---------------------------------------------------------------
def choice(**overrides):
    body = {
        "visitor_id": "0123456789abcdef0123456789abcdef",
        "banner_version": banner.banner_version(),
        "language": "ko",
        "choice": "allow_all",
        "categories": {},
        "gpc": False,
    }
    return {**body, **overrides}


@pytest.fixture
def site(settings):
    settings.CONSENT_ALLOWED_ORIGINS = [SITE]


def test_allow_all_is_recorded_with_the_notice_hash_and_a_truncated_ip(client, site):
    response = post(client, "/api/consent/cookies", choice(), Origin=SITE, REMOTE_ADDR="203.0.113.77")
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == SITE
    assert "Access-Control-Allow-Credentials" not in response
    record = CookieConsentRecord.objects.get(pk=response.json()["id"])
    assert record.categories == ["necessary", "preferences", "statistics", "marketing"]
    assert record.ip_truncated == "203.0.113.0"
    assert record.notice_sha256 == banner.notice_sha256("ko") and not record.gpc_honoured


def test_reject_all_keeps_only_the_necessary_cookies(client, site):
    response = post(client, "/api/consent/cookies", choice(choice="reject_all"), Origin=SITE)
    assert response.json()["categories"] == ["necessary"]


def test_a_gpc_browser_allowing_all_gets_marketing_off_and_the_record_says_so(client, site):
    response = post(client, "/api/consent/cookies", choice(), Origin=SITE, **{"Sec-GPC": "1"})
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "categories": ["necessary", "preferences", "statistics"],
        "gpc_honoured": True,
    }
    record = CookieConsentRecord.objects.get()
    assert record.gpc and record.gpc_honoured


def test_navigator_gpc_counts_like_the_header(client, site):
    response = post(client, "/api/consent/cookies", choice(gpc=True), Origin=SITE)
    assert response.json()["gpc_honoured"] is True and "marketing" not in response.json()["categories"]


def test_a_box_ticked_one_by_one_wins_over_gpc(client, site):
    body = choice(choice="custom", gpc=True, categories={"marketing": True, "statistics": False, "preferences": False})
    response = post(client, "/api/consent/cookies", body, Origin=SITE)
    assert response.json()["categories"] == ["necessary", "marketing"] and response.json()["gpc_honoured"] is False


def test_the_ipv6_address_is_kept_only_to_its_48_bit_prefix(client, site):
    post(client, "/api/consent/cookies", choice(), REMOTE_ADDR="2001:db8:1234:5678::1")
    assert CookieConsentRecord.objects.get().ip_truncated == "2001:db8:1234::"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"visitor_id": "not-hex"}, "visitor_id"),
        ({"language": "fr"}, "language"),
        ({"choice": "accept"}, "choice"),
        ({"categories": {"marketing": "yes"}}, "categories"),
        ({"gpc": "true"}, "gpc"),
        ({"surprise": 1}, "surprise"),
        (None, "visitor_id"),
    ],
)
def test_malformed_cookie_choices_get_422_naming_the_field(client, site, body, field):
    body = choice(**body) if body is not None else {}
    response = post(client, "/api/consent/cookies", body, Origin=SITE)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert response["Access-Control-Allow-Origin"] == SITE  # the banner's developers can read why
    assert not CookieConsentRecord.objects.exists()


def test_a_body_that_is_not_json_gets_422(client, site):
    response = post(client, "/api/consent/cookies", "{not json", Origin=SITE)
    assert response.status_code == 422 and "Invalid input" in response.json()["detail"]


def test_an_unknown_category_or_an_old_banner_version_is_refused(client, site):
    response = post(client, "/api/consent/cookies", choice(categories={"tracking": True}), Origin=SITE)
    assert response.status_code == 422 and "tracking" in response.json()["detail"]
    response = post(client, "/api/consent/cookies", choice(banner_version="0" * 16), Origin=SITE)
    assert response.status_code == 422 and "reload" in response.json()["detail"]


def test_a_banner_edited_by_another_process_is_taken_as_soon_as_its_version_is_posted(client, site):
    from consent.models import CookieCategory

    assert post(client, "/api/consent/cookies", choice(), Origin=SITE).status_code == 201
    remembered = banner._last_read  # what this process holds now
    # Edited in another server process (no signal reaches this one), whose banner.js the visitor loaded.
    CookieCategory.objects.filter(key="statistics").update(description_ko="이제 히트맵도 측정합니다.")
    new = banner.current()
    body = choice(banner_version=new.version)
    banner._last_read = remembered
    response = post(client, "/api/consent/cookies", body, Origin=SITE)
    assert response.status_code == 201
    assert CookieConsentRecord.objects.get(pk=response.json()["id"]).notice_sha256 == new.notice_sha256["ko"]


def test_a_choice_on_the_previous_banner_is_refused_once_the_cache_period_has_passed(client, site):
    import time_machine
    from django.utils import timezone

    from consent.models import CookieCategory
    from consent.services import BANNER_MAX_AGE_SECONDS

    old = choice()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert post(client, "/api/consent/cookies", old, Origin=SITE).status_code == 201
        CookieCategory.objects.filter(key="statistics").update(description_ko="이제 히트맵도 측정합니다.")
        # Within the period this process may still take the version it remembers; the record
        # names that version and the hash of its text, which is what that visitor was shown.
        response = post(client, "/api/consent/cookies", {**old, "choice": "reject_all"}, Origin=SITE)
        assert response.status_code == 201
        assert CookieConsentRecord.objects.get(pk=response.json()["id"]).banner_version == old["banner_version"]
        traveller.shift(BANNER_MAX_AGE_SECONDS + 1)
        response = post(client, "/api/consent/cookies", old, Origin=SITE)
        assert response.status_code == 422 and "reload" in response.json()["detail"]


def test_another_website_may_not_post_choices(client, site):
    response = post(client, "/api/consent/cookies", choice(), Origin="https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not CookieConsentRecord.objects.exists()


def test_the_preflight_allows_the_company_website_without_credentials(client, site):
    response = client.options(
        "/api/consent/cookies",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SITE
    assert (
        "POST" in response["Access-Control-Allow-Methods"]
        and response["Access-Control-Allow-Headers"] == "Content-Type"
    )
    assert "Access-Control-Allow-Credentials" not in response
    assert client.options("/api/consent/cookies", headers={"Origin": "https://evil.example"}).status_code == 403


def test_the_endpoint_needs_no_csrf_token_or_cookie(site):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, "/api/consent/cookies", choice(), Origin=SITE).status_code == 201


def test_posting_too_often_from_one_address_gets_429(client, site, settings):
    settings.CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE = 3
    codes = [
        post(client, "/api/consent/cookies", choice(visitor_id=f"{i:032x}"), Origin=SITE).status_code for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    limited = post(client, "/api/consent/cookies", choice(), Origin=SITE)
    assert limited["Retry-After"] == "60" and "try again" in limited.json()["detail"]
    # Another address is not affected.
    assert post(client, "/api/consent/cookies", choice(), Origin=SITE, REMOTE_ADDR="198.51.100.1").status_code == 201


def test_behind_a_trusted_proxy_the_forwarded_address_is_used(client, site, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    post(client, "/api/consent/cookies", choice(), Origin=SITE, **{"X-Forwarded-For": "6.6.6.6, 198.51.100.23"})
    assert CookieConsentRecord.objects.get().ip_truncated == "198.51.100.0"


def test_cookie_records_are_append_only(client, site):
    from privacyops.lib.ledger import AppendOnlyError

    post(client, "/api/consent/cookies", choice(), Origin=SITE)
    record = CookieConsentRecord.objects.get()
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        CookieConsentRecord.objects.all().delete()
