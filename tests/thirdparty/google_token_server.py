"""A local stand-in for Google's OAuth 2.0 token endpoint for service accounts (RFC 7523 JWT
bearer grant, as google-auth's `service_account.Credentials` sends it).

The assertion is decoded without verifying its signature (the key is the test's own); what is
checked is what Google checks first: the grant type, `iss` (the key's client_email), `aud`
(Google's token endpoint), `scope`, and `iat`/`exp`. Tokens are valid `expires_in` seconds; `is_valid(token)`
lets the fake API answer 401 for an expired one.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CLIENT_EMAIL = "privacyops-deletion@palette-privacy.iam.gserviceaccount.com"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_unverified(assertion: str) -> tuple[dict, dict]:
    header, payload, _signature = assertion.split(".")
    return json.loads(_b64decode(header)), json.loads(_b64decode(payload))


_KEY_PEM: str | None = None


def _private_key_pem() -> str:
    global _KEY_PEM
    if _KEY_PEM is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _KEY_PEM = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return _KEY_PEM


def write_service_account_key(path: Path, *, token_uri: str, client_email: str = CLIENT_EMAIL) -> Path:
    """A service-account key file in the shape the Cloud console downloads."""
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "palette-privacy",
                "private_key_id": "0123456789abcdef0123456789abcdef01234567",
                "private_key": _private_key_pem(),
                "client_email": client_email,
                "client_id": "100000000000000000001",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/privacyops-deletion",
                "universe_domain": "googleapis.com",
            }
        )
    )
    path.chmod(0o600)
    return path


class GoogleTokenServer:
    def __init__(self):
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.lock = threading.Lock()
        self.reset()

    @property
    def token_uri(self) -> str:
        return self.server.url_for("/token")

    def start(self) -> None:
        self.server.start()
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def reset(self, *, expires_in: int = 3600, lifetime: float | None = None) -> None:
        """`expires_in` is what the answer says; `lifetime` how long a token really stays valid
        (shorter to stand in for a token Google stopped accepting early)."""
        with getattr(self, "lock", threading.Lock()):
            self.expires_in = expires_in
            self.lifetime = expires_in if lifetime is None else lifetime
            self.issued: dict[str, float] = {}  # token -> expiry (monotonic)
            self.assertions: list[dict] = []
            self.refused: list[str] = []

    def is_valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.issued.get(token)
        return expiry is not None and time.monotonic() < expiry

    def _refuse(self, why: str) -> Response:
        with self.lock:
            self.refused.append(why)
        body = {"error": "invalid_grant", "error_description": why}
        return Response(json.dumps(body), status=400, content_type="application/json")

    def _token(self, request: Request) -> Response:
        if request.form.get("grant_type") != JWT_BEARER:
            return self._refuse("grant_type")
        try:
            header, claims = decode_unverified(request.form.get("assertion", ""))
        except ValueError:
            return self._refuse("assertion is not a JWT")
        now = time.time()
        if header.get("alg") != "RS256":
            return self._refuse("alg")
        # google-auth names Google's token endpoint as the audience whatever the key's token_uri.
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            return self._refuse("aud")
        if not claims.get("scope"):
            return self._refuse("scope")
        if not claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0):
            return self._refuse("iat/exp")
        with self.lock:
            self.assertions.append(claims)
            token = f"ya29.sa-token-{len(self.assertions)}"
            self.issued[token] = time.monotonic() + self.lifetime
        body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        return Response(json.dumps(body), status=200, content_type="application/json")
