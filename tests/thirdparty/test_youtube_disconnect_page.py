"""The person disconnects YouTube from their own preference page (consent's public page, reached
through the signed link in every email): the page lists the connected grant, a first POST asks
for confirmation, the second disconnects; the statistics go at once and the revocation at Google
is made by the worker. Only the link's own person's grants: another id is a 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from consent import services as consent_services
from privacyops.lib.actors import SYSTEM
from subjects.models import DataSubject
from thirdparty import services
from thirdparty.models import OAuthGrant, RevokedBy, YouTubeStatistics


@pytest.fixture
def client(client, settings):
    """The pages in English (the msgids); Korean is checked on its own below."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _connect(subject, channel="UCalice") -> OAuthGrant:
    grant = services.connect_youtube_grant(
        subject=subject,
        access_token="ya29.youtube-access",
        refresh_token="1//youtube-refresh",
        expires_in_seconds=3600,
        channel_id=channel,
    )
    YouTubeStatistics.objects.create(grant=grant, resource="channel", resource_id=channel, view_count=10)
    return grant


_links: dict[int, str] = {}


def _page(subject) -> str:
    """The person's preference page; one link per person and test (a new link is signed each second)."""
    if subject.pk not in _links:
        token = re.search(r"/consent/preferences/([^/]+)/", consent_services.preference_link(subject)).group(1)
        _links[subject.pk] = f"/consent/preferences/{token}/"
    return _links[subject.pk]


@pytest.fixture(autouse=True)
def _fresh_links():
    _links.clear()
    yield
    _links.clear()


@pytest.fixture
def grant(alice):
    return _connect(alice)


@pytest.fixture
def mallory(db):
    return DataSubject.objects.create(email="mallory@example.com", name="Mallory")


def test_the_preference_page_lists_the_connected_youtube_account_with_a_disconnect_button(client, alice, grant):
    page = client.get(_page(alice)).content.decode()
    assert "Connected accounts" in page and "YouTube" in page and "UCalice" in page
    assert f'action="{_page(alice)}accounts/{grant.pk}/disconnect/"' in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    # A disconnected grant is no longer listed.
    services.revoke_youtube_grant(grant=grant, by=RevokedBy.STAFF, actor=SYSTEM)
    assert "Connected accounts" not in client.get(_page(alice)).content.decode()


def test_a_person_without_a_connected_account_sees_no_such_section(client, alice):
    assert "Connected accounts" not in client.get(_page(alice)).content.decode()


def test_disconnecting_asks_for_confirmation_first_and_changes_nothing_until_confirmed(client, alice, grant):
    url = f"{_page(alice)}accounts/{grant.pk}/disconnect/"
    assert client.get(url).status_code == 405  # a link followed by a mail scanner does nothing
    response = client.post(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Disconnect YouTube?" in page and 'name="confirm" value="yes"' in page
    assert f'href="{_page(alice)}"' in page  # "No, keep it connected"
    grant.refresh_from_db()
    assert grant.revoked_at is None and YouTubeStatistics.objects.filter(grant=grant).exists()


def test_confirming_disconnects_at_once_and_the_worker_revokes_at_google(
    client, alice, grant, vendors, django_capture_on_commit_callbacks
):
    vendors.expect_oneshot_request("/revoke", method="POST").respond_with_data("", status=200)
    url = f"{_page(alice)}accounts/{grant.pk}/disconnect/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == _page(alice)
    grant.refresh_from_db()
    # Disconnected now: the statistics are gone, the token is kept (encrypted) until Google confirms.
    assert grant.revoked_at is not None and grant.revoked_by == RevokedBy.SUBJECT
    assert not YouTubeStatistics.objects.filter(grant=grant).exists()
    assert grant.refresh_token == "1//youtube-refresh" and grant.revoke_next_attempt_at is not None
    # The page made no call to Google; it queued the worker's revocation task.
    assert len(vendors.log) == 0
    assert len(callbacks) == 1
    # What the worker's task runs:
    assert services.retry_youtube_revocations() == {"confirmed": 1, "retry": 0, "gave_up": 0, "gone": 0}
    request = vendors.log[0][0]
    assert request.form["token"] == "1//youtube-refresh"
    grant.refresh_from_db()
    assert grant.revoke_confirmed_at is not None and grant.refresh_token == "" and grant.access_token == ""

    followed = client.get(_page(alice)).content.decode()
    assert "Your account is disconnected" in followed and "Connected accounts" not in followed
    # A second confirmation (a double click) is harmless: no second revocation.
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert OAuthGrant.objects.get(pk=grant.pk).revoked_by == RevokedBy.SUBJECT


def test_someone_elses_grant_id_is_a_404_and_their_grant_stays_connected(client, alice, mallory, grant):
    other = _connect(mallory, channel="UCmallory")
    # Mallory's own link, Alice's grant id: nothing to see, nothing to disconnect.
    for data in ({}, {"confirm": "yes"}):
        response = client.post(f"{_page(mallory)}accounts/{grant.pk}/disconnect/", data)
        assert response.status_code == 404
        assert "This connected account was not found." in response.content.decode()
    assert client.post(f"{_page(mallory)}accounts/999999/disconnect/", {"confirm": "yes"}).status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None and YouTubeStatistics.objects.filter(grant=grant).exists()
    other.refresh_from_db()
    assert other.revoked_at is None
    # Nor does Alice's page list Mallory's grant.
    assert "UCmallory" not in client.get(_page(alice)).content.decode()


def test_a_forged_or_missing_link_token_is_refused(client, grant):
    response = client.post(f"/consent/preferences/not-a-token/accounts/{grant.pk}/disconnect/", {"confirm": "yes"})
    assert response.status_code == 400
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_the_disconnect_needs_the_csrf_token(alice, grant):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"{_page(alice)}accounts/{grant.pk}/disconnect/", {"confirm": "yes"})
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_the_pages_are_in_korean_by_default(alice, grant):
    korean = Client()
    page = korean.get(_page(alice)).content.decode()
    assert "연결된 계정" in page and "연결 해제" in page
    confirm = korean.post(f"{_page(alice)}accounts/{grant.pk}/disconnect/").content.decode()
    assert "YouTube 연결을 해제할까요?" in confirm


@pytest.fixture
def google_revoke_env(httpserver, monkeypatch):
    """The worker is another process: it reads Google's revoke URL from its environment."""
    monkeypatch.setenv("GOOGLE_OAUTH_REVOKE_URL", httpserver.url_for("/revoke"))
    httpserver.expect_request("/revoke", method="POST").respond_with_data("", status=200)
    return httpserver


@pytest.mark.worker
def test_disconnecting_on_the_page_is_revoked_at_google_by_the_worker(google_revoke_env, celery_worker_process, alice):
    httpserver = google_revoke_env
    grant = _connect(alice)
    response = Client().post(f"{_page(alice)}accounts/{grant.pk}/disconnect/", {"confirm": "yes"})
    assert response.status_code == 302
    celery_worker_process.wait_for(
        lambda: OAuthGrant.objects.filter(pk=grant.pk, revoke_confirmed_at__isnull=False).exists(),
        what="Google to confirm the revocation",
    )
    assert [request.form["token"] for request, _ in httpserver.log] == ["1//youtube-refresh"]
    grant.refresh_from_db()
    assert grant.revoked_by == RevokedBy.SUBJECT and grant.refresh_token == ""
