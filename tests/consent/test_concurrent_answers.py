"""Two answers of one person at once, on a committed PostgreSQL database with real threads: the
subject's row lock makes the second wait for the first and decide on what the first recorded."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from consent import services
from consent.models import ConsentEvent, ConsentState
from subjects.models import CollectionSource, DataSubject

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _grant(subject: DataSubject):
    return services.grant_consent(subject=subject, purpose="marketing", channel="web_form", notice_text="News?")


def test_a_second_first_answer_waits_for_the_subjects_lock_and_then_records_nothing():
    person = DataSubject.objects.create(email="both-at-once@example.com", source=CollectionSource.AUTOMATIC)
    results: dict = {}
    finished = threading.Event()

    def second_answer():
        try:
            results["second"] = _grant(DataSubject.objects.get(pk=person.pk))
        except Exception as exc:  # noqa: BLE001 (the test reports it)
            results["second"] = exc
        finally:
            finished.set()
            connection.close()

    with transaction.atomic():
        first = _grant(person)  # holds the subject's row lock until this block commits
        thread = threading.Thread(target=second_answer)
        thread.start()
        assert not finished.wait(0.5), results  # it waits for the lock
    thread.join(15)
    assert results["second"] is None  # it saw the first grant: the same consent already stands
    assert list(ConsentEvent.objects.filter(subject=person)) == [first]
    assert ConsentState.objects.get(subject=person, purpose__key="marketing").granted


def test_an_answer_that_waited_for_the_lock_is_dated_after_the_one_it_waited_for():
    """A server-timed answer takes its time under the lock: one that waited while another answer
    of the same person was recorded is not refused as 'dated before the answer recorded'."""
    person = DataSubject.objects.create(email="waited@example.com", source=CollectionSource.AUTOMATIC)
    results: dict = {}
    finished = threading.Event()

    def withdrawal():
        try:
            subject = DataSubject.objects.get(pk=person.pk)
            results["withdrawal"] = services.withdraw_consent(subject=subject, purpose="marketing", channel="web_form")
        except Exception as exc:  # noqa: BLE001 (the test reports it)
            results["withdrawal"] = exc
        finally:
            finished.set()
            connection.close()

    with transaction.atomic():
        services._lock_subject(person.pk)
        thread = threading.Thread(target=withdrawal)
        thread.start()
        assert not finished.wait(0.5), results  # it waits for the lock
        grant = _grant(person)  # recorded while the withdrawal waits, so dated after it arrived
    thread.join(15)
    withdrawn = results["withdrawal"]
    assert isinstance(withdrawn, ConsentEvent), withdrawn
    assert withdrawn.action == "withdrawn" and withdrawn.occurred_at >= grant.occurred_at
    assert not ConsentState.objects.get(subject=person, purpose__key="marketing").granted
