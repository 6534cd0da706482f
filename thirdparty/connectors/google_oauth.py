"""Google OAuth 2.0: token revocation and access-token refresh for YouTube grants.

Revoke: `POST {GOOGLE_OAUTH_REVOKE_URL}`, form-encoded `token=<token>`; 200 revoked, 400 the token
was already invalid. Refresh: `POST {GOOGLE_OAUTH_TOKEN_URL}` grant_type=refresh_token; an answer
of 400/401 with `invalid_grant` means the person revoked access at Google.
"""

from __future__ import annotations

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
    if response.status == 401:
        return True
    return response.status == 400 and isinstance(response.body, dict) and response.body.get("error") == "invalid_grant"
