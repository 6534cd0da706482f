"""Requests reach the declared tables: the access package holds the person's row from the website
database, labelled by its system; the erasure deletes it there, says so in the timeline, the
ledger and the outcome email; a legal hold on the person keeps it; a system that is down stops
the erasure with a message, nothing erased here."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from datastores.datamap import load_data_map
from dsar import fulfilment, services
from dsar.models import DataSubjectRequest, EventKind, RequestStatus
from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun
from retention.services import place_hold
from thirdparty.models import VendorErasureJob
from thirdparty.services import close_job_manually

from .test_data_map import _closed_port_url

pytestmark = pytest.mark.django_db


def _close_after_processors(request, officer, committed):
    """The processors confirm (by hand here); the request closes and the outcome email leaves."""
    for job in VendorErasureJob.objects.filter(reference=request.reference):
        close_job_manually(job=job, user=officer, note="Processor confirmed by phone")
    with committed():
        fulfilment.close_request(request=DataSubjectRequest.objects.get(pk=request.pk), actor=officer)


@pytest.fixture
def website(remote, alice):
    # The website spells Alice's address and number its own way; bob is there too.
    ids = {
        "alice": remote.add(email=" Alice@Example.com", name="Alice K.", mobile="010 1111 2222", days_ago=30),
        "alice_by_phone": remote.add(email=None, name="Alice (old account)", mobile="01011112222", days_ago=300),
        "bob": remote.add(email="bob@example.com", name="Bob Lee", days_ago=10),
    }
    load_data_map(remote.map_text, actor=SYSTEM)
    return ids


def _zip(request) -> zipfile.ZipFile:
    with request.package_file.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def test_the_access_package_includes_the_members_rows_labelled_by_system(website, verified, officer):
    request = verified("alice@example.com")
    services.build_access_package(request=request, actor=officer)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    archive = _zip(request)
    identity = json.loads(archive.read("data/identity_contact.json"))
    section = identity["records"]["website.members"]
    assert section["name"] == "Website members: members"
    assert sorted(row["name"] for row in section["rows"]) == ["Alice (old account)", "Alice K."]
    assert set(section["rows"][0]) == {"email", "name", "last_login_at"}  # export columns only
    csv_text = archive.read("data/identity_contact/website_members.csv").decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "Email,Name,Last sign-in"
    assert "Bob" not in json.dumps(identity)
    retention = json.loads(archive.read("retention.json"))
    assert retention["website.members"]["rules"][0]["rule"] == "website_members"
    built = request.events.get(kind=EventKind.PACKAGE_BUILT)
    assert built.data["counts"]["website.members"] == 2


@contextmanager
def _ours_in_transaction(verb: str = "") -> Iterator[list[bool]]:
    """For each statement sent to another database (those starting with `verb`, when given):
    whether this database had a transaction open at that moment."""
    seen: list[bool] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(verb):
            seen.append(connection.in_atomic_block)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_package_reads_the_other_database_with_no_transaction_of_ours_open(website, verified, officer):
    """A slow system must keep nothing here locked: every statement the package build sends to the
    website's database runs while this database has no transaction open."""
    request = verified("alice@example.com")
    with _ours_in_transaction() as ours_in_transaction:
        services.build_access_package(request=request, actor=officer)
    assert ours_in_transaction and not any(ours_in_transaction)
    assert DataSubjectRequest.objects.get(pk=request.pk).events.filter(kind=EventKind.PACKAGE_BUILT).exists()


def test_a_system_that_is_down_stops_the_package_with_a_message(website, verified, officer, monkeypatch, remote):
    request = verified("alice@example.com")
    monkeypatch.setenv("WEBSITE_DATABASE_URL", _closed_port_url(remote.kind))
    with pytest.raises(services.RequestError, match="System website could not be reached"):
        services.build_access_package(request=request, actor=officer)
    assert not DataSubjectRequest.objects.get(pk=request.pk).package_file


def test_an_erasure_deletes_the_members_rows_and_the_outcome_email_says_so(
    website, verified, officer, approve, committed, mailoutbox, remote
):
    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    with committed():
        approve(request)
    assert remote.emails() == ["bob@example.com"]
    _close_after_processors(request, officer, committed)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert request.status == RequestStatus.COMPLETED
    table = next(m for m in request.outcome["erasure"]["models"] if m["model"] == "website.members")
    assert table["erased"] == 2 and table["kept"] == []
    assert request.events.get(kind=EventKind.ERASED).data["external"] == {"website.members": {"erased": 2, "kept": 0}}
    run = DestructionRun.objects.get(reference=request.reference, counts__has_key="website.members")
    assert run.counts == {"website.members": {"erased": 2, "anonymised": 0, "kept": 0}}
    body = mailoutbox[-1].body
    assert "Website members: members: 2" in body


def test_a_legal_hold_on_the_person_keeps_their_rows_there_and_the_email_says_why(
    website, verified, officer, approve, committed, mailoutbox, remote, alice
):
    place_hold(placed_by=officer, reason="Chargeback dispute", subject_id=alice.pk)
    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    with committed():
        approve(request)
    assert len(remote.emails()) == 3
    _close_after_processors(request, officer, committed)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    table = next(m for m in request.outcome["erasure"]["models"] if m["model"] == "website.members")
    assert table["erased"] == 0 and table["kept"][0]["reason"] == "legal hold" and table["kept"][0]["count"] == 2
    body = mailoutbox[-1].body
    kept_line = next(line for line in body.splitlines() if line.startswith("- Website members: members: 2"))
    with translation.override(request.language):  # the email is in the requester's language
        assert gettext("it is needed for a legal claim or an investigation (legal hold)") in kept_line


def test_overwriting_instead_of_deleting(remote, alice, verified, officer, approve, committed):
    remote.add(email="alice@example.com", name="Alice K.", mobile="010-1111-2222")
    text = remote.map_text.replace("erase: delete ", 'erase: {overwrite: {name: "", mobile: null, email: null}} ')
    load_data_map(text, actor=SYSTEM)
    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    with committed():
        approve(request)
    with remote.engine.connect() as connection:
        row = connection.execute(remote.members.select()).one()
    assert (row.email, row.name, row.mobile) == (None, "", None)
    assert row.last_login_at is not None


def test_a_system_that_is_down_stops_the_erasure_and_the_approver_carries_it_out_later(
    website, verified, officer, overseer, approve, committed, monkeypatch, remote, alice
):
    from subjects.models import Inquiry

    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    url = remote.url
    monkeypatch.setenv("WEBSITE_DATABASE_URL", _closed_port_url(remote.kind))
    with pytest.raises(services.RequestError, match="The erasure is approved but was not carried out: System website"):
        approve(request)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert not request.outcome.get("erasure")
    assert Inquiry.objects.filter(subject=alice).count() == 2
    assert len(remote.emails()) == 3
    # The approval stands; once the system is back the approver carries the erasure out.
    assert fulfilment.approved_erasure_waits(request, overseer)
    assert not fulfilment.approved_erasure_waits(request, officer)
    with pytest.raises(services.RequestError, match="only after a second person approves"):
        fulfilment.erase_now(request=request, actor=officer)
    monkeypatch.setenv("WEBSITE_DATABASE_URL", url)
    with committed():
        fulfilment.erase_now(request=request, actor=overseer)
    assert remote.emails() == ["bob@example.com"]
    assert Inquiry.objects.filter(subject_id=alice.pk).count() == 1  # the other is a complaint kept 3 years
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert request.events.filter(kind=EventKind.ERASED).count() == 1
    assert not fulfilment.approved_erasure_waits(request, overseer)


def test_in_the_admin_the_approver_carries_out_an_erasure_a_down_system_stopped(
    website, verified, officer, overseer, admin_login, monkeypatch, remote
):
    request = verified("alice@example.com", "deletion")
    url = f"/admin/dsar/datasubjectrequest/{request.pk}/workflow/"
    admin_login(officer).post(url, {"action": "carry_out_deletion", "confirmed": "yes"})
    website_url = remote.url
    monkeypatch.setenv("WEBSITE_DATABASE_URL", _closed_port_url(remote.kind))
    approver = admin_login(overseer)
    page = approver.post(url, {"action": "approve", "confirmed": "yes"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "The erasure is approved but was not carried out" in page.content.decode()
    assert b'data-action="erase_now"' in page.content and b'data-action="carry_out_deletion"' not in page.content
    monkeypatch.setenv("WEBSITE_DATABASE_URL", website_url)  # the system is back
    # Only the approver carries it out; the one who asked cannot, even by a forged post.
    asker = admin_login(officer)
    assert b'data-action="erase_now"' not in asker.get(url).content
    asker.post(url, {"action": "erase_now", "confirmed": "yes"})
    assert not DataSubjectRequest.objects.get(pk=request.pk).outcome.get("erasure")
    assert len(remote.emails()) == 3
    approver = admin_login(overseer)  # one test client: signed in as the approver again
    page = approver.post(url, {"action": "erase_now"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Erases everything held about Alice Kim now" in page and "Nothing has happened yet." in page
    approver.post(url, {"action": "erase_now", "confirmed": "yes"})
    assert DataSubjectRequest.objects.get(pk=request.pk).outcome["erasure"]
    assert remote.emails() == ["bob@example.com"]


def test_a_table_that_fails_after_another_was_erased_keeps_that_tables_proof(
    website, verified, officer, overseer, approve, committed, remote
):
    """Rows erased in the company's database are gone whatever happens here next: the ledger row
    for them is written even when a later table fails, and the retry's outcome counts them."""
    text = remote.add_orders("(1, 'alice@example.com', '2026-01-01'), (2, 'bob@example.com', '2026-01-01')")
    remote.execute(
        "CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL,"
        " FOREIGN KEY (order_id) REFERENCES orders (id))"
    )
    remote.execute("INSERT INTO order_lines VALUES (10, 1)")  # the website still points at Alice's order
    load_data_map(text, actor=SYSTEM)
    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    with pytest.raises(services.RequestError, match="Table website.orders: the erasure failed"):
        approve(request)
    assert remote.emails() == ["bob@example.com"]  # members went first, and are gone there
    failed = DestructionRun.objects.get(reference=request.reference, status="failed")
    assert failed.counts == {"website.members": {"erased": 2, "anonymised": 0, "kept": 0}}
    assert "orders" in failed.error and "alice" not in failed.error.lower()
    assert not DataSubjectRequest.objects.get(pk=request.pk).outcome.get("erasure")

    remote.execute("DELETE FROM order_lines")
    with committed():
        fulfilment.erase_now(request=request, actor=overseer)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    tables = {m["model"]: m["erased"] for m in request.outcome["erasure"]["models"] if m.get("external")}
    assert tables == {"website.members": 2, "website.orders": 1}
    assert request.events.get(kind=EventKind.ERASED).data["external"]["website.members"] == {"erased": 2, "kept": 0}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_erasure_writes_to_the_other_database_with_no_transaction_of_ours_open(
    website, verified, officer, approve, committed, remote
):
    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    with _ours_in_transaction("DELETE") as ours_in_transaction, committed():
        approve(request)
    assert ours_in_transaction == [False]
    assert remote.emails() == ["bob@example.com"]
    assert DataSubjectRequest.objects.get(pk=request.pk).outcome["erasure"]


def test_a_customer_key_finds_the_persons_rows(remote, alice):
    from datastores.models import ExternalKey, ExternalSystem
    from datastores.services import subject_sections

    mine = remote.add(email="someone-else@example.com", name="Alice under another address")
    remote.add(email="x@example.com", name="Not Alice")
    load_data_map(
        remote.map_text.replace("identity: {email: email, phone: mobile}", "identity: {customer_key: id}"), actor=SYSTEM
    )
    assert subject_sections(subject_id=alice.pk)[0].rows == []
    ExternalKey.objects.create(system=ExternalSystem.objects.get(key="website"), subject=alice, key=str(mine))
    [section] = subject_sections(subject_id=alice.pk)
    assert [row["name"] for row in section.rows] == ["Alice under another address"]


def test_a_table_kept_after_erasure_keeps_the_rows_and_says_until_when(
    website, remote, verified, officer, approve, committed, mailoutbox
):
    load_data_map(
        remote.map_text.replace("erase: delete ", "kept_after_erasure: true\n        erase: delete "), actor=SYSTEM
    )
    request = verified("alice@example.com", "deletion")
    fulfilment.carry_out_deletion(request=request, actor=officer)
    with committed():
        approve(request)
    assert len(remote.emails()) == 3
    _close_after_processors(request, officer, committed)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    [kept] = next(m for m in request.outcome["erasure"]["models"] if m["model"] == "website.members")["kept"]
    assert kept["reason"] == "statute" and kept["count"] == 2 and kept["due_on"]
    line = next(line for line in mailoutbox[-1].body.splitlines() if line.startswith("- Website members: members: 2"))
    with translation.override(request.language):
        assert gettext("Destroyed by %(date)s.") % {"date": kept["due_on"]} in line
