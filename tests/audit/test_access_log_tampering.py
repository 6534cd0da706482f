"""The three ways the access log was rewritten in the security review, each caught: an edited
row, deleted rows re-chained without the key, and a truncated tail re-chained with it (against
the daily signed anchor). On PostgreSQL the database itself refuses the first two."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation

from audit import anchors
from audit.models import AccessLog, AccessLogChainHead, AccessLogSubject, AccessRightsLog, chain_hash, keyed_mac
from audit.services import log_access, verify_access_log
from privacyops.lib.ledger import AppendOnlyError

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the triggers are PostgreSQL's")


def _log(user, *subject_ids):
    return log_access(user=user, ip="10.0.0.5", action="view", subject_ids=subject_ids, path="/admin/x/")


def _problems(anchor=None) -> list[str]:
    with translation.override("en"):
        return verify_access_log(against=[anchor] if anchor else []).problems


def _as_owner(sql: str, params=()):
    """Raw SQL from someone who owns the database: on PostgreSQL they can switch the triggers off
    (for this test's transaction); what they write must still be caught."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def _rechain(*, key: str | None, sha256: bool = False, renumber: bool = False) -> None:
    """What a forger does after deleting rows: recompute every row's hash and the head, with the
    old unkeyed SHA-256, a key of their own, or (key=None) the real one, optionally renumbering."""
    import hashlib

    prev = "0" * 64
    rows = list(AccessLog.objects.order_by("seq"))
    for n, row in enumerate(rows, start=1):
        seq = n if renumber else row.seq
        subjects = list(AccessLogSubject.objects.filter(log=row).values_list("subject_id", flat=True))
        fields = dict(
            seq=seq,
            at=row.at,
            user_id=row.user_id,
            username=row.username,
            ip=row.ip,
            action=row.action,
            object_repr=row.object_repr,
            reason=row.reason,
            path=row.path,
            subject_ids=subjects,
            prev_hash=prev,
        )
        if sha256:
            payload = {**fields, "at": row.at.astimezone(UTC).isoformat(), "subject_ids": sorted(subjects)}
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        else:
            digest = chain_hash(**fields, key=key)
        _as_owner(
            "UPDATE audit_accesslog SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s", [seq, prev, digest, row.pk]
        )
        prev = digest
    last_seq = len(rows) if renumber else rows[-1].seq
    _as_owner("UPDATE audit_accesslogchainhead SET last_seq = %s, last_hash = %s", [last_seq, prev])


def _delete_rows(rows) -> None:
    ids = [row.pk for row in rows]
    marks = ", ".join(["%s"] * len(ids))
    _as_owner(f"DELETE FROM audit_accesslogsubject WHERE log_id IN ({marks})", ids)  # noqa: S608
    _as_owner(f"DELETE FROM audit_accesslog WHERE id IN ({marks})", ids)  # noqa: S608


# --- (a) an edited row ----------------------------------------------------------------------------


def test_an_update_through_the_base_manager_is_refused(officer):
    row = _log(officer, 1)
    with pytest.raises(AppendOnlyError):
        AccessLog._base_manager.filter(pk=row.pk).update(reason="nothing happened")
    with pytest.raises(AppendOnlyError):
        AccessLogSubject._base_manager.filter(log=row).update(subject_id=2)
    assert AccessLog.objects.get(pk=row.pk).reason == ""


def test_an_update_in_raw_sql_is_caught_by_the_chain(officer):
    rows = [_log(officer, i) for i in range(1, 4)]
    _as_owner("UPDATE audit_accesslog SET username = %s WHERE id = %s", ["someone else", rows[1].pk])
    assert any(f"Row #{rows[1].seq} does not match its hash" in p for p in _problems())


@postgresql_only
def test_on_postgresql_the_database_refuses_updates_and_early_deletes_of_the_logs(officer):
    row = _log(officer, 1)
    rights = AccessRightsLog.objects.order_by("-pk").first()
    statements = [
        ("UPDATE audit_accesslog SET reason = 'x' WHERE id = %s", row.pk),
        ("DELETE FROM audit_accesslog WHERE id = %s", row.pk),
        ("UPDATE audit_accesslogsubject SET subject_id = 2 WHERE log_id = %s", row.pk),
        ("DELETE FROM audit_accesslogsubject WHERE log_id = %s", row.pk),
        ("UPDATE audit_accessrightslog SET username = 'x' WHERE id = %s", rights.pk),
        ("DELETE FROM audit_accessrightslog WHERE id = %s", rights.pk),
        ("UPDATE audit_accesslogchainhead SET last_seq = 0 WHERE id = %s", AccessLogChainHead.SINGLETON),
        ("DELETE FROM audit_accesslogchainhead WHERE id = %s", AccessLogChainHead.SINGLETON),
    ]
    for sql, pk in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [pk])
    assert AccessLog.objects.get(pk=row.pk).reason == ""
    assert AccessLogSubject.objects.filter(log=row).count() == 1
    assert verify_access_log().ok


# --- (b) rows deleted, then re-chained without the key -------------------------------------------


@pytest.mark.parametrize("how", ["sha256", "another key"])
def test_deleted_rows_re_chained_without_the_key_are_caught(officer, how):
    rows = [_log(officer, i) for i in range(1, 7)]
    _delete_rows(rows[2:4])
    _rechain(key="a key the forger made up, 32+ chars long", sha256=how == "sha256", renumber=True)

    problems = _problems()

    # Every row fails its MAC: without the key no row can be made to verify.
    assert sum("does not match its hash" in p for p in problems) == 4, problems


def test_a_forged_purge_marker_does_not_pass_off_deleted_young_rows(officer):
    rows = [_log(officer, i) for i in range(1, 5)]
    _delete_rows(rows[:2])
    _as_owner(
        "UPDATE audit_accesslogchainhead SET purged_through_seq = %s, purged_hash = %s",
        [rows[1].seq, rows[1].hash],
    )
    assert any("not signed with the chain key" in p for p in _problems())


# --- (c) the tail truncated, and the log re-chained with the key: the anchor ---------------------


def test_a_truncated_tail_re_chained_with_the_key_is_caught_by_the_anchor(officer, tmp_path, capsys):
    rows = [_log(officer, i) for i in range(1, 6)]
    anchor, path = anchors.anchor_access_log(directory=tmp_path, send=False)
    _log(officer, 6)
    assert anchor.seq == rows[-1].seq and anchor.count == 5

    # Rows #4 onwards go and the head is set back: consistent, and with the real key.
    _delete_rows(AccessLog.objects.filter(seq__gte=rows[3].seq))
    _rechain(key=None)
    assert _problems() == []  # without the anchor the log looks intact: that is why it exists

    problems = _problems(anchors.read_anchor(path))
    assert any(f"Row #{anchor.seq} of the anchor of" in p and "truncated" in p for p in problems), problems
    with translation.override("en"), pytest.raises(CommandError, match="tampered"):
        call_command("verify_access_log", "--anchor", str(path))
    assert "truncated" in capsys.readouterr().err


def test_rows_deleted_before_the_anchor_and_re_numbered_with_the_key_are_caught(officer, tmp_path):
    rows = [_log(officer, i) for i in range(1, 6)]
    anchor, path = anchors.anchor_access_log(directory=tmp_path, send=False)
    for i in range(6, 9):
        _log(officer, i)

    _delete_rows(rows[1:3])
    _rechain(key=None, renumber=True)
    assert _problems() == []

    problems = _problems(anchors.read_anchor(path))
    assert any(f"Row #{anchor.seq} differs from the anchor" in p for p in problems), problems


def test_young_rows_passed_off_as_purged_with_the_key_are_caught_by_the_anchor(officer, tmp_path):
    from audit.models import purge_mac

    rows = [_log(officer, i) for i in range(1, 6)]
    anchor, path = anchors.anchor_access_log(directory=tmp_path, send=False)
    _delete_rows(rows[:2])
    # A forger holding the key signs a purge marker with an old time: the chain alone accepts it.
    long_ago = timezone.now() - timedelta(days=1000)
    _as_owner(
        "UPDATE audit_accesslogchainhead SET purged_through_seq = %s, purged_hash = %s, purged_at = %s,"
        " purged_mac = %s",
        [rows[1].seq, rows[1].hash, long_ago, purge_mac(seq=rows[1].seq, hash=rows[1].hash, at=long_ago)],
    )
    assert _problems() == []

    problems = _problems(anchors.read_anchor(path))
    assert any(f"Rows #{rows[0].seq}-#{rows[1].seq} were purged" in p and "early" in p for p in problems), problems


def test_an_anchor_edited_or_made_with_another_key_is_refused(officer, tmp_path):
    _log(officer, 1)
    _anchor, path = anchors.anchor_access_log(directory=tmp_path, send=False)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "count": 0}))
    assert any("signature does not match" in p for p in _problems(anchors.read_anchor(path)))

    unsigned = anchors.Anchor(**{**data, "signature": ""})
    forged = anchors.Anchor(**{**data, "signature": keyed_mac("anchor|" + unsigned.message(), "a forger's key")})
    assert any("signature does not match" in p for p in _problems(forged))


def test_the_log_verifies_against_its_anchor_after_more_rows_and_a_retention_purge(officer, tmp_path, capsys):
    with time_machine.travel(timezone.now() - timedelta(days=800), tick=False):
        old = [_log(officer, i) for i in range(1, 4)]
        anchors.anchor_access_log(directory=tmp_path, send=False)
    _log(officer, 4)
    _log(officer, 5)

    AccessLog.objects.filter(at__lt=timezone.now() - timedelta(days=731)).delete()

    assert not AccessLog.objects.filter(pk__in=[row.pk for row in old]).exists()
    call_command("verify_access_log", "--anchor", str(tmp_path))
    assert "intact: 2 rows checked; it matches 1 anchor(s), the newest at #3" in capsys.readouterr().out


# --- the anchor: a file and an email, after commit -------------------------------------------------


def test_the_anchor_is_a_signed_file_and_an_email_to_the_officer(officer, tmp_path, django_capture_on_commit_callbacks):
    officer.email = "officer@palette.example"
    officer.save()
    last = [_log(officer, i) for i in range(1, 4)][-1]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("anchor_access_log", "--dir", str(tmp_path))
    assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    (path,) = tmp_path.glob("access-log-anchor-*.json")
    data = json.loads(path.read_text())
    assert (data["seq"], data["mac"], data["count"]) == (last.seq, last.hash, 3)
    assert anchors.read_anchor(path).signature_ok()
    (message,) = mail.outbox
    assert message.to == ["officer@palette.example"]
    assert f"#{last.seq}" in message.subject
    assert message.attachments[0][0] == path.name
    assert json.loads(message.attachments[0][1]) == data


def test_a_forged_head_is_not_anchored(officer, tmp_path):
    rows = [_log(officer, i) for i in range(1, 3)]
    _as_owner("UPDATE audit_accesslog SET reason = 'x' WHERE id = %s", [rows[-1].pk])
    with pytest.raises(anchors.AnchorError):
        anchors.anchor_access_log(directory=tmp_path, send=False)
    assert list(tmp_path.iterdir()) == []


def test_the_anchor_is_a_daily_beat_job(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["anchor_access_log"]
    assert entry["task"] == "audit.tasks.anchor_access_log"
    assert entry["options"]["expire_seconds"] > 0


# --- the retention path still works with the triggers in place --------------------------------------


@postgresql_only
def test_on_postgresql_retention_still_deletes_rows_past_their_period(officer):
    with time_machine.travel(timezone.now() - timedelta(days=800), tick=False):
        _log(officer, 1)
        _log(officer, 2)
    young = _log(officer, 3)

    AccessLog.objects.filter(at__lt=timezone.now() - timedelta(days=731)).delete()

    assert list(AccessLog.objects.values_list("pk", flat=True)) == [young.pk]
    assert not AccessLogSubject.objects.filter(subject_id__in=[1, 2]).exists()
    assert verify_access_log().ok
    # A clock moved forward in Python does not move the database's: young rows stay.
    with time_machine.travel(timezone.now() + timedelta(days=800), tick=False):
        with pytest.raises(DatabaseError), transaction.atomic():
            AccessLog.objects.all().delete()
    assert AccessLog.objects.filter(pk=young.pk).exists()
