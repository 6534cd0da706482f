"""The banner in a real browser: the company page (on http://localhost:PORT) embeds banner.js from
privacyops (on http://127.0.0.1:PORT, another origin), so the choice is posted cross-site with
CORS, exactly as from the company website. Google Analytics and Meta are stand-ins served by
the live server; the test records every request the page makes."""

from __future__ import annotations

import pytest

from consent.models import CookieConsentRecord

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.consent.urls")]

GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


@pytest.fixture
def site(live_server, settings):
    backend = live_server.url.replace("localhost", "127.0.0.1")
    assert backend != live_server.url, "the page and privacyops must be on different origins"
    settings.GA_MEASUREMENT_ID = "G-TEST0001"
    settings.META_PIXEL_ID = "1234567890"
    settings.CONSENT_GA_SCRIPT_URL = f"{backend}/test-vendor/gtag.js"
    settings.CONSENT_META_SCRIPT_URL = f"{backend}/test-vendor/fbevents.js"
    settings.CONSENT_ALLOWED_ORIGINS = [live_server.url]
    return {"page": f"{live_server.url}/test-site/?banner={backend}/consent/banner.js", "backend": backend}


class Visit:
    def __init__(self, chromium, site, *, gpc: bool = False, locale: str = "ko-KR", lang: str = "ko"):
        headers = {"Sec-GPC": "1"} if gpc else {}
        self.context = chromium.new_context(locale=locale, timezone_id="Asia/Seoul", extra_http_headers=headers)
        if gpc:
            self.context.add_init_script(GPC_SCRIPT)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.url = f"{site['page']}&lang={lang}"

    def open(self):
        self.page.goto(self.url)
        self.page.wait_for_selector("#palette-consent")
        return self

    def vendor_requests(self) -> list[str]:
        return [url for url in self.requests if "/test-vendor/" in url]

    def tags(self) -> list[str]:
        return self.page.eval_on_selector_all("script[data-palette-consent]", "els => els.map(e => e.src)")

    def choose(self, button: str) -> dict:
        with self.page.expect_response(
            lambda r: r.url.endswith("/api/consent/cookies") and r.request.method == "POST"
        ) as info:
            self.page.click(button)
        response = info.value
        assert response.status == 201, response.text()
        return response.json()


@pytest.fixture
def visit(chromium, site):
    visits = []

    def start(**kwargs) -> Visit:
        visits.append(Visit(chromium, site, **kwargs))
        return visits[-1].open()

    yield start
    for v in visits:
        v.context.close()


def test_no_tag_loads_before_the_visitor_chooses(visit):
    v = visit()
    v.page.wait_for_timeout(300)
    assert v.page.is_visible("#palette-consent-allow") and v.page.is_visible("#palette-consent-reject")
    assert v.page.is_visible("#palette-consent-choose")
    assert "모두 허용" in v.page.inner_text("#palette-consent")
    assert v.tags() == [] and v.vendor_requests() == []
    assert v.page.evaluate("typeof window.gtag === 'undefined' && typeof window.fbq === 'undefined'")
    assert not CookieConsentRecord.objects.exists()


def test_allow_all_loads_google_analytics_and_meta_and_is_recorded(visit):
    v = visit()
    answer = v.choose("#palette-consent-allow")
    assert answer["categories"] == ["necessary", "preferences", "statistics", "marketing"]
    v.page.wait_for_function("window.__gaLoaded === true && window.__metaLoaded === true")
    assert sorted(url.rsplit("/", 1)[1] for url in v.vendor_requests()) == ["fbevents.js", "gtag.js?id=G-TEST0001"]
    assert not v.page.is_visible("#palette-consent")
    record = CookieConsentRecord.objects.get()
    assert (record.choice, record.gpc, record.language) == ("allow_all", False, "ko")
    # The choice is remembered in a first-party cookie of the company site: the next page loads
    # the tags at once and does not ask again.
    cookie = next(c for c in v.context.cookies() if c["name"] == "palette_consent")
    assert cookie["domain"] == "localhost"
    v.page.reload()
    v.page.wait_for_function("window.__gaLoaded === true && window.__metaLoaded === true")
    assert not v.page.is_visible("#palette-consent")


def test_reject_all_keeps_every_tag_off_now_and_on_the_next_page(visit):
    v = visit()
    assert v.choose("#palette-consent-reject")["categories"] == ["necessary"]
    v.page.reload()
    v.page.wait_for_timeout(500)
    assert v.tags() == [] and v.vendor_requests() == []
    assert not v.page.is_visible("#palette-consent")
    assert CookieConsentRecord.objects.get().categories == ["necessary"]


def test_choosing_statistics_only_loads_google_analytics_only(visit):
    v = visit(locale="en-US", lang="en")  # an English page of the company website gets the English banner
    assert "Allow all" in v.page.inner_text("#palette-consent")
    v.page.click("#palette-consent-choose")
    v.page.check("#palette-consent-statistics")
    answer = v.choose("#palette-consent-save")
    assert answer["categories"] == ["necessary", "statistics"]
    v.page.wait_for_function("window.__gaLoaded === true")
    v.page.wait_for_timeout(300)
    assert [url.rsplit("/", 1)[1] for url in v.vendor_requests()] == ["gtag.js?id=G-TEST0001"]


def test_a_gpc_browser_gets_marketing_off_and_the_record_says_gpc_was_honoured(visit):
    v = visit(gpc=True)
    assert v.page.is_visible("#palette-consent-gpc")
    assert v.page.evaluate("window.PaletteConsent.gpc") is True
    # Marketing is unticked by default in "choose".
    v.page.click("#palette-consent-choose")
    assert not v.page.is_checked("#palette-consent-marketing")
    answer = v.choose("#palette-consent-allow")
    assert answer == {
        "id": answer["id"],
        "categories": ["necessary", "preferences", "statistics"],
        "gpc_honoured": True,
    }
    v.page.wait_for_function("window.__gaLoaded === true")
    v.page.wait_for_timeout(300)
    assert not any("fbevents" in url for url in v.vendor_requests())
    assert v.page.evaluate("typeof window.fbq === 'undefined'")
    record = CookieConsentRecord.objects.get()
    assert record.gpc and record.gpc_honoured and "marketing" not in record.categories


def test_saying_no_to_marketing_after_allowing_all_stops_the_meta_pixel_and_googles_ad_signals(visit):
    """The banner's "no" is anonymous (nothing reaches Stibee or Meta's audiences, docs/THIRDPARTY.md);
    what it changes is this browser: on the next page the Meta pixel is not loaded and Google
    Analytics runs with every ad signal denied (Consent Mode v2)."""
    v = visit()
    v.choose("#palette-consent-allow")
    v.page.wait_for_function("window.__gaLoaded === true && window.__metaLoaded === true")
    v.page.evaluate("window.PaletteConsent.open()")
    v.page.click("#palette-consent-choose")
    assert v.page.is_checked("#palette-consent-marketing")
    v.page.uncheck("#palette-consent-marketing")
    v.requests.clear()
    # A running tag cannot be unloaded: the banner reloads the page once the choice is recorded.
    with v.page.expect_navigation():
        with v.page.expect_response(
            lambda r: r.url.endswith("/api/consent/cookies") and r.request.method == "POST"
        ) as info:
            v.page.click("#palette-consent-save")
    assert info.value.status == 201
    v.page.wait_for_function("window.__gaLoaded === true")
    v.page.wait_for_timeout(500)
    assert [url.rsplit("/", 1)[1] for url in v.vendor_requests()] == ["gtag.js?id=G-TEST0001"]
    assert v.page.evaluate("typeof window.fbq === 'undefined' && window.__metaLoaded === undefined")
    consent_default = v.page.evaluate(
        "Array.from(window.dataLayer).map(a => Array.from(a)).find(a => a[0] === 'consent' && a[1] === 'default')[2]"
    )
    assert consent_default == {
        "analytics_storage": "granted",
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
    }
    assert v.page.evaluate("window.PaletteConsent.choice()") == ["necessary", "preferences", "statistics"]
    assert [r.categories for r in CookieConsentRecord.objects.order_by("pk")] == [
        ["necessary", "preferences", "statistics", "marketing"],
        ["necessary", "preferences", "statistics"],
    ]
