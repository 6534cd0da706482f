"""Disconnecting YouTube: the token stays (encrypted) until Google confirms the revocation,
retries back off and end on the officer's desk, and our own client misconfiguration is named."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from thirdparty import services
from thirdparty.models import OAuthGrant, RevokedBy, YouTubeStatistics


@pytest.fixture
def grant(alice):
    grant = services.connect_youtube_grant(
        subject=alice, access_token="ya29.youtube-access", refresh_token="1//youtube-refresh", expires_in_seconds=3600
    )
    YouTubeStatistics.objects.create(grant=grant, resource="channel", resource_id="UC123", view_count=10)
    return grant


def test_google_down_retries_with_backoff_then_the_grant_waits_on_the_officers_desk(
    grant, vendors, settings, officer, admin_login, django_capture_on_commit_callbacks
):
    settings.VENDOR_JOB_MAX_ATTEMPTS = 3
    vendors.expect_request("/revoke", method="POST").respond_with_data("unavailable", status=503)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            services.revoke_youtube_grant(grant=grant, by=RevokedBy.SUBJECT, actor=SYSTEM)
        grant.refresh_from_db()
        assert grant.revoke_next_attempt_at == start + timedelta(seconds=60)
        # Not due yet: no call.
        traveller.shift(timedelta(seconds=59))
        assert services.retry_youtube_revocations() == {"confirmed": 0, "retry": 0, "gave_up": 0, "gone": 0}
        traveller.shift(timedelta(seconds=1))
        assert services.retry_youtube_revocations()["retry"] == 1
        grant.refresh_from_db()
        assert grant.revoke_next_attempt_at == start + timedelta(seconds=60 + 120)
        traveller.shift(timedelta(seconds=120))
        assert services.retry_youtube_revocations()["gave_up"] == 1
    assert len(vendors.log) == 3
    grant.refresh_from_db()
    assert grant.refresh_token == "1//youtube-refresh" and grant.revoke_next_attempt_at is None
    assert grant.revoke_response_code == 503 and grant.revoke_confirmed_at is None

    desk = admin_login(officer).get("/admin/").content.decode()
    assert "Google이 철회를 확인하지 않은 YouTube 권한: 1" in desk
    assert f"/admin/thirdparty/oauthgrant/{grant.pk}/change/" in desk


def test_an_already_dead_token_counts_as_confirmed(grant, vendors, django_capture_on_commit_callbacks):
    vendors.expect_oneshot_request("/revoke", method="POST").respond_with_json(
        {"error": "invalid_token", "error_description": "Token expired or revoked"}, status=400
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_youtube_grant(grant=grant, by=RevokedBy.SUBJECT, actor=SYSTEM)
    grant.refresh_from_db()
    assert grant.revoke_confirmed_at is not None and grant.refresh_token == ""


def test_invalid_client_is_our_configuration_error_never_a_revocation(
    grant, vendors, officer, admin_login, django_capture_on_commit_callbacks
):
    vendors.expect_request("/token", method="POST").respond_with_json(
        {"error": "invalid_client", "error_description": "Unauthorized"}, status=401
    )
    # The daily check meets invalid_client: the person's grant stays connected.
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        summary = services.refresh_youtube_data()
    grant.refresh_from_db()
    assert summary.grants_revoked == 0 and grant.revoked_at is None
    assert YouTubeStatistics.objects.filter(grant=grant).exists()

    vendors.expect_request("/revoke", method="POST").respond_with_json(
        {"error": "invalid_client", "error_description": "Unauthorized"}, status=401
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_youtube_grant(grant=grant, by=RevokedBy.STAFF, actor=SYSTEM)
    grant.refresh_from_db()
    assert grant.refresh_token == "1//youtube-refresh" and grant.revoke_confirmed_at is None
    assert "invalid_client" in grant.revoke_error and "GOOGLE_OAUTH_CLIENT_ID" in grant.revoke_error
    desk = admin_login(officer).get("/admin/").content.decode()
    assert "invalid_client" in desk


def test_the_daily_check_notices_a_grant_revoked_at_google_within_a_day(grant, vendors):
    # Statistics fetched today are not due for a refresh; the check still asks Google about the grant.
    vendors.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, status=400
    )
    with time_machine.travel(timezone.now() + timedelta(hours=21), tick=False):
        summary = services.refresh_youtube_data()
    assert summary.grants_revoked == 1
    grant.refresh_from_db()
    assert grant.revoked_by == RevokedBy.DETECTED and grant.refresh_token == ""
    assert not YouTubeStatistics.objects.exists()
    assert not OAuthGrant.objects.revoke_unconfirmed().exists()


def test_a_grant_checked_today_is_not_asked_again(grant, vendors):
    vendors.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer"}
    )
    now = timezone.now() + timedelta(hours=21)
    services.refresh_youtube_data(now=now)
    services.refresh_youtube_data(now=now + timedelta(hours=2))
    assert len(vendors.log) == 1
    grant.refresh_from_db()
    assert grant.last_checked_at == now and grant.revoked_at is None
