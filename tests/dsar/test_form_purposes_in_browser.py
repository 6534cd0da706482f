"""DSAR-06/07 in a real browser: the public form's purpose choice is a labelled group that passes
axe-core (WCAG 2.x A/AA) in both languages, and a suspension of two purposes sent from it is
recorded with them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dsar.models import DataSubjectRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# Installed by `npm install --prefix var/axe --no-save --no-audit --no-fund axe-core@4.14.1`.
AXE = Path(os.environ.get("AXE_CORE_PATH", ROOT / "var/axe/node_modules/axe-core/axe.min.js"))
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_purpose_choice_is_accessible_and_reaches_the_request(live_server, browser_page, language):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}")
    browser_page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    browser_page.goto(f"{live_server.url}/dsar/")
    group = browser_page.locator("#field-purposes fieldset")
    assert group.locator("legend").count() == 1
    assert group.locator('input[type="checkbox"][name="purposes"]').count() >= 5
    browser_page.add_script_tag(path=str(AXE))
    result = browser_page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_A_AA)
    assert [v["id"] for v in result["violations"]] == []

    browser_page.locator('input[name="request_type"][value="suspension"]').check()
    group.locator('input[value="marketing"]').check()
    group.locator('input[value="service_improvement"]').check()
    browser_page.fill("#id_name", "Alice Kim")
    browser_page.fill("#id_email", "alice@example.com")
    with browser_page.expect_navigation():
        browser_page.locator('form[enctype="multipart/form-data"] [type="submit"]').click()
    assert browser_page.url.endswith("/dsar/submitted/")
    assert DataSubjectRequest.objects.get().requested_purposes == ["marketing", "service_improvement"]
