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


class Answer(threading.Thread):
    """One answer of a person in its own thread and database connection; `outcome` is what the
    service returned or raised, `finished` is set when it is done."""

    def __init__(self, answer):
        super().__init__()
        self.answer, self.outcome, self.finished = answer, None, threading.Event()

    def run(self):
        try:
            self.outcome = self.answer()
        except Exception as exc:  # noqa: BLE001 (the test reports it)
            self.outcome = exc
        finally:
            self.finished.set()
            connection.close()


def test_a_second_first_answer_waits_for_the_subjects_lock_and_then_records_nothing():
    person = DataSubject.objects.create(email="both-at-once@example.com", source=CollectionSource.AUTOMATIC)
    second = Answer(lambda: _grant(DataSubject.objects.get(pk=person.pk)))

    with transaction.atomic():
        first = _grant(person)  # holds the subject's row lock until this block commits
        second.start()
        assert not second.finished.wait(0.5), second.outcome  # it waits for the lock
    second.join(15)
    assert second.outcome is None  # it saw the first grant: the same consent already stands
    assert list(ConsentEvent.objects.filter(subject=person)) == [first]
    assert ConsentState.objects.get(subject=person, purpose__key="marketing").granted


def test_an_answer_that_waited_for_the_lock_is_dated_after_the_one_it_waited_for():
    """A server-timed answer takes its time under the lock: one that waited while another answer
    of the same person was recorded is not refused as 'dated before the answer recorded'."""
    person = DataSubject.objects.create(email="waited@example.com", source=CollectionSource.AUTOMATIC)
    withdrawal = Answer(
        lambda: services.withdraw_consent(
            subject=DataSubject.objects.get(pk=person.pk), purpose="marketing", channel="web_form"
        )
    )

    with transaction.atomic():
        services._lock_subject(person.pk)
        withdrawal.start()
        assert not withdrawal.finished.wait(0.5), withdrawal.outcome  # it waits for the lock
        grant = _grant(person)  # recorded while the withdrawal waits, so dated after it arrived
    withdrawal.join(15)
    withdrawn = withdrawal.outcome
    assert isinstance(withdrawn, ConsentEvent), withdrawn
    assert withdrawn.action == "withdrawn" and withdrawn.occurred_at >= grant.occurred_at
    assert not ConsentState.objects.get(subject=person, purpose__key="marketing").granted
