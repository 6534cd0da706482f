"""manage.py rotate_encryption_key: every encrypted column moves to the newest key, so the old
key can be removed; what no key decrypts is reported, never a crash; a dry run changes nothing."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import translation

from thirdparty import services
from thirdparty.models import OAuthGrant, VendorErasureJob

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))


def stored(table: str, *columns: str) -> dict:
    """The ciphertexts as they are in the database, by id."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(columns)} FROM {table} ORDER BY id")  # noqa: S608 (test constants)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def rotate(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("rotate_encryption_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def grant_for(subject, n: int) -> OAuthGrant:
    return services.connect_youtube_grant(
        subject=subject, access_token=f"ya29.access-{n}", refresh_token=f"1//refresh-{n}", channel_id=f"UC{n}"
    )


@pytest.fixture
def under_old_key(settings, alice, bob):
    """Three vendor jobs holding alice's identifiers and three YouTube grants, all under OLD."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    jobs = services.create_erasure_jobs(subject=alice, reference="DSAR-1")
    grants = [grant_for(alice, 1), grant_for(bob, 2), grant_for(bob, 3)]
    return jobs, grants


def test_after_rotating_everything_reads_with_only_the_new_key(settings, under_old_key):
    jobs, grants = under_old_key
    before = stored("thirdparty_oauthgrant", "access_token", "refresh_token")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]

    out, err = rotate("--batch-size", "2")

    # Three grants in batches of two: a progress line per batch.
    assert "thirdparty.OAuthGrant: 2/3 rows, 4 re-encrypted" in err
    assert "thirdparty.OAuthGrant: 3/3 rows, 6 re-encrypted" in err
    assert "thirdparty.OAuthGrant: 3 rows, 6 value(s) re-encrypted, 0 already under the newest key" in out
    assert f"thirdparty.VendorErasureJob: {len(jobs)} rows, {len(jobs)} value(s) re-encrypted" in out
    after = stored("thirdparty_oauthgrant", "access_token", "refresh_token")
    assert all(after[pk][i] != before[pk][i] for pk in before for i in (0, 1))

    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert sorted(OAuthGrant.objects.values_list("access_token", "refresh_token")) == [
        ("ya29.access-1", "1//refresh-1"),
        ("ya29.access-2", "1//refresh-2"),
        ("ya29.access-3", "1//refresh-3"),
    ]
    assert {job.load_identifiers()["email"] for job in VendorErasureJob.objects.all()} == {"alice@example.com"}

    # Run again: nothing left to do, nothing rewritten.
    out, _err = rotate()
    summary = (
        f"{3 + len(jobs)} rows checked, 0 value(s) re-encrypted, {6 + len(jobs)} already current, 0 undecryptable."
    )
    assert summary in out
    assert stored("thirdparty_oauthgrant", "access_token", "refresh_token") == after


def test_the_dry_run_counts_what_would_change_and_changes_nothing(settings, under_old_key):
    jobs, _grants = under_old_key
    grants_before = stored("thirdparty_oauthgrant", "access_token", "refresh_token")
    jobs_before = stored("thirdparty_vendorerasurejob", "identifiers")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]

    out, _err = rotate("--dry-run")

    assert "thirdparty.OAuthGrant: 3 rows, 6 value(s) would be re-encrypted" in out
    assert (
        f"Dry run, nothing changed: {3 + len(jobs)} rows checked, {6 + len(jobs)} value(s) would be re-encrypted" in out
    )
    assert stored("thirdparty_oauthgrant", "access_token", "refresh_token") == grants_before
    assert stored("thirdparty_vendorerasurejob", "identifiers") == jobs_before


def test_a_value_no_key_decrypts_is_reported_by_model_and_id_and_the_rest_is_rotated(settings, under_old_key, bob):
    settings.FIELD_ENCRYPTION_KEYS = [LOST]
    lost = grant_for(bob, 4)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]

    out, _err = rotate("--dry-run")
    assert "thirdparty.OAuthGrant: 4 rows, 6 value(s) would be re-encrypted, 0 already under" in out
    assert "newest key, 2 undecryptable" in out

    out, _err = rotate()

    assert f"cannot be decrypted with any configured key: thirdparty.OAuthGrant id={lost.pk} field=access_token" in out
    assert f"cannot be decrypted with any configured key: thirdparty.OAuthGrant id={lost.pk} field=refresh_token" in out
    assert "ya29" not in out and "refresh-4" not in out
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert OAuthGrant.objects.exclude(pk=lost.pk).filter(access_token="").count() == 0
    assert sorted(g.access_token for g in OAuthGrant.objects.exclude(pk=lost.pk)) == [
        "ya29.access-1",
        "ya29.access-2",
        "ya29.access-3",
    ]
    # Left as it was: with the lost key back, it still reads.
    settings.FIELD_ENCRYPTION_KEYS = [NEW, LOST]
    assert OAuthGrant.objects.get(pk=lost.pk).access_token == "ya29.access-4"


def test_a_batch_size_below_one_is_refused(db):
    with translation.override("en"), pytest.raises(CommandError, match="at least 1"):
        rotate("--batch-size", "0")


@pytest.mark.django_db(transaction=True)
def test_a_token_refreshed_while_the_rotation_runs_is_kept(settings, alice):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    grant = grant_for(alice, 1)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    locked, errors = threading.Event(), []

    def refresh_meanwhile():
        # Another worker refreshes the access token and commits a second later.
        try:
            with transaction.atomic():
                row = OAuthGrant.objects.select_for_update().get(pk=grant.pk)
                row.access_token = "ya29.refreshed-meanwhile"
                row.save(update_fields=["access_token"])
                locked.set()
                threading.Event().wait(1.0)
        except Exception as exc:
            errors.append(repr(exc))
            locked.set()
        finally:
            connection.close()

    writer = threading.Thread(target=refresh_meanwhile)
    writer.start()
    assert locked.wait(10)
    out, _err = rotate()
    writer.join(30)

    assert errors == []
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    grant.refresh_from_db()
    assert grant.access_token == "ya29.refreshed-meanwhile"
    assert grant.refresh_token == "1//refresh-1"
    assert "1 rows checked" in out
