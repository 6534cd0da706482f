from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from thirdparty import services
from thirdparty.models import OAuthGrant, RevokedBy, YouTubeStatistics


@pytest.fixture
def grant(alice):
    grant = services.connect_youtube_grant(
        subject=alice,
        access_token="ya29.youtube-access",
        refresh_token="1//youtube-refresh",
        scopes=["https://www.googleapis.com/auth/youtube.readonly"],
        expires_in_seconds=3600,
        channel_id="UC123",
    )
    YouTubeStatistics.objects.create(grant=grant, resource="channel", resource_id="UC123", view_count=10)
    YouTubeStatistics.objects.create(grant=grant, resource="video", resource_id="vid1", view_count=5, like_count=1)
    return grant


def test_tokens_are_encrypted_at_rest_and_never_in_the_repr(grant):
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM thirdparty_oauthgrant WHERE id = %s", [grant.pk])
        stored = cursor.fetchone()
    assert "ya29.youtube-access" not in stored[0] and "1//youtube-refresh" not in stored[1]
    assert OAuthGrant.objects.get(pk=grant.pk).access_token == "ya29.youtube-access"
    assert "ya29" not in repr(grant) and "ya29" not in str(grant)


def test_revoking_a_grant_calls_google_and_deletes_tokens_and_statistics(
    grant, vendors, no_secrets_in_logs, django_capture_on_commit_callbacks
):
    vendors.expect_oneshot_request("/revoke", method="POST").respond_with_data("", status=200)

    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_youtube_grant(grant=grant, by=RevokedBy.SUBJECT, actor=SYSTEM)

    request, _ = vendors.log[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.get_data(as_text=True)) == {"token": ["1//youtube-refresh"]}
    grant.refresh_from_db()
    assert grant.access_token == "" and grant.refresh_token == ""
    assert grant.revoked_at is not None and grant.revoked_by == RevokedBy.SUBJECT and grant.revoke_response_code == 200
    assert not YouTubeStatistics.objects.exists()
    no_secrets_in_logs("ya29.youtube-access", "1//youtube-refresh")


def test_a_failed_revoke_call_deletes_the_statistics_but_keeps_the_token_until_google_confirms(
    grant, vendors, settings, django_capture_on_commit_callbacks
):
    revoke_url = settings.GOOGLE_OAUTH_REVOKE_URL
    settings.GOOGLE_OAUTH_REVOKE_URL = "http://127.0.0.1:9/revoke"  # nothing listens on the discard port
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_youtube_grant(grant=grant, by=RevokedBy.STAFF, actor=SYSTEM)
    grant.refresh_from_db()
    assert not YouTubeStatistics.objects.exists() and grant.revoked_at is not None
    # Still held, encrypted, so the revocation can be made when Google answers.
    assert grant.refresh_token == "1//youtube-refresh" and grant.revoke_confirmed_at is None
    assert grant.revoke_attempts == 1 and grant.revoke_next_attempt_at is not None
    assert "connection failed" in grant.revoke_error

    settings.GOOGLE_OAUTH_REVOKE_URL = revoke_url
    vendors.expect_oneshot_request("/revoke", method="POST").respond_with_data("", status=200)
    with time_machine.travel(grant.revoke_next_attempt_at + timedelta(seconds=1), tick=False):
        call_command("retry_youtube_revocations")
    grant.refresh_from_db()
    assert grant.refresh_token == "" and grant.access_token == "" and grant.revoke_confirmed_at is not None
    assert parse_qs(vendors.log[0][0].get_data(as_text=True)) == {"token": ["1//youtube-refresh"]}


def test_the_daily_job_refreshes_statistics_before_30_days(grant, vendors):
    # The one-hour access token has long expired: a new one is fetched with the refresh token.
    vendors.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer"}
    )
    vendors.expect_oneshot_request("/youtube/v3/channels", method="GET").respond_with_json(
        {"items": [{"id": "UC123", "statistics": {"viewCount": "1200", "subscriberCount": "30"}}]}
    )
    vendors.expect_oneshot_request("/youtube/v3/videos", method="GET").respond_with_json(
        {"items": [{"id": "vid1", "statistics": {"viewCount": "500", "likeCount": "20", "commentCount": "3"}}]}
    )
    later = timezone.now() + timedelta(days=26)
    with time_machine.travel(later, tick=False):
        summary = services.refresh_youtube_data()

    assert summary.statistics_refreshed == 2 and summary.statistics_deleted == 0
    channel_request = vendors.log[1][0]
    assert channel_request.headers["Authorization"] == "Bearer ya29.fresh"
    assert channel_request.args["part"] == "statistics" and channel_request.args["id"] == "UC123"
    video = YouTubeStatistics.objects.get(resource="video")
    assert (video.view_count, video.like_count, video.comment_count) == (500, 20, 3)
    assert video.fetched_at == later
    grant.refresh_from_db()
    assert grant.last_refreshed_at == later and grant.access_token == "ya29.fresh"


def test_an_invalid_grant_during_refresh_counts_as_revocation(grant, vendors):
    # The stored access token has expired, so the job asks for a new one; Google says the grant is gone.
    vendors.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, status=400
    )
    with time_machine.travel(timezone.now() + timedelta(days=26), tick=False):
        summary = services.refresh_youtube_data()

    assert summary.grants_revoked == 1
    grant.refresh_from_db()
    assert grant.revoked_by == RevokedBy.DETECTED and grant.refresh_token == ""
    assert not YouTubeStatistics.objects.exists()
    form = parse_qs(vendors.log[0][0].get_data(as_text=True))
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["1//youtube-refresh"]


def test_a_401_from_youtube_counts_as_revocation(alice, vendors):
    grant = services.connect_youtube_grant(subject=alice, access_token="ya29.valid-looking", channel_id="UC9")
    YouTubeStatistics.objects.create(grant=grant, resource="channel", resource_id="UC9", view_count=1)
    vendors.expect_oneshot_request("/youtube/v3/channels").respond_with_json({"error": {"code": 401}}, status=401)
    with time_machine.travel(timezone.now() + timedelta(days=26), tick=False):
        services.refresh_youtube_data()
    grant.refresh_from_db()
    assert grant.revoked_by == RevokedBy.DETECTED and not YouTubeStatistics.objects.exists()


def test_statistics_that_could_not_be_refreshed_are_deleted_at_30_days(grant, vendors):
    vendors.expect_request("/youtube/v3/channels").respond_with_data("down", status=503)
    start = timezone.now()
    with time_machine.travel(start + timedelta(days=29, hours=23), tick=False):
        services.refresh_youtube_data()
        assert YouTubeStatistics.objects.count() == 2
    with time_machine.travel(start + timedelta(days=30, minutes=1), tick=False):
        call_command("refresh_youtube_data", "--dry-run")
        assert YouTubeStatistics.objects.count() == 2
        summary = services.refresh_youtube_data()
    assert summary.statistics_deleted == 2
    assert not YouTubeStatistics.objects.exists()
    # The grant itself is not revoked by a vendor outage.
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_an_erasure_request_revokes_the_persons_youtube_grant_before_the_rows_go(
    grant, alice, vendors, only, django_capture_on_commit_callbacks
):
    only()
    vendors.expect_oneshot_request("/revoke", method="POST").respond_with_data("", status=200)
    with django_capture_on_commit_callbacks(execute=True):
        services.create_erasure_jobs(subject=alice, reference="DSAR-YT")
    grant.refresh_from_db()
    assert grant.revoked_by == RevokedBy.ERASURE and grant.refresh_token == ""
    assert parse_qs(vendors.log[0][0].get_data(as_text=True)) == {"token": ["1//youtube-refresh"]}
    assert not YouTubeStatistics.objects.exists()


def test_staff_revoke_a_grant_from_the_admin(grant, officer, admin_login, vendors):
    vendors.expect_oneshot_request("/revoke", method="POST").respond_with_data("", status=200)
    client = admin_login(officer)
    page = client.get(f"/admin/thirdparty/oauthgrant/{grant.pk}/change/").content.decode()
    assert "ya29" not in page and "1//youtube-refresh" not in page
    client.post(
        "/admin/thirdparty/oauthgrant/", {"action": "revoke", "_selected_action": [grant.pk], "confirmed": "yes"}
    )
    grant.refresh_from_db()
    assert grant.revoked_by == RevokedBy.STAFF and not YouTubeStatistics.objects.exists()
