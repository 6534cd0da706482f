"""One spelling per address: emails are trimmed and lower-cased at every door, and the database
refuses any other spelling, so `ALICE@x` can never sit beside `alice@x`."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from dsar import services as dsar_services
from dsar.models import DataSubjectRequest
from subjects.models import CollectionSource, DataSubject
from subjects.services import find_or_create_subject

pytestmark = pytest.mark.django_db


def _add_in_admin(client, email: str):
    return client.post(
        "/admin/subjects/datasubject/add/",
        {"name": "Someone", "email": email, "phone": "", "source": CollectionSource.CUSTOMER_SERVICE},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_an_address_typed_in_the_admin_in_another_spelling_is_the_existing_person(admin_login, officer, alice):
    client = admin_login(officer)
    response = _add_in_admin(client, "  ALICE@Example.COM ")
    assert response.status_code == 200
    assert "Data subject with this Email already exists." in response.content.decode()
    assert DataSubject.objects.count() == 1


@pytest.fixture
def eager_tasks():
    from privacyops.celery import app

    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    yield
    app.conf.task_always_eager = previous


def test_an_address_typed_in_the_admin_is_stored_trimmed_and_lower_case_and_found_by_a_request(
    admin_login, officer, client, django_capture_on_commit_callbacks, mailoutbox, eager_tasks
):
    response = _add_in_admin(admin_login(officer), " Carol@Example.COM ")
    assert response.status_code == 302, response.content.decode()[:2000]
    carol = DataSubject.objects.get()
    assert carol.email == "carol@example.com"

    with django_capture_on_commit_callbacks(execute=True):
        request = dsar_services.submit_request(request_type="access", name="", email="carol@example.com")
    path = next(word for word in mailoutbox[-1].body.split() if "/dsar/verify/" in word)
    client.post(path[path.index("/dsar/") :])
    assert DataSubjectRequest.objects.get(pk=request.pk).subject == carol


def test_editing_an_address_into_another_persons_spelling_is_refused(admin_login, officer, alice, bob):
    client = admin_login(officer)
    response = client.post(
        f"/admin/subjects/datasubject/{bob.pk}/change/",
        {"name": bob.name, "email": "Alice@Example.com", "phone": "", "source": bob.source},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == "bob@example.com"


def test_the_api_and_imports_find_the_same_person_whatever_the_spelling(alice):
    assert find_or_create_subject(email=" ALICE@example.com", source=CollectionSource.AFFILIATE) == alice
    assert DataSubject.objects.count() == 1


@pytest.mark.parametrize("spelling", ["ALICE@example.com", " alice@example.com", ""])
def test_the_database_refuses_another_spelling_even_past_save(alice, spelling):
    with pytest.raises(IntegrityError), transaction.atomic():
        DataSubject.objects.filter(pk=alice.pk).update(email=spelling)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataSubject.objects.bulk_create([DataSubject(email=spelling or "", source=CollectionSource.AUTOMATIC)])


@pytest.fixture
def check_switched_off(db):
    """Rows as they could be stored before migration 0002 (the check is back after the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        else:  # dropped inside the test's transaction, which is rolled back
            cursor.execute("ALTER TABLE subjects_datasubject DROP CONSTRAINT subjects_datasubject_email_normalised")
    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")


def test_the_migration_normalises_old_rows_and_stops_on_two_spellings_of_one_address(check_switched_off):
    migration = importlib.import_module("subjects.migrations.0002_email_normalised")
    DataSubject.objects.bulk_create(
        [
            DataSubject(email="Dana@Example.com ", source=CollectionSource.AUTOMATIC),
            DataSubject(email="ERIN@example.com", source=CollectionSource.AUTOMATIC),
            DataSubject(email="erin@example.com", source=CollectionSource.AUTOMATIC),
        ]
    )
    erins = sorted(DataSubject.objects.filter(email__iexact="erin@example.com").values_list("pk", flat=True))

    with pytest.raises(RuntimeError) as refused:
        migration.normalise_existing_emails(apps, None)
    message = str(refused.value)
    assert "1 email address(es)" in message and "(2 subjects)" in message
    assert f"#{erins[0]}, #{erins[1]}" in message
    assert "erin" not in message.lower()  # ids only, no address in a deployment log
    # Nothing changed, nothing lost.
    assert DataSubject.objects.filter(email="Dana@Example.com ").exists()

    DataSubject.objects.filter(pk=erins[0]).update(email="erin.kim@example.com")
    migration.normalise_existing_emails(apps, None)
    assert sorted(DataSubject.objects.values_list("email", flat=True)) == [
        "dana@example.com",
        "erin.kim@example.com",
        "erin@example.com",
    ]
