"""The interactive API console is for staff; the schema other services read stays public."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_console_asks_a_stranger_to_sign_in_when_debug_is_off(client, settings):
    settings.DEBUG = False
    response = client.get("/api/docs")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/api/docs")


def test_a_signed_in_staff_member_sees_the_api_console(admin_login, support):
    response = admin_login(support).get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_a_password_alone_without_the_second_factor_does_not_open_the_console(client, support):
    client.force_login(support)  # signed in, but the session never passed the TOTP step
    assert client.get("/api/docs").status_code == 302


def test_the_console_is_open_while_developing(client, settings):
    settings.DEBUG = True
    assert client.get("/api/docs").status_code == 200


def test_the_schema_stays_public(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert "/api/visits" in response.json()["paths"]
