"""A staff member signs in to the admin in a real browser: password and the TOTP code from their
authenticator, then lands on the officer's desk. A wrong code keeps them out."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.browser

PASSWORD = "Correct-Horse-42"


@pytest.fixture
def officer_with_authenticator(transactional_db):
    user = get_user_model().objects.create_superuser(username="jongkeun", email="", password=PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


def sign_in(page, url: str, code: str) -> None:
    page.goto(f"{url}/admin/login/")
    page.fill("input[name=username]", "jongkeun")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", code)
    page.click("input[type=submit]")


def test_an_officer_signs_in_with_password_and_totp_and_sees_the_desk(
    live_server, browser_page, officer_with_authenticator
):
    _, device = officer_with_authenticator
    sign_in(browser_page, live_server.url, f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}")
    browser_page.wait_for_selector("#officer-desk")
    assert browser_page.url.rstrip("/").endswith("/admin")


def test_a_wrong_code_keeps_the_officer_out(live_server, browser_page, officer_with_authenticator):
    _, device = officer_with_authenticator
    right = totp(device.bin_key, step=device.step, digits=device.digits)
    sign_in(browser_page, live_server.url, f"{(right + 1) % 1_000_000:06d}")
    assert "/admin/login/" in browser_page.url
    assert browser_page.locator("#officer-desk").count() == 0
    assert browser_page.locator(".errornote").is_visible()
