from __future__ import annotations

import json

import pytest

from audit.models import ApiScope
from subjects.models import DataSubject, Inquiry, VisitLog

pytestmark = pytest.mark.django_db


def post(client, path, body, key=None, **extra):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers, **extra)


VISIT = {
    "visited_at": "2026-11-01T09:30:00+09:00",
    "ip": "203.0.113.5",
    "user_agent": "Mozilla/5.0",
    "path": "/works/42",
    "cookie_id": "c-123",
    "device": {"os": "iOS 18", "screen_size": "390x844", "device_id": "d-1", "phone_model": "iPhone 16"},
}


def test_a_visit_is_recorded_with_its_device_information(client, website_key):
    response = post(client, "/api/visits", VISIT, website_key)
    assert response.status_code == 201
    visit = VisitLog.objects.get(pk=response.json()["id"])
    assert (visit.ip, visit.os, visit.phone_model, visit.path) == ("203.0.113.5", "iOS 18", "iPhone 16", "/works/42")
    assert visit.visited_at.isoformat() == "2026-11-01T00:30:00+00:00"


def test_a_visit_with_a_known_email_is_linked_to_that_subject(client, website_key, alice):
    response = post(client, "/api/visits", {**VISIT, "subject_email": " Alice@Example.com "}, website_key)
    assert VisitLog.objects.get(pk=response.json()["id"]).subject == alice


def test_without_a_key_the_api_answers_401(client):
    response = post(client, "/api/visits", VISIT)
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]
    assert not VisitLog.objects.exists()


def test_a_wrong_or_revoked_key_is_refused(client, api_key):
    assert post(client, "/api/visits", VISIT, "po_not-a-real-key").status_code == 401
    key = api_key(ApiScope.VISITS_WRITE)
    from audit.models import ApiClient

    ApiClient.objects.update(active=False)
    assert post(client, "/api/visits", VISIT, key).status_code == 401


def test_a_key_revoked_in_the_admin_stops_working_at_once_in_that_process(client, api_key):
    from audit.models import ApiClient

    key = api_key(ApiScope.VISITS_WRITE)
    assert post(client, "/api/visits", VISIT, key).status_code == 201  # now remembered by this process
    api_client = ApiClient.objects.get()
    api_client.active = False
    api_client.save()
    assert post(client, "/api/visits", VISIT, key).status_code == 401


def test_other_processes_stop_accepting_a_revoked_key_within_the_cache_period(client, api_key, settings):
    import time_machine
    from django.utils import timezone

    from audit.models import ApiClient

    key = api_key(ApiScope.VISITS_WRITE)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert post(client, "/api/visits", VISIT, key).status_code == 201
        # Revoked elsewhere (another server process): no signal reaches this one.
        ApiClient.objects.update(active=False)
        assert post(client, "/api/visits", VISIT, key).status_code == 201
        traveller.shift(settings.API_KEY_CACHE_SECONDS + 1)
        assert post(client, "/api/visits", VISIT, key).status_code == 401


def test_a_key_without_the_scope_gets_403_with_the_missing_scope(client, api_key):
    key = api_key(ApiScope.INQUIRIES_WRITE)
    response = post(client, "/api/visits", VISIT, key)
    assert response.status_code == 403
    assert "visits:write" in response.json()["detail"]


def test_the_key_is_stored_only_as_a_hash(api_key):
    from audit.models import ApiClient

    raw = api_key(ApiScope.VISITS_WRITE)
    client = ApiClient.objects.get()
    assert raw not in (client.key_hash, client.key_prefix) and client.key_hash != raw


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ip": "999.1.1.1"}, "ip"),
        ({"visited_at": "2026-11-01T09:30:00"}, "visited_at"),  # no time zone
        ({"visited_at": "yesterday"}, "visited_at"),
        ({"path": "x" * 3000}, "path"),
        ({"subject_email": "not-an-email"}, "subject_email"),
        ({"device": {"os": "x", "colour": "blue"}}, "device.colour"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_visit_input_gets_422_naming_the_field(client, website_key, change, field):
    response = post(client, "/api/visits", {**VISIT, **change}, website_key)
    assert response.status_code == 422
    body = response.json()
    assert field in [e["field"] for e in body["errors"]]
    assert body["detail"].startswith("Invalid input")
    assert not VisitLog.objects.exists()


def test_a_body_that_is_not_json_gets_400(client, website_key):
    response = post(client, "/api/visits", "{not json", website_key)
    assert response.status_code == 400
    assert not VisitLog.objects.exists()


def test_an_oversized_body_gets_413(client, website_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, "/api/visits", {**VISIT, "user_agent": "x" * 500, "path": "y" * 900}, website_key)
    assert response.status_code == 413
    assert not VisitLog.objects.exists()


INQUIRY = {"email": "carol@example.com", "name": "Carol", "channel": "email", "kind": "complaint", "body": "Broken"}


def test_an_inquiry_creates_its_subject_once(client, website_key):
    first = post(client, "/api/inquiries", {**INQUIRY, "external_ref": "zd-1"}, website_key)
    second = post(client, "/api/inquiries", {**INQUIRY, "body": "Still broken"}, website_key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert DataSubject.objects.filter(email="carol@example.com").count() == 1
    assert first.json()["subject_id"] == second.json()["subject_id"]


def test_a_retried_inquiry_with_the_same_external_ref_is_not_duplicated(client, website_key):
    body = {**INQUIRY, "external_ref": "zd-7"}
    first = post(client, "/api/inquiries", body, website_key)
    again = post(client, "/api/inquiries", body, website_key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "created": False}
    assert Inquiry.objects.count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"channel": "pigeon"}, "channel"),
        ({"kind": "praise"}, "kind"),
        ({"body": ""}, "body"),
        ({"email": "nobody"}, "email"),
    ],
)
def test_bad_inquiry_input_gets_422(client, website_key, change, field):
    response = post(client, "/api/inquiries", {**INQUIRY, **change}, website_key)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Inquiry.objects.exists() and not DataSubject.objects.exists()


def test_closing_before_opening_is_refused_and_nothing_is_written(client, website_key):
    body = {**INQUIRY, "opened_at": "2026-11-02T00:00:00Z", "closed_at": "2026-11-01T00:00:00Z"}
    response = post(client, "/api/inquiries", body, website_key)
    assert response.status_code == 422
    assert "closed_at" in response.json()["detail"]
    assert not DataSubject.objects.exists()


def test_closing_an_inquiry_starts_its_retention_clock(client, website_key):
    inquiry_id = post(client, "/api/inquiries", INQUIRY, website_key).json()["id"]
    response = post(client, f"/api/inquiries/{inquiry_id}/close", {"closed_at": "2030-01-01T00:00:00Z"}, website_key)
    assert response.status_code == 200
    assert Inquiry.objects.get(pk=inquiry_id).closed_at.year == 2030
    again = post(client, f"/api/inquiries/{inquiry_id}/close", {}, website_key)
    assert again.status_code == 422
    assert post(client, "/api/inquiries/999999/close", {}, website_key).status_code == 404


def test_the_openapi_schema_lists_the_endpoints(client):
    schema = client.get("/api/openapi.json").json()
    assert {"/api/visits", "/api/inquiries"} <= set(schema["paths"])


def test_a_nul_character_is_refused_before_it_reaches_the_database(client, website_key):
    response = post(client, "/api/visits", {**VISIT, "user_agent": "bad\x00agent"}, website_key)
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
    assert not VisitLog.objects.exists()


def test_a_key_records_its_last_use_without_a_write_on_every_call(client, website_key):
    import time_machine
    from django.utils import timezone

    from audit.models import ApiClient

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        post(client, "/api/visits", VISIT, website_key)
        first_use = ApiClient.objects.get().last_used_at
        assert first_use is not None
        traveller.shift(60)
        post(client, "/api/visits", VISIT, website_key)
        assert ApiClient.objects.get().last_used_at == first_use
        traveller.shift(6 * 60)
        post(client, "/api/visits", VISIT, website_key)
        assert ApiClient.objects.get().last_used_at > first_use


@pytest.mark.parametrize(
    "visited_at",
    [
        "0760-04-06T23:28:11-19:21",
        "2300-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC: outside what Python can represent
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_a_timestamp_outside_the_services_life_is_refused(client, website_key, visited_at):
    response = post(client, "/api/visits", {**VISIT, "visited_at": visited_at}, website_key)
    assert response.status_code == 422
    assert "visited_at" in [e["field"] for e in response.json()["errors"]]
    assert not VisitLog.objects.exists()
