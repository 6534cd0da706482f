"""Connecting YouTube: the page the company links to, Google's consent screen (a local stand-in),
the callback that exchanges the code with the PKCE verifier, and the grant with its evidence."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from werkzeug import Request, Response

from thirdparty import youtube_connect
from thirdparty.models import OAuthGrant

SCOPE = "https://www.googleapis.com/auth/youtube.readonly"


@pytest.fixture
def client(client, settings):
    """The pages in English (the msgids); the Korean default is tested on its own."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def google(vendors, settings):
    settings.GOOGLE_OAUTH_AUTH_URL = vendors.url_for("/o/oauth2/v2/auth")
    return vendors


def fake_token_endpoint(challenges: dict, *, client_secret="google-client-secret"):
    """Google's code exchange: the code must come with the verifier whose S256 is the challenge
    the consent screen was given, and our client's secret."""

    def handle(request: Request) -> Response:
        form = request.form
        if form.get("client_secret") != client_secret:
            body = {"error": "invalid_client", "error_description": "Unauthorized"}
            return Response(json.dumps(body), status=401, content_type="application/json")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form.get("grant_type") != "authorization_code" or challenges.get(form.get("code")) != digest:
            return Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        body = {
            "access_token": "ya29.connected-access",
            "refresh_token": "1//connected-refresh",
            "expires_in": 3599,
            "scope": SCOPE,
            "token_type": "Bearer",
        }
        return Response(json.dumps(body), status=200, content_type="application/json")

    return handle


def _go_to_google(client, alice):
    link = youtube_connect.connect_link(subject=alice)
    page = client.get("/thirdparty/youtube/connect/", {"t": link})
    assert page.status_code == 200
    assert "30 days" in page.content.decode() and "I agree: continue to Google" in page.content.decode()
    answer = client.post("/thirdparty/youtube/connect/", {"t": link})
    assert answer.status_code == 302
    return urlsplit(answer["Location"]), {k: v[0] for k, v in parse_qs(urlsplit(answer["Location"]).query).items()}


def test_a_person_connects_youtube_and_the_grant_keeps_what_they_agreed_to(client, alice, google, no_secrets_in_logs):
    url, query = _go_to_google(client, alice)
    assert url.path == "/o/oauth2/v2/auth"
    assert query["scope"] == SCOPE and query["access_type"] == "offline" and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["state"]) >= 32
    assert query["redirect_uri"] == "http://testserver/thirdparty/youtube/callback/"
    google.expect_request("/token", method="POST").respond_with_handler(
        fake_token_endpoint({"4/code-from-google": query["code_challenge"]})
    )

    done = client.get("/thirdparty/youtube/callback/", {"state": query["state"], "code": "4/code-from-google"})

    assert done.status_code == 200 and "Your YouTube account is connected" in done.content.decode()
    grant = OAuthGrant.objects.get(subject=alice)
    assert grant.access_token == "ya29.connected-access" and grant.refresh_token == "1//connected-refresh"
    assert grant.scopes == [SCOPE] and grant.revoked_at is None
    assert "30 days" in grant.consent_text and grant.consented_at is not None
    assert grant.consent_text_sha256 == hashlib.sha256(grant.consent_text.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM thirdparty_oauthgrant WHERE id = %s", [grant.pk])
        stored = cursor.fetchone()
    assert "connected-access" not in stored[0] and "connected-refresh" not in stored[1]
    # The same callback cannot be replayed.
    again = client.get("/thirdparty/youtube/callback/", {"state": query["state"], "code": "4/code-from-google"})
    assert again.status_code == 400 and OAuthGrant.objects.count() == 1
    no_secrets_in_logs("ya29.connected-access", "1//connected-refresh", "4/code-from-google")


def test_a_callback_with_another_state_connects_nothing(client, alice, google):
    _go_to_google(client, alice)
    answer = client.get("/thirdparty/youtube/callback/", {"state": "forged", "code": "4/x"})
    assert answer.status_code == 400 and "expired" in answer.content.decode()
    assert not OAuthGrant.objects.exists() and len(google.log) == 0


def test_saying_no_at_google_connects_nothing(client, alice, google):
    _url, query = _go_to_google(client, alice)
    answer = client.get("/thirdparty/youtube/callback/", {"state": query["state"], "error": "access_denied"})
    assert "You did not allow access" in answer.content.decode()
    assert not OAuthGrant.objects.exists()


def test_wrong_client_credentials_are_shown_as_our_configuration_error(client, alice, google, settings):
    settings.GOOGLE_OAUTH_CLIENT_SECRET = "a-rotated-secret"
    _url, query = _go_to_google(client, alice)
    google.expect_request("/token", method="POST").respond_with_handler(fake_token_endpoint({"4/c": "x"}))
    answer = client.get("/thirdparty/youtube/callback/", {"state": query["state"], "code": "4/c"})
    assert answer.status_code == 503 and "misconfigured" in answer.content.decode()
    assert not OAuthGrant.objects.exists()


def test_a_forged_or_old_link_is_refused_with_a_clear_400(client, alice):
    answer = client.get("/thirdparty/youtube/connect/", {"t": "not-a-link"})
    assert answer.status_code == 400 and "not valid" in answer.content.decode()
    assert client.post("/thirdparty/youtube/connect/", {"t": ""}).status_code == 400


def test_the_connect_page_speaks_korean_by_default(alice, settings):
    from django.test import Client

    page = Client().get("/thirdparty/youtube/connect/", {"t": youtube_connect.connect_link(subject=alice)})
    assert "통계는 최대 30일간 보관" in page.content.decode() and "동의합니다: Google로 계속" in page.content.decode()
