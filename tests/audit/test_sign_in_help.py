"""The sign-in page speaks the admin's language, says when a code can be tried again after a
wrong one, and the lockout page names a way out that exists (never "ask yourself")."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "Correct-Horse-42"
DJANGO_OTP_WORDS = ["OTP Device", "OTP Token", "Get OTP Challenge", "Invalid token", "OTP Challenge"]


def _code(device: TOTPDevice) -> str:
    # totp() reads the clock, which time_machine moves.
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _wrong(device: TOTPDevice) -> str:
    return f"{(int(_code(device)) + 1) % 1_000_000:06d}"


@pytest.fixture
def officer_device(officer):
    return TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)


@pytest.mark.parametrize(
    ("language", "label", "login"),
    [("ko", "인증 코드", "로그인"), ("en", "Authentication code", "Log in")],
)
def test_the_sign_in_page_asks_for_the_code_in_the_admins_words(db, language, label, login):
    page = Client(HTTP_ACCEPT_LANGUAGE=language).get(LOGIN).content.decode()
    assert label in page and f'value="{login}"' in page
    assert 'autocomplete="one-time-code"' in page and 'id="site-name"' in page
    for word in DJANGO_OTP_WORDS:
        assert word not in page


def test_after_a_wrong_code_the_page_says_when_the_next_try_is_possible_and_then_the_right_code_works(
    officer, officer_device
):
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        page = client.post(LOGIN, {"username": "officer", "password": PASSWORD, "otp_token": _wrong(officer_device)})
    text = page.content.decode()
    assert page.status_code == 200
    next_try = timezone.localtime(start + timedelta(seconds=1)).strftime("%H:%M:%S")
    assert "코드가 맞지 않습니다" in text and "1초" in text and next_try in text
    for word in DJANGO_OTP_WORDS + ["Verification temporarily disabled"]:
        assert word not in text
    # The password is kept, so only the code needs typing again.
    assert f'value="{PASSWORD}"' in text

    # The right code within the wait is not checked, and the page says until when.
    with time_machine.travel(start, tick=False):
        page = client.post(LOGIN, {"username": "officer", "password": PASSWORD, "otp_token": _code(officer_device)})
    assert page.status_code == 200 and next_try in page.content.decode()

    # Once the wait has passed, the right code lets the officer in.
    later = start + timedelta(seconds=2)
    with time_machine.travel(later, tick=False):
        response = client.post(LOGIN, {"username": "officer", "password": PASSWORD, "otp_token": _code(officer_device)})
        assert response.status_code == 302
        assert client.get(reverse("admin:index")).status_code == 200


def test_a_missing_code_is_asked_for_in_english_too(officer, officer_device):
    page = Client(HTTP_ACCEPT_LANGUAGE="en").post(LOGIN, {"username": "officer", "password": PASSWORD})
    assert "Enter the 6-digit code from your authenticator app." in page.content.decode()


def _lock(client: Client, username: str, times: int) -> str:
    for _ in range(times + 1):
        response = client.post(
            LOGIN, {"username": username, "password": "wrong-password-1", "otp_token": "0"}, REMOTE_ADDR="203.0.113.10"
        )
    assert response.status_code == 429
    return response.content.decode()


def test_the_only_privacy_officer_locked_out_is_shown_the_command_not_told_to_ask_a_colleague(officer, settings):
    page = _lock(Client(HTTP_ACCEPT_LANGUAGE="ko"), "officer", settings.AXES_FAILURE_LIMIT)
    assert "manage.py axes_reset_username" in page and "30분" in page and "UTC+9" in page
    assert "다른 개인정보 보호책임자가" not in page and "개인정보 보호책임자가 관리자" not in page
    assert "Django" not in page


def test_a_locked_out_colleague_is_pointed_to_the_privacy_officer(officer, support, settings):
    page = _lock(Client(HTTP_ACCEPT_LANGUAGE="en"), "support", settings.AXES_FAILURE_LIMIT)
    assert "A privacy officer can remove the entry" in page and "Another privacy officer" not in page
    assert "manage.py axes_reset_username" in page
