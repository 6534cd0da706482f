"""Google OAuth 2.0: token revocation and access-token refresh for YouTube grants.

Revoke: `POST {GOOGLE_OAUTH_REVOKE_URL}`, form-encoded `token=<token>`; 200 revoked, 400 the token
was already invalid. Refresh: `POST {GOOGLE_OAUTH_TOKEN_URL}` grant_type=refresh_token; an answer
of 400/401 with `invalid_grant` means the person revoked access at Google.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from .http import VendorResponse, call


def revoke(token: str) -> VendorResponse:
    return call(
        "google_oauth",
        "POST",
        settings.GOOGLE_OAUTH_REVOKE_URL,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data={"token": token},
    )


def refresh_access_token(refresh_token: str) -> VendorResponse:
    return call(
        "google_oauth",
        "POST",
        settings.GOOGLE_OAUTH_TOKEN_URL,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
            "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
        },
    )


def is_invalid_grant(response: VendorResponse) -> bool:
    """The person revoked access at Google (or the refresh token expired). A 401 `invalid_client`
    is our own credentials being wrong and is not a revocation."""
    if is_invalid_client(response):
        return False
    if response.status == 401:
        return True
    return response.status == 400 and isinstance(response.body, dict) and response.body.get("error") == "invalid_grant"


# --- the web-server flow (https://developers.google.com/identity/protocols/oauth2/web-server) ------

YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube.readonly"


def authorization_url(*, state: str, code_challenge: str, redirect_uri: str) -> str:
    """Google's consent screen: offline access (a refresh token), PKCE S256, our read-only scope."""
    query = urlencode(
        {
            "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": YOUTUBE_SCOPE,
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "false",
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{settings.GOOGLE_OAUTH_AUTH_URL}?{query}"


def exchange_code(*, code: str, code_verifier: str, redirect_uri: str) -> VendorResponse:
    return call(
        "google_oauth",
        "POST",
        settings.GOOGLE_OAUTH_TOKEN_URL,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
            "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
            "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
        },
    )


def is_invalid_client(response: VendorResponse) -> bool:
    """Our client id or secret is wrong: a configuration error, never the person's revocation."""
    return (
        response.status in (400, 401)
        and isinstance(response.body, dict)
        and response.body.get("error") in ("invalid_client", "unauthorized_client")
    )
