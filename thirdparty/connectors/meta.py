"""Meta: custom-audience member removal and the data-deletion callback's signed_request.

Removal: `DELETE {META_GRAPH_BASE_URL}/{META_API_VERSION}/{audience_id}/users` with form field
`payload` = {"schema": ["EMAIL", "PHONE"], "data": [[sha256(email), sha256(phone)], ...]}, at
most 10,000 rows per call. The token goes in the Authorization header (not the URL, which proxies
and urllib3's debug log record), with `appsecret_proof` when the app secret is known.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

from django.conf import settings

from .http import VendorResponse, call

MAX_ROWS_PER_CALL = 10_000
SCHEMA = ["EMAIL", "PHONE"]
# Korean numbers are stored in national form (010-...); Meta wants the country code, no leading 0.
DEFAULT_COUNTRY_CALLING_CODE = "82"
SIGNED_REQUEST_MAX_AGE_SECONDS = 3600


def configured() -> str:
    return "" if settings.META_ACCESS_TOKEN else "META_ACCESS_TOKEN not set"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    if (phone or "").strip().startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return DEFAULT_COUNTRY_CALLING_CODE + digits[1:]
    return digits


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def hashed_row(*, email: str = "", phone: str = "") -> list[str]:
    return [sha256(normalise_email(email)), sha256(normalise_phone(phone))]


def appsecret_proof() -> str:
    return hmac.new(settings.META_APP_SECRET.encode(), settings.META_ACCESS_TOKEN.encode(), hashlib.sha256).hexdigest()


def remove_users(audience_id: str, rows: list[list[str]]) -> list[VendorResponse]:
    """Remove hashed rows from one audience, 10,000 per call; one response per call."""
    responses = []
    url = f"{settings.META_GRAPH_BASE_URL}/{settings.META_API_VERSION}/{audience_id}/users"
    headers = {"Authorization": f"Bearer {settings.META_ACCESS_TOKEN}"}
    for start in range(0, len(rows), MAX_ROWS_PER_CALL):
        chunk = rows[start : start + MAX_ROWS_PER_CALL]
        form = {"payload": json.dumps({"schema": SCHEMA, "data": chunk}, separators=(",", ":"))}
        if settings.META_APP_SECRET:
            form["appsecret_proof"] = appsecret_proof()
        response = call("meta", "DELETE", url, headers=headers, data=form)
        response.extra["rows"] = len(chunk)
        responses.append(response)
        if not response.ok:
            break
    return responses


class InvalidSignedRequest(Exception):
    """The signed_request is malformed, forged or expired; the message is safe to return."""


class ReplayedSignedRequest(InvalidSignedRequest):
    """A signed_request already accepted, posted again within its hour."""


def signed_request_hash(payload: dict) -> str:
    """What makes a signed_request unique: the user and the time Meta issued it. Not the text,
    whose base64 can be re-padded into another string with the same signature."""
    return sha256(f"{payload['user_id']}:{payload['issued_at']}")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_signed_request(signed_request: str, *, now: float | None = None) -> dict:
    """Verify a signed_request (HMAC-SHA256 with the app secret) and return its payload."""
    secret = settings.META_APP_SECRET
    if not secret:
        raise InvalidSignedRequest("The data-deletion callback is not configured.")
    if not signed_request or signed_request.count(".") != 1 or len(signed_request) > 8192:
        raise InvalidSignedRequest("signed_request is malformed.")
    encoded_sig, encoded_payload = signed_request.split(".")
    try:
        signature = _b64decode(encoded_sig)
        payload = json.loads(_b64decode(encoded_payload))
    except (ValueError, TypeError):
        raise InvalidSignedRequest("signed_request is malformed.") from None
    expected = hmac.new(secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidSignedRequest("signed_request has an invalid signature.")
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise InvalidSignedRequest("signed_request uses an unsupported algorithm.")
    now = time.time() if now is None else now
    issued_at, expires = payload.get("issued_at"), payload.get("expires")
    if not isinstance(issued_at, int) or abs(now - issued_at) > SIGNED_REQUEST_MAX_AGE_SECONDS:
        raise InvalidSignedRequest("signed_request has expired.")
    if isinstance(expires, int) and expires and expires < now:
        raise InvalidSignedRequest("signed_request has expired.")
    if not str(payload.get("user_id", "")).strip():
        raise InvalidSignedRequest("signed_request names no user.")
    return payload
