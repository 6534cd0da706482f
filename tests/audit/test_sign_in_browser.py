"""Signing in to the Korean admin in Chromium: the code field in Korean, a wrong code saying from
when the next try is checked, and the right code accepted once that moment has passed. The
lockout page of the only privacy officer shows the command, not "ask another officer"."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Correct-Horse-42"
DJANGO_OTP_WORDS = ["OTP Device", "OTP Token", "Get OTP Challenge", "Invalid token", "Verification temporarily"]


def shot(page, name: str) -> None:
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    for label, width in (("desktop", 1366), ("phone", 390)):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(ARTIFACTS / f"sign_in_{name}_{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 800})


@pytest.fixture
def only_officer():
    user = get_user_model().objects.create_superuser(username="jongkeun", email="", password=PASSWORD)
    return user, TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_a_wrong_code_says_when_to_try_again_and_the_right_code_then_works(live_server, browser_page, only_officer):
    _, device = only_officer
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("label[for=id_otp_token]").inner_text().startswith("인증 코드")
    for word in DJANGO_OTP_WORDS:
        assert word not in page.content()
    right = totp(device.bin_key, step=device.step, digits=device.digits)
    page.fill("input[name=username]", "jongkeun")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", f"{(right + 1) % 1_000_000:06d}")
    page.click("input[type=submit]")
    error = page.locator(".errornote").last.inner_text()
    assert "코드가 맞지 않습니다" in error and re.search(r"\d\d:\d\d:\d\d부터", error)
    for word in DJANGO_OTP_WORDS:
        assert word not in page.content()
    assert page.input_value("input[name=otp_token]") == ""
    shot(page, "1_wrong_code")

    page.wait_for_timeout(1500)  # the first failure makes the next check wait one second
    # The password is kept: only the current code is typed again.
    page.fill("input[name=otp_token]", f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}")
    page.click("input[type=submit]")
    page.wait_for_selector("#officer-desk")


def test_the_only_officer_locked_out_is_shown_the_command(live_server, browser_page, only_officer, settings):
    page = browser_page
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("input[name=username]", "jongkeun")
        page.fill("input[name=password]", "wrong-password-1")
        page.fill("input[name=otp_token]", "000000")
        page.click("input[type=submit]")
    text = page.inner_text("#content-main")
    assert "로그인 차단" in text and "manage.py axes_reset_username" in text and "UTC+9" in text
    assert "다른 개인정보 보호책임자가" not in text
    assert page.inner_text("#site-name") == "privacyops"
    shot(page, "2_locked_out")
