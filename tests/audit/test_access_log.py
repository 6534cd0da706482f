"""The access log (SA-06): append-only, hash-chained, and verifiable by a command."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone, translation

from audit.models import AccessLog, AccessLogChainHead, AccessLogSubject
from audit.services import accesses_of_subject, log_access, verify_access_log
from privacyops.lib.ledger import AppendOnlyError


def _log(user, *subject_ids, action="view", reason=""):
    return log_access(user=user, ip="10.0.0.5", action=action, subject_ids=subject_ids, reason=reason, path="/x/")


def test_it_records_account_time_ip_subjects_and_action(officer, alice, bob):
    row = _log(officer, alice.pk, bob.pk, alice.pk, action="export", reason="DSAR R-1")

    row.refresh_from_db()
    assert (row.user_id, row.username, row.ip, row.action, row.reason) == (
        officer.pk,
        "officer",
        "10.0.0.5",
        "export",
        "DSAR R-1",
    )
    assert sorted(row.subjects.values_list("subject_id", flat=True)) == sorted([alice.pk, bob.pk])
    assert row.subject_count == 2
    assert list(accesses_of_subject(bob.pk)) == [row]


def test_an_unknown_action_is_refused(officer):
    with pytest.raises(ValueError):
        _log(officer, 1, action="peek")


def test_rows_cannot_be_changed_through_the_orm(officer):
    row = _log(officer, 1)
    row.reason = "covering my tracks"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.filter(pk=row.pk).update(reason="x")
    with pytest.raises(AppendOnlyError):
        AccessLogSubject.objects.filter(log=row).update(subject_id=2)


def test_rows_younger_than_two_years_cannot_be_deleted(officer):
    row = _log(officer, 1)
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AccessLogSubject.objects.all().delete()
    assert AccessLog.objects.count() == 1


def test_the_oldest_rows_can_go_after_two_years_and_the_rest_still_verifies(officer):
    with time_machine.travel(timezone.now() - timedelta(days=800), tick=False):
        _log(officer, 1)
        _log(officer, 2)
    _log(officer, 3)

    AccessLog.objects.filter(at__lt=timezone.now() - timedelta(days=731)).delete()

    assert list(AccessLog.objects.values_list("seq", flat=True)) == [3]
    assert not AccessLogSubject.objects.filter(subject_id__in=[1, 2]).exists()
    assert verify_access_log().ok


def test_the_chain_verifies_when_nothing_was_touched(officer, alice):
    for i in range(5):
        _log(officer, alice.pk, i + 100)
    report = verify_access_log(batch_size=2)
    assert report.ok, report.problems
    assert report.checked == 5


def _problems() -> list[str]:
    with translation.override("en"):
        return verify_access_log().problems


def _raw(sql: str, params=()):
    """Raw SQL as the database's owner would run it. On PostgreSQL the owner can switch the log's
    triggers off (here for this test's transaction only); the chain must still catch the change."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_the_chain_check_catches_an_edited_row_and_names_it(officer):
    rows = [_log(officer, i) for i in range(1, 5)]
    _raw("UPDATE audit_accesslog SET reason = %s WHERE id = %s", ["nothing to see", rows[1].pk])

    problems = _problems()

    assert any(f"#{rows[1].seq} does not match its hash" in p for p in problems), problems


def test_the_chain_check_catches_a_rehashed_edit_by_the_next_row(officer):
    rows = [_log(officer, i) for i in range(1, 4)]
    _raw("UPDATE audit_accesslog SET reason = %s, hash = %s WHERE id = %s", ["x", "f" * 64, rows[0].pk])
    problems = _problems()
    assert any(f"#{rows[1].seq} does not follow" in p for p in problems)


def test_the_chain_check_catches_a_changed_subject(officer, alice, bob):
    row = _log(officer, alice.pk)
    _raw("UPDATE audit_accesslogsubject SET subject_id = %s WHERE log_id = %s", [bob.pk, row.pk])
    assert any(f"#{row.seq} does not match its hash" in p for p in _problems())


def test_the_chain_check_catches_a_deleted_row_in_the_middle_and_at_the_end(officer):
    rows = [_log(officer, i) for i in range(1, 6)]
    _raw("DELETE FROM audit_accesslogsubject WHERE log_id IN (%s, %s)", [rows[2].pk, rows[4].pk])
    _raw("DELETE FROM audit_accesslog WHERE id IN (%s, %s)", [rows[2].pk, rows[4].pk])

    problems = _problems()

    assert any(f"#{rows[2].seq} are missing" in p for p in problems), problems
    assert any(f"#{rows[4].seq} at the end are missing" in p for p in problems), problems


def test_the_chain_check_catches_an_inserted_row(officer):
    rows = [_log(officer, i) for i in range(1, 3)]
    _raw(
        "INSERT INTO audit_accesslog"
        " (seq, at, username, action, object_repr, reason, path, subject_count, prev_hash, hash)"
        " VALUES (%s, %s, 'ghost', 'view', '', '', '', 0, %s, %s)",
        [rows[-1].seq + 1, timezone.now(), rows[-1].hash, "a" * 64],
    )
    problems = _problems()
    assert any("inserted" in p for p in problems), problems


def test_the_command_exits_non_zero_and_names_the_row(officer, capsys):
    rows = [_log(officer, i) for i in range(1, 4)]
    call_command("verify_access_log")
    assert "intact: 3 rows" in capsys.readouterr().out

    _raw("UPDATE audit_accesslog SET username = %s WHERE id = %s", ["someone else", rows[0].pk])
    with translation.override("en"), pytest.raises(CommandError, match="tampered"):
        call_command("verify_access_log")
    assert f"Row #{rows[0].seq} does not match its hash" in capsys.readouterr().err


def test_api_clients_are_logged_under_their_name(api_key):
    from audit.models import ApiClient

    api_key("consent:read", name="website")
    row = _log(ApiClient.objects.get(name="website"), 7)
    assert (row.user_id, row.username) == (None, "api:website")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(django_user_model):
    user = django_user_model.objects.create_user(username="busy", password="Correct-Horse-42")
    errors = []

    def write(n):
        try:
            for i in range(15):
                _log(user, n * 100 + i)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert list(AccessLog.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 61))
    assert AccessLogChainHead.objects.get().last_seq == 60
    assert verify_access_log().ok
