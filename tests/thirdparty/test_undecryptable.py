"""A secret encrypted under a key that is no longer configured: the admin lists the row with a
marker instead of failing, and the vendor calls that need the secret refuse to run with a clear
error instead of sending something wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from privacyops.lib.crypto import DecryptionError
from thirdparty import services
from thirdparty.connectors import google_oauth
from thirdparty.models import JobKind, JobStatus, OAuthGrant, RevokedBy, VendorErasureJob, YouTubeStatistics

LOST, CURRENT = Fernet.generate_key().decode(), Fernet.generate_key().decode()
MARKER_EN = "(cannot be decrypted with the configured keys)"
MARKER_KO = "(설정된 키로 복호화할 수 없음)"


@pytest.fixture
def lost_key(settings):
    """Rows written now are encrypted under a key that is then removed from the settings."""
    settings.FIELD_ENCRYPTION_KEYS = [LOST]
    yield
    settings.FIELD_ENCRYPTION_KEYS = [CURRENT]


def raw_tokens(grant) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM thirdparty_oauthgrant WHERE id = %s", [grant.pk])
        return cursor.fetchone()


@pytest.fixture
def lost_grant(alice, lost_key, settings):
    grant = services.connect_youtube_grant(
        subject=alice, access_token="ya29.lost-access", refresh_token="1//lost-refresh", channel_id="UCLOST"
    )
    YouTubeStatistics.objects.create(grant=grant, resource="channel", resource_id="UCLOST", view_count=1)
    settings.FIELD_ENCRYPTION_KEYS = [CURRENT]
    return OAuthGrant.objects.get(pk=grant.pk)


def test_the_admin_lists_undecryptable_rows_with_a_marker(alice, bob, lost_key, settings, officer, admin_login):
    [lost_job, *_] = services.create_erasure_jobs(subject=alice, reference="DSAR-LOST", kind=JobKind.SUPPRESS)
    lost = services.connect_youtube_grant(subject=alice, access_token="ya29.lost", channel_id="UCLOST")
    settings.FIELD_ENCRYPTION_KEYS = [CURRENT]
    readable = services.connect_youtube_grant(subject=bob, access_token="ya29.fine", channel_id="UCFINE")
    client = admin_login(officer)

    listing = client.get("/admin/thirdparty/oauthgrant/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert page.count(MARKER_KO) == 1 and "UCLOST" in page and "UCFINE" in page
    english = client.get("/admin/thirdparty/oauthgrant/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english.count(MARKER_EN) == 1
    assert client.get(f"/admin/thirdparty/oauthgrant/{lost.pk}/change/").content.decode().count(MARKER_KO) == 1
    assert MARKER_KO not in client.get(f"/admin/thirdparty/oauthgrant/{readable.pk}/change/").content.decode()

    jobs = client.get("/admin/thirdparty/vendorerasurejob/")
    assert jobs.status_code == 200 and MARKER_KO in jobs.content.decode()
    job_page = client.get(f"/admin/thirdparty/vendorerasurejob/{lost_job.pk}/change/")
    assert job_page.status_code == 200 and MARKER_KO in job_page.content.decode()


def test_saving_a_row_from_the_admin_keeps_the_undecryptable_value_as_it_was(
    alice, lost_key, settings, officer, admin_login
):
    [job, *_] = services.create_erasure_jobs(subject=alice, reference="DSAR-KEEP", kind=JobKind.SUPPRESS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT identifiers FROM thirdparty_vendorerasurejob WHERE id = %s", [job.pk])
        (before,) = cursor.fetchone()
    settings.FIELD_ENCRYPTION_KEYS = [CURRENT]

    response = admin_login(officer).post(
        f"/admin/thirdparty/vendorerasurejob/{job.pk}/change/",
        {"manual_note": "", "tries-TOTAL_FORMS": "0", "tries-INITIAL_FORMS": "0"},
    )

    assert response.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT identifiers FROM thirdparty_vendorerasurejob WHERE id = %s", [job.pk])
        (after,) = cursor.fetchone()
    assert after == before
    settings.FIELD_ENCRYPTION_KEYS = [CURRENT, LOST]
    assert VendorErasureJob.objects.get(pk=job.pk).load_identifiers()["email"] == "alice@example.com"


def test_a_job_whose_identifiers_cannot_be_decrypted_sends_nothing_and_says_why(
    alice, stibee_processor, only, vendors, lost_key, settings
):
    only(stibee_processor)
    [job] = services.create_erasure_jobs(subject=alice, reference="DSAR-K")
    settings.FIELD_ENCRYPTION_KEYS = [CURRENT]

    summary = services.send_vendor_erasure_jobs()

    assert vendors.log == []
    assert summary.failed == 1 and summary.confirmed == 0
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is None
    assert "cannot be decrypted with the configured keys (FIELD_ENCRYPTION_KEYS); nothing was sent" in job.last_error
    with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        job.load_identifiers()


def test_the_youtube_refresh_does_not_call_google_with_an_undecryptable_token(lost_grant, vendors):
    before = raw_tokens(lost_grant)
    with time_machine.travel(timezone.now() + timedelta(days=26), tick=False):
        summary = services.refresh_youtube_data()

    assert vendors.log == []
    assert summary.grants_failed == 1 and summary.grants_refreshed == 0
    assert raw_tokens(lost_grant) == before


def test_a_vendor_call_handed_an_undecryptable_token_refuses_before_sending(lost_grant, vendors):
    with pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"):
        google_oauth.refresh_access_token(lost_grant.refresh_token)
    with pytest.raises(DecryptionError):
        f"Bearer {lost_grant.access_token}"  # noqa: B018 (the formatting itself must raise)
    assert vendors.log == []


def test_revoking_a_grant_with_undecryptable_tokens_deletes_them_without_calling_google(lost_grant, vendors):
    services.revoke_youtube_grant(grant=lost_grant, by=RevokedBy.STAFF, actor=SYSTEM)

    assert vendors.log == []
    lost_grant.refresh_from_db()
    assert raw_tokens(lost_grant) == ("", "")
    assert lost_grant.revoked_by == RevokedBy.STAFF and lost_grant.revoke_response_code is None
    assert not YouTubeStatistics.objects.exists()
