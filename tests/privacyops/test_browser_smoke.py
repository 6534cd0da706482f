from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_admin_login_page_renders_in_a_real_browser(live_server, browser_page):
    browser_page.goto(f"{live_server.url}/admin/login/")
    assert browser_page.locator("input[name=username]").is_visible()
    assert browser_page.locator("html").get_attribute("lang") == "ko"
