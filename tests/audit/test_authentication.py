"""Staff sign-in (SA-02e/f, SA-03, SA-04): a TOTP second factor, lockout after repeated
failures, the password composition rule, 30-minute idle sessions, production headers."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/admin/login/?next=/admin/"


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def officer_device(officer):
    return TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)


def test_a_password_alone_does_not_open_the_admin(client, officer, officer_device):
    client.force_login(officer)  # signed in, but no second factor
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")

    response = client.post(LOGIN, {"username": "officer", "password": "Correct-Horse-42"})
    assert response.status_code == 200  # the form again, asking for the code
    assert client.get(reverse("admin:index")).status_code == 302


def test_password_and_a_wrong_code_are_refused_and_a_right_code_lets_the_officer_in(client, officer, officer_device):
    wrong = f"{(int(_code(officer_device)) + 1) % 1_000_000:06d}"
    response = client.post(LOGIN, {"username": "officer", "password": "Correct-Horse-42", "otp_token": wrong})
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302

    # After a wrong code django-otp makes the next try wait a second (doubling with each failure).
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        response = client.post(
            LOGIN, {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)}
        )
        assert response.status_code == 302
        assert client.get(reverse("admin:index")).status_code == 200


def test_an_account_without_an_authenticator_cannot_enter(client, support):
    response = client.post(LOGIN, {"username": "support", "password": "Correct-Horse-42", "otp_token": "123456"})
    assert response.status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_account_is_locked_after_the_set_number_of_failures(client, officer, officer_device, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(LOGIN, {"username": "officer", "password": "wrong-password-1", "otp_token": "000000"})
        assert response.status_code in (200, 429)

    # Now even the right password and code are refused from that address.
    response = client.post(
        LOGIN, {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)}
    )
    assert response.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302

    # The officer's unlock (axes' reset) lets the person in again.
    call_command("axes_reset_username", "officer")
    response = client.post(
        LOGIN, {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)}
    )
    assert response.status_code == 302


def _fail(client, username: str, times: int, address: str = "203.0.113.10") -> None:
    for _ in range(times):
        client.post(
            LOGIN, {"username": username, "password": "wrong-password-1", "otp_token": "000000"}, REMOTE_ADDR=address
        )


def test_a_locked_account_does_not_lock_colleagues_behind_the_same_address(officer, officer_device, support, settings):
    # Everyone behind the company proxy arrives from one address.
    support_device = TOTPDevice.objects.create(user=support, name="phone", confirmed=True)
    _fail(Client(), "officer", settings.AXES_FAILURE_LIMIT)

    officer_again = Client().post(
        LOGIN,
        {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)},
        REMOTE_ADDR="203.0.113.10",
    )
    assert officer_again.status_code == 429
    colleague = Client()
    response = colleague.post(
        LOGIN,
        {"username": "support", "password": "Correct-Horse-42", "otp_token": _code(support_device)},
        REMOTE_ADDR="203.0.113.10",
    )
    assert response.status_code == 302
    assert colleague.get(reverse("admin:index"), REMOTE_ADDR="203.0.113.10").status_code == 200
    # Nor is the locked person kept out from elsewhere (typing wrong passwords for someone's
    # account must not be a way to keep them out).
    elsewhere = Client().post(
        LOGIN,
        {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)},
        REMOTE_ADDR="198.51.100.20",
    )
    assert elsewhere.status_code == 302


def test_an_address_trying_many_accounts_is_locked_for_every_account(officer, officer_device, settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 8
    attacker = Client()
    for name in ("alice", "bob", "carol", "dave"):  # under the per-account limit each
        _fail(attacker, name, 2)
    response = Client().post(
        LOGIN,
        {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)},
        REMOTE_ADDR="203.0.113.10",
    )
    assert response.status_code == 429
    elsewhere = Client().post(
        LOGIN,
        {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)},
        REMOTE_ADDR="198.51.100.20",
    )
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["Sign-in blocked", "30 minutes", "Another privacy officer", "manage.py axes_reset_username USERNAME"]),
        ("ko", ["로그인 차단", "30분", "다른 개인정보 보호책임자", "manage.py axes_reset_username USERNAME"]),
    ],
)
def test_the_lockout_page_is_an_admin_page_saying_how_long_and_how_to_be_unlocked(
    officer, overseer, settings, language, expected
):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    _fail(client, "officer", settings.AXES_FAILURE_LIMIT)
    response = client.post(
        LOGIN, {"username": "officer", "password": "wrong-password-1", "otp_token": "0"}, REMOTE_ADDR="203.0.113.10"
    )
    assert response.status_code == 429
    page = response.content.decode()
    assert 'id="site-name"' in page and ">privacyops<" in page  # the admin's header
    for text in expected:
        assert text in page
    assert "Ask the privacy officer" not in page


def test_fewer_failures_than_the_limit_do_not_lock(client, officer, officer_device, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(LOGIN, {"username": "officer", "password": "wrong-password-1"})
    response = client.post(
        LOGIN, {"username": "officer", "password": "Correct-Horse-42", "otp_token": _code(officer_device)}
    )
    assert response.status_code == 302


def test_a_session_ends_after_thirty_idle_minutes_and_activity_keeps_it_alive(admin_login, officer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client = admin_login(officer)
        assert client.get(reverse("admin:index")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        assert client.get(reverse("admin:index")).status_code == 200  # pushes the end back
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        assert client.get(reverse("admin:index")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=81), tick=False):
        response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("gk4vmz8q", True),  # 8 characters, two kinds
        ("gkavmzwq", False),  # 8 characters, one kind
        ("gkavmzwqtb", True),  # 10 characters, one kind
        ("Gk4vmz8", False),  # 7 characters
        ("Palette2026!", False),  # the company's name
        ("zx1234vbn!Q", False),  # a run of digits
        ("qwerTY88!!", False),  # a keyboard row
        ("aaaa7Kq!xz", False),  # one character four times
        ("Correct-Horse-42", True),
    ],
)
def test_the_password_rule_of_sa03(password, accepted, db):
    if accepted:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_production_responses_carry_a_content_security_policy(client, db):
    with override_settings(CONTENT_SECURITY_POLICY="default-src 'self'; frame-ancestors 'none'"):
        response = client.get("/admin/login/")
    assert response["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert "Content-Security-Policy" not in client.get("/admin/login/").headers  # development: off


def _production_env(**extra: str) -> dict[str, str]:
    # The test run's own switches (DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests) are not production's.
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return {
        **env,
        "DEBUG": "False",
        "SECRET_KEY": "ci-" + secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": "Y2ktb25seS1maWVsZC1rZXktZm9yLXRlc3RzLTAwMDE=",
        "ACCESS_LOG_CHAIN_KEY": "ci-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "privacy.example.com",
        **extra,
    }


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_have_the_security_headers_and_idle_timeout():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_AGE, "
        "s.SESSION_SAVE_EVERY_REQUEST, 'frame-ancestors' in s.CONTENT_SECURITY_POLICY)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**_production_env(), "DJANGO_SETTINGS_MODULE": "privacyops.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["31536000", "True", "True", "1800", "True", "True"], result.stderr


def test_the_first_staff_account_gets_a_password_and_an_authenticator_once(db, capsys):
    from django.contrib.auth import get_user_model

    call_command("create_first_staff")
    out = capsys.readouterr().out
    user = get_user_model().objects.get(username="officer")
    device = TOTPDevice.objects.get(user=user)

    assert user.is_superuser and user.groups.filter(name="privacy officer").exists()
    assert device.confirmed
    assert "otpauth://totp/" in out and device.config_url in out
    assert "█" in out  # the QR code

    call_command("create_first_staff")
    assert "otpauth://" not in capsys.readouterr().out
    assert TOTPDevice.objects.count() == 1
