"""The SMS client against a fake gateway on 127.0.0.1 (pytest-httpserver): the key, the body, the
answers it retries and the ones it does not."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from incidents import sms


@pytest.fixture
def gateway(settings, httpserver):
    settings.SMS_GATEWAY_URL = httpserver.url_for("/messages")
    settings.SMS_GATEWAY_API_KEY = "sms-secret-key"
    settings.SMS_SENDER_NUMBER = "0212345678"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 2
    return httpserver


def test_it_posts_the_number_the_sender_and_the_text_with_the_key(gateway):
    gateway.expect_oneshot_request(
        "/messages",
        method="POST",
        headers={"Authorization": "Bearer sms-secret-key"},
        json={"to": "010-3333-4444", "from": "0212345678", "text": "안내 notice"},
    ).respond_with_json({"id": "m1"})
    sms.send_sms(to="010-3333-4444", text="안내 notice")
    gateway.check_assertions()


def test_a_500_is_worth_retrying_and_a_401_is_not(gateway):
    gateway.expect_oneshot_request("/messages", method="POST").respond_with_response(Response("oops", status=500))
    with pytest.raises(sms.SmsError) as error:
        sms.send_sms(to="010-3333-4444", text="x")
    assert error.value.retryable and error.value.reason == "HTTP 500"

    gateway.expect_oneshot_request("/messages", method="POST").respond_with_json({"error": "bad key"}, status=401)
    with pytest.raises(sms.SmsError) as error:
        sms.send_sms(to="010-3333-4444", text="x")
    assert not error.value.retryable and error.value.reason == "HTTP 401"


def test_an_unreachable_gateway_is_retried_later_and_the_error_names_no_number(settings):
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/messages"  # discard port: nothing listens
    settings.SMS_GATEWAY_API_KEY = "k"
    settings.SMS_SENDER_NUMBER = "0212345678"
    with pytest.raises(sms.SmsError) as error:
        sms.send_sms(to="010-3333-4444", text="x")
    assert error.value.retryable
    assert "3333" not in str(error.value)


def test_without_a_gateway_nothing_is_sent_and_the_missing_settings_are_named(settings):
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(sms.SmsError) as error:
        sms.send_sms(to="010-3333-4444", text="x")
    assert "SMS_GATEWAY_URL" in error.value.reason and not error.value.retryable


def test_the_development_fake_gateway_checks_the_key_and_the_body(tmp_path):
    import subprocess
    import sys

    import requests

    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "scripts/fake_sms_gateway.py", "--api-key", "k1", "--fail-first", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip().split("=", 1)[1]
        body = {"to": "010", "from": "02", "text": "hi"}
        assert requests.post(url, json=body, headers={"Authorization": "Bearer no"}, timeout=5).status_code == 401
        assert (
            requests.post(url, json={"to": "010"}, headers={"Authorization": "Bearer k1"}, timeout=5).status_code == 400
        )
        assert requests.post(url, json=body, headers={"Authorization": "Bearer k1"}, timeout=5).status_code == 500
        answer = requests.post(url, data=json.dumps(body), headers={"Authorization": "Bearer k1"}, timeout=5)
        assert answer.status_code == 200 and answer.json()["id"]
    finally:
        process.terminate()
        process.wait(timeout=5)
