from __future__ import annotations

import json

from thirdparty.models import VendorIdentity


def test_the_website_records_a_ga_client_id_when_it_collects_it(client, api_key, db):
    key = api_key("visits:write")
    body = {
        "email": "Eve@Example.com",
        "vendor": "google_analytics",
        "kind": "client_id",
        "value": "1197596843.1673515603",
    }
    response = client.post(
        "/api/thirdparty/identities", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
    )
    assert response.status_code == 201
    identity = VendorIdentity.objects.get()
    assert identity.subject.email == "eve@example.com" and identity.value == "1197596843.1673515603"
    # Seen again: the same row, not a second one.
    again = client.post(
        "/api/thirdparty/identities", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
    )
    assert again.status_code == 201 and VendorIdentity.objects.count() == 1


def test_a_clientid_of_someone_else_is_refused_with_409(client, api_key, alice, bob):
    key = api_key("visits:write")
    for email, status in (("alice@example.com", 201), ("bob@example.com", 409)):
        body = {"email": email, "vendor": "google_analytics", "kind": "client_id", "value": "shared.1"}
        response = client.post(
            "/api/thirdparty/identities", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
        )
        assert response.status_code == status


def test_bad_identity_input_gets_422_and_a_missing_key_401(client, api_key, db):
    key = api_key("visits:write")
    bad = {"email": "x@example.com", "vendor": "tiktok", "kind": "client_id", "value": "1"}
    assert (
        client.post(
            "/api/thirdparty/identities", json.dumps(bad), content_type="application/json", HTTP_X_API_KEY=key
        ).status_code
        == 422
    )
    good = {"email": "x@example.com", "vendor": "google_analytics", "kind": "client_id", "value": "1"}
    assert (
        client.post("/api/thirdparty/identities", json.dumps(good), content_type="application/json").status_code == 401
    )


def test_control_characters_are_refused_not_stored(client, api_key, db):
    key = api_key("visits:write")
    body = {"email": "x@example.com", "vendor": "google_analytics", "kind": "client_id", "value": "1\x00 2"}
    response = client.post(
        "/api/thirdparty/identities", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
    )
    assert response.status_code == 422
    assert not VendorIdentity.objects.exists()
