"""The banner embedded by a website on another origin, allowed and not, in a real browser.

The company website is a second HTTP server on its own port (so its own origin,
http://127.0.0.1:PORT), serving a page with the script tag and the Content-Security-Policy the
README gives for the website; privacyops is the live server. A choice from an origin left out of
CONSENT_ALLOWED_ORIGINS is refused by CORS: the banner says so in the console, keeps the choice
and sends it again on the next page view, and the officer's desk counts the refusals; once the
origin is allowed, the next page view records the choice that was kept."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from consent.models import CookieConsentRecord, RefusedOrigin

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>Palette</title>
<script src="{banner}" defer></script></head>
<body><h1>Palette</h1><p>How We Craft Art with AI</p></body></html>"""

# The README's policy for the website, with the live server as privacyops and the stand-in
# Google Analytics tag served by the website itself ('self').
CSP = "default-src 'self'; script-src 'self' {backend}; connect-src 'self' {backend}; style-src 'self'; img-src 'self'"

CSP_WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


class CompanySite:
    """The company website: one page embedding the banner from privacyops, and a stand-in gtag.js."""

    def __init__(self, backend: str):
        page = PAGE.format(banner=f"{backend}/consent/banner.js").encode()
        csp = CSP.format(backend=backend)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/gtag.js?id=G-TEST0001":
                    body, kind = b"window.__gaLoaded = true;", "text/javascript"
                elif self.path == "/":
                    body, kind = page, "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Security-Policy", csp)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def company_site(live_server, settings):
    site = CompanySite(live_server.url)
    assert site.origin != live_server.url
    settings.GA_MEASUREMENT_ID = "G-TEST0001"
    settings.CONSENT_GA_SCRIPT_URL = f"{site.origin}/gtag.js"
    yield site
    site.stop()


class Visit:
    def __init__(self, chromium, site: CompanySite):
        self.context = chromium.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
        self.context.add_init_script(CSP_WATCH)
        self.page = self.context.new_page()
        self.console: list[tuple[str, str]] = []
        self.page.on("console", lambda message: self.console.append((message.type, message.text)))
        self.posts: list[int] = []
        self.page.on("response", self._response)
        self.site = site

    def _response(self, response):
        if response.url.endswith("/api/consent/cookies") and response.request.method == "POST":
            self.posts.append(response.status)

    def open(self) -> Visit:
        self.page.goto(f"{self.site.origin}/")
        self.page.wait_for_function("() => window.PaletteConsent !== undefined")
        return self

    def ours(self) -> list[tuple[str, str]]:
        return [(kind, text) for kind, text in self.console if text.startswith("Palette consent:")]

    def pending(self) -> int:
        return self.page.evaluate("window.PaletteConsent.pending()")

    def visitor_id(self) -> str:
        import json
        from urllib.parse import unquote

        cookie = next(c for c in self.context.cookies() if c["name"] == "palette_consent")
        return json.loads(unquote(cookie["value"]))["id"]

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__csp")


@pytest.fixture
def visit(chromium, company_site):
    visits = []

    def start() -> Visit:
        visits.append(Visit(chromium, company_site))
        return visits[-1].open()

    yield start
    for v in visits:
        v.context.close()


def is_the_choice_post(response) -> bool:
    return response.url.endswith("/api/consent/cookies") and response.request.method == "POST"


def test_a_choice_on_an_allowed_website_is_recorded_and_the_banner_works_under_its_csp(visit, company_site, settings):
    settings.CONSENT_ALLOWED_ORIGINS = [company_site.origin]
    v = visit()
    v.page.wait_for_selector("#palette-consent")
    # Styled through the CSSOM, so the website's style-src 'self' does not unstyle it.
    assert v.page.eval_on_selector("#palette-consent", "e => getComputedStyle(e).position") == "fixed"
    with v.page.expect_response(is_the_choice_post) as answer:
        v.page.click("#palette-consent-allow")
    assert answer.value.status == 201
    v.page.wait_for_function("() => window.__gaLoaded === true && window.PaletteConsent.pending() === 0")
    record = CookieConsentRecord.objects.get()
    assert (record.choice, record.visitor_id) == ("allow_all", v.visitor_id())
    assert record.chosen_at is not None
    assert not RefusedOrigin.objects.exists()
    assert v.ours() == [] and v.csp_violations() == []


def test_a_refused_website_keeps_the_choice_the_desk_counts_it_and_allowing_the_origin_records_it(
    visit, company_site, settings, admin_login, officer
):
    settings.CONSENT_ALLOWED_ORIGINS = []  # the default: the website was never listed
    v = visit()
    v.page.wait_for_selector("#palette-consent")
    with v.page.expect_console_message(lambda m: m.text.startswith("Palette consent:")) as said:
        v.page.click("#palette-consent-allow")
    # The console says why and what happens to the choice.
    assert said.value.type == "error"
    assert "CONSENT_ALLOWED_ORIGINS" in said.value.text and company_site.origin in said.value.text
    assert "sent again on the next page view" in said.value.text
    assert not CookieConsentRecord.objects.exists()
    # The choice still applies on the website: the banner is gone and the allowed tag loads.
    v.page.wait_for_function("() => window.__gaLoaded === true")
    assert not v.page.is_visible("#palette-consent")
    assert v.pending() == 1
    refusal = RefusedOrigin.objects.get()
    assert (refusal.origin, refusal.refused) == (company_site.origin, 1)

    desk = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="desk-refused-origins"' in desk
    assert f"cookie choices refused from {company_site.origin}: 1 since" in desk
    korean = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert f"{company_site.origin}에서 거부된 쿠키 선택: 1건" in korean

    # The next page view on the still-refused website tries again, and is counted again.
    with v.page.expect_console_message(lambda m: m.text.startswith("Palette consent:")):
        v.page.reload()
    assert v.pending() == 1 and not CookieConsentRecord.objects.exists()
    assert RefusedOrigin.objects.get().refused == 2

    # The operator lists the website; the visitor's next page view records the kept choice.
    settings.CONSENT_ALLOWED_ORIGINS = [company_site.origin]
    with v.page.expect_response(is_the_choice_post) as answer:
        v.page.reload()
    assert answer.value.status == 201
    v.page.wait_for_function("() => window.PaletteConsent.pending() === 0")
    record = CookieConsentRecord.objects.get()
    assert (record.choice, record.visitor_id) == ("allow_all", v.visitor_id())
    assert record.categories == ["necessary", "preferences", "statistics", "marketing"]
    assert record.chosen_at < record.created_at  # made on the first page, recorded on the third
    assert not v.page.is_visible("#palette-consent")
    assert RefusedOrigin.objects.get().refused == 2
    desk = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "allowed now" in desk[desk.index('id="desk-refused-origins"') :]

    # Nothing is left to send: the page after that posts nothing.
    posts_before = len(v.posts)
    v.page.reload()
    v.page.wait_for_function("() => window.__gaLoaded === true")
    v.page.wait_for_timeout(300)
    assert len(v.posts) == posts_before and CookieConsentRecord.objects.count() == 1
    assert v.csp_violations() == []
