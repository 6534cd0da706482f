"""POST /api/visits/batch: up to 1,000 visits per call, validated as the single endpoint does,
all or nothing, idempotent per external_ref."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import ApiScope
from subjects.models import CollectionSource, DataSubject, VisitLog

pytestmark = pytest.mark.django_db

VISIT = {
    "visited_at": "2026-11-01T09:30:00+09:00",
    "ip": "203.0.113.5",
    "user_agent": "Mozilla/5.0",
    "path": "/works/42",
    "cookie_id": "c-123",
    "device": {"os": "iOS 18", "screen_size": "390x844", "device_id": "d-1", "phone_model": "iPhone 16"},
}


def post(client, body, key=None, path="/api/visits/batch"):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **headers)


def test_a_batch_records_every_visit_with_its_fields_and_answers_their_ids_in_order(client, website_key):
    visits = [{**VISIT, "path": f"/page/{n}"} for n in range(5)]
    visits[3] = {"path": "/bare"}  # defaults: now, no ip, no device
    response = post(client, {"visits": visits}, website_key)
    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 5
    ids = [item["id"] for item in body["visits"]]
    assert all(item["created"] for item in body["visits"])
    assert [VisitLog.objects.get(pk=pk).path for pk in ids] == ["/page/0", "/page/1", "/page/2", "/bare", "/page/4"]
    first = VisitLog.objects.get(pk=ids[0])
    assert (first.ip, first.os, first.screen_size, first.device_id, first.phone_model, first.cookie_id) == (
        "203.0.113.5",
        "iOS 18",
        "390x844",
        "d-1",
        "iPhone 16",
        "c-123",
    )
    assert first.visited_at.isoformat() == "2026-11-01T00:30:00+00:00"
    bare = VisitLog.objects.get(pk=ids[3])
    assert bare.ip is None and bare.os == "" and bare.subject is None and bare.visited_at is not None


def test_the_rows_go_in_one_statement_on_postgresql(client, website_key):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite splits a bulk insert by its parameter limit")
    with CaptureQueriesContext(connection) as queries:
        response = post(client, {"visits": [{**VISIT, "path": f"/p/{n}"} for n in range(1000)]}, website_key)
    assert response.status_code == 201
    assert VisitLog.objects.count() == 1000
    writes = [q["sql"] for q in queries.captured_queries if "subjects_visitlog" in q["sql"]]
    # The id draw from the sequence, then one COPY (a COPY is not a captured query).
    assert len(writes) <= 2, writes


def test_one_invalid_item_refuses_the_whole_batch_naming_each_bad_item_by_index(client, website_key):
    visits = [VISIT, {**VISIT, "ip": "999.1.1.1"}, VISIT, {**VISIT, "visited_at": "2026-11-01T09:30:00"}]
    response = post(client, {"visits": visits}, website_key)
    assert response.status_code == 422
    body = response.json()
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "visits.1.ip"), (3, "visits.3.visited_at")]
    assert body["detail"].startswith("Invalid input")
    assert not VisitLog.objects.exists()


def test_emails_link_visits_to_subjects_known_or_new(client, website_key, alice):
    visits = [
        {**VISIT, "subject_email": " Alice@Example.com "},
        {**VISIT, "subject_email": "new.person@example.com"},
        {**VISIT, "subject_email": "NEW.person@example.com"},
        VISIT,
    ]
    response = post(client, {"visits": visits}, website_key)
    assert response.status_code == 201
    ids = [item["id"] for item in response.json()["visits"]]
    subjects = [VisitLog.objects.get(pk=pk).subject for pk in ids]
    assert subjects[0] == alice
    new = DataSubject.objects.get(email="new.person@example.com")
    assert subjects[1] == subjects[2] == new and new.source == CollectionSource.AUTOMATIC
    assert subjects[3] is None


def test_a_retried_batch_records_nothing_twice(client, website_key):
    visits = [{**VISIT, "external_ref": f"site-{n}"} for n in range(3)] + [VISIT]
    first = post(client, {"visits": visits}, website_key).json()
    assert first["created"] == 4
    again = post(client, {"visits": visits[:3]}, website_key)
    assert again.status_code == 200
    assert again.json() == {"created": 0, "visits": [{"id": v["id"], "created": False} for v in first["visits"][:3]]}
    assert VisitLog.objects.count() == 4
    # Partly new: the known references get their first visit, the new one is recorded.
    mixed = post(client, {"visits": [visits[0], {**VISIT, "external_ref": "site-9"}]}, website_key)
    assert mixed.status_code == 201
    assert [v["created"] for v in mixed.json()["visits"]] == [False, True]
    assert mixed.json()["visits"][0]["id"] == first["visits"][0]["id"]
    assert VisitLog.objects.count() == 5


def test_the_single_endpoint_shares_the_references(client, website_key):
    single = post(client, {**VISIT, "external_ref": "site-1"}, website_key, path="/api/visits")
    assert single.status_code == 201 and single.json()["created"] is True
    retried = post(client, {**VISIT, "external_ref": "site-1"}, website_key, path="/api/visits")
    assert retried.status_code == 200 and retried.json() == {"id": single.json()["id"], "created": False}
    batch = post(client, {"visits": [{**VISIT, "external_ref": "site-1"}]}, website_key)
    assert batch.json()["visits"] == [{"id": single.json()["id"], "created": False}]
    assert VisitLog.objects.count() == 1


def test_a_reference_repeated_within_a_batch_is_refused_and_nothing_is_written(client, website_key):
    visits = [{**VISIT, "external_ref": "a"}, {**VISIT, "external_ref": "b"}, {**VISIT, "external_ref": "a"}]
    response = post(client, {"visits": visits}, website_key)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"index": 2, "field": "visits.2.external_ref", "message": "repeats the external_ref of item 0"}
    ]
    assert not VisitLog.objects.exists()


def test_nothing_is_written_when_an_email_fails_after_other_items_passed(client, website_key):
    visits = [{**VISIT, "subject_email": "first@example.com"}, {**VISIT, "subject_email": "not-an-email"}]
    assert post(client, {"visits": visits}, website_key).status_code == 422
    assert not DataSubject.objects.exists() and not VisitLog.objects.exists()


@pytest.mark.parametrize("count", [0, 1001])
def test_a_batch_holds_one_to_a_thousand_visits(client, website_key, count):
    response = post(client, {"visits": [VISIT] * count}, website_key)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "visits"
    assert not VisitLog.objects.exists()


def test_a_batch_bigger_than_the_upload_limit_gets_413(client, website_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = post(client, {"visits": [VISIT] * 100}, website_key)
    assert response.status_code == 413
    assert not VisitLog.objects.exists()


def test_the_batch_needs_a_key_with_the_visits_scope(client, api_key):
    assert post(client, {"visits": [VISIT]}).status_code == 401
    response = post(client, {"visits": [VISIT]}, api_key(ApiScope.INQUIRIES_WRITE))
    assert response.status_code == 403
    assert "visits:write" in response.json()["detail"]
    assert not VisitLog.objects.exists()


def test_abnormal_reason_is_kept_only_for_abnormal_visits(client, website_key):
    visits = [{**VISIT, "abnormal": True, "abnormal_reason": "bot"}, {**VISIT, "abnormal_reason": "ignored"}]
    ids = [v["id"] for v in post(client, {"visits": visits}, website_key).json()["visits"]]
    assert [VisitLog.objects.get(pk=pk).abnormal_reason for pk in ids] == ["bot", ""]


def test_the_openapi_document_describes_the_batch(client):
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/visits/batch"]["post"]
    assert {"201", "200", "401", "403", "413", "422"} <= set(operation["responses"])
    assert "nothing is recorded" in operation["description"]
