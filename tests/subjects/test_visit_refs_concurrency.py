"""Two writers of the same external_ref at once, on a committed PostgreSQL database: one visit is
recorded, both callers are answered with it. The references of a batch are checked again under
their locks after the rows went in (subjects.services._claim_refs); these tests hold one writer
between its write and that check while the other writes, reads and commits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from subjects import services
from subjects.models import DataSubject, VisitLog

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the partitioned table's reference check"),
    pytest.mark.django_db(transaction=True),
]

# Two months: the partitions' (external_ref, visited_at) unique index cannot see these as one.
JANUARY = datetime(2026, 1, 15, tzinfo=UTC)
NOW = None


def _visits(refs, visited_at, email=None):
    return [{"external_ref": ref, "visited_at": visited_at, "path": f"/{ref}", "subject_email": email} for ref in refs]


def _held_between_write_and_check(monkeypatch):
    """The first writer (thread "held") stops after its rows went in, before its reference check,
    until `release` is set; `written` is set when it got there."""
    written, release = threading.Event(), threading.Event()
    real = services._claim_refs

    def claim(refs, own_ids):
        if threading.current_thread().name == "held" and not written.is_set():
            written.set()
            assert release.wait(20)
        return real(refs, own_ids)

    monkeypatch.setattr(services, "_claim_refs", claim)
    return written, release


def _run(name, target, results):
    def body():
        try:
            results[name] = target()
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=body, name=name)
    thread.start()
    return thread


def test_two_batches_with_the_same_references_in_different_months_record_each_once(monkeypatch):
    written, release = _held_between_write_and_check(monkeypatch)
    refs = [f"site-{n}" for n in range(50)]
    results: dict = {}
    held = _run("held", lambda: services.record_visits(_visits(refs, JANUARY, email="late@example.com")), results)
    assert written.wait(20)
    # The held batch's rows are in but not committed: this one sees none of them and commits first.
    first = services.record_visits(_visits(refs[10:] + ["site-new"], NOW))
    release.set()
    held.join(30)
    assert not isinstance(results["held"], Exception), results["held"]
    assert all(created for _, created in first)
    by_ref = {ref: pk for ref, (pk, _) in zip(refs[10:] + ["site-new"], first, strict=True)}
    # The held batch lost the race on 40 references: it is answered with the other batch's visits
    # for those and records its own only for the 10 nobody else sent.
    assert [pk for pk, _ in results["held"][10:]] == [by_ref[ref] for ref in refs[10:]]
    assert [created for _, created in results["held"]] == [True] * 10 + [False] * 40
    assert VisitLog.objects.filter(external_ref__in=refs).count() == 50
    assert VisitLog.objects.count() == 51
    assert set(VisitLog.objects.filter(external_ref__in=refs[10:]).values_list("visited_at", flat=True)) != {JANUARY}
    # The losing try was rolled back whole, its new subject with it; the retry created it again for
    # the 10 visits it recorded.
    assert DataSubject.objects.filter(email="late@example.com").count() == 1
    assert VisitLog.objects.filter(subject__email="late@example.com").count() == 10


def test_a_single_visit_and_a_batch_with_the_same_reference_record_it_once(monkeypatch):
    written, release = _held_between_write_and_check(monkeypatch)
    results: dict = {}
    held = _run("held", lambda: services.record_visit(external_ref="site-1", visited_at=JANUARY), results)
    assert written.wait(20)
    [(pk, created)] = services.record_visits(_visits(["site-1"], NOW))
    release.set()
    held.join(30)
    visit, held_created = results["held"]
    assert created and not held_created and visit.pk == pk
    assert VisitLog.objects.filter(external_ref="site-1").count() == 1


def test_concurrent_batches_with_overlapping_references_never_store_one_twice():
    refs = [f"r-{n}" for n in range(300)]
    results: dict = {}
    threads = [
        _run(
            f"writer-{n}",
            lambda n=n: services.record_visits(
                _visits(refs[n * 50 : n * 50 + 150], datetime(2026, 1 + n, 3, tzinfo=UTC))
            ),
            results,
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.join(60)
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert VisitLog.objects.filter(external_ref__in=refs).count() == 300
    ids = {}
    for n in range(4):
        for ref, (pk, _) in zip(refs[n * 50 : n * 50 + 150], results[f"writer-{n}"], strict=True):
            assert ids.setdefault(ref, pk) == pk  # every writer was answered with the same visit
