"""The database connection drops in the middle of a request: the person gets a clear 503, and
nothing half-written stays behind (the request and its first timeline event commit together)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from dsar.models import DataSubjectRequest, RequestEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kills a PostgreSQL backend mid-transaction"),
]


@pytest.fixture
def connection_dies_on_first_timeline_event():
    """A trigger that terminates the very backend inserting the request's first event: the
    server drops the connection after the request row was written inside the transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION kill_my_backend() RETURNS trigger AS $$
            BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER drop_connection BEFORE INSERT ON dsar_requestevent
                FOR EACH ROW EXECUTE FUNCTION kill_my_backend();
            """
        )
    yield
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER drop_connection ON dsar_requestevent; DROP FUNCTION kill_my_backend();")


def test_a_dropped_connection_gives_a_clear_503_and_no_half_written_request(
    client, connection_dies_on_first_timeline_event
):
    cache.clear()
    response = client.post(
        "/dsar/",
        {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com", "phone": "", "details": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 503
    body = response.content.decode()
    assert "nothing you sent was saved" in body and "Traceback" not in body
    assert response["Retry-After"] == "30"
    connection.close()
    assert not DataSubjectRequest.objects.exists()
    assert not RequestEvent.objects.exists()


def test_the_api_answers_503_in_json_when_the_database_is_gone(client, website_key, settings):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE OR REPLACE FUNCTION kill_my_backend() RETURNS trigger AS $$
            BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER drop_visit BEFORE INSERT ON subjects_visitlog
                FOR EACH ROW EXECUTE FUNCTION kill_my_backend();
            """
        )
    try:
        response = client.post(
            "/api/visits",
            {"path": "/"},
            content_type="application/json",
            HTTP_X_API_KEY=website_key,
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 503
        assert "nothing you sent was saved" in response.json()["detail"]
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER drop_visit ON subjects_visitlog; DROP FUNCTION kill_my_backend();")
