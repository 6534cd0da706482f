"""Meta: custom-audience member removal and the data-deletion callback's signed_request.

Removal takes its shape from the `facebook-business` SDK (26.0.3: `CustomAudienceMixin.remove_users`
and `FacebookAdsApi.call`, `FacebookSession`): `DELETE {META_GRAPH_BASE_URL}/{META_API_VERSION}/
{audience_id}/users` with the parameters `payload` = {"schema": ["EMAIL", "PHONE"], "is_raw": true,
"data": [[sha256(email), sha256(phone)], ...]} (JSON, compact, sorted keys, as the SDK's
`_top_level_param_json_encode`), `session` when a removal takes more than one call (Meta's batch
session: session_id, batch_seq, last_batch_flag, estimated_num_total), and the session parameters
`access_token` and `appsecret_proof` (HMAC-SHA256 of the token keyed with the app secret, as
`FacebookSession._gen_appsecret_proof`). No Authorization header.

One deliberate difference: the SDK sends a DELETE's parameters in the query string. We send the
same parameters form-encoded in the body, which the Graph API reads for every method: a query
string would put the token in every proxy's and urllib3's request-line log, and 10,000 hashed
rows do not fit in a URL.

Throttling and temporary errors (Graph error codes 4, 17, 613, 80004 and 2 from Meta's pages; 32
and 80003 kept though unconfirmed here; any error Meta marks `is_transient`, which the SDK's
`FacebookRequestError.api_transient_error()` reads) are retried with backoff; anything else is
permanent. The answer's `num_invalid_entries` is kept on the job. Sources: docs/THIRDPARTY.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import date

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils import timezone

from .base import Outcome, outcome_from_failure
from .http import VendorResponse, call

MAX_ROWS_PER_CALL = 10_000
SCHEMA = ["EMAIL", "PHONE"]
# Korean numbers are stored in national form (010-...); Meta wants the country code, no leading 0.
DEFAULT_COUNTRY_CALLING_CODE = "82"
SIGNED_REQUEST_MAX_AGE_SECONDS = 3600
# The SDK's own default (facebook_business/apiconfig.py of facebook-business 26.0.3).
SDK_API_VERSION = "v26.0"
# Graph error codes that mean "slow down", retried with backoff (docs/THIRDPARTY.md, read 2026-12-01):
#   4      "Application request limit reached": Marketing API error reference
#          (developers.facebook.com/documentation/ads-commerce/marketing-api/error-reference) and
#          Marketing API rate limiting (app level; subcodes 1504022, 1504039);
#   17     "User request limit reached": the same two pages (ad-account level, subcode 2446079);
#   613    "There have been too many calls from this ad-account": Marketing API rate limiting
#          (subcode 1487742);
#   80004  "There have been too many calls to this ad-account": the ads_management business-use-case
#          limit, in the error table of Meta's Custom Audience reference (custom-audience/ads);
#   32     page-level throttling (Graph API rate limiting, Pages): not expected on an audience edge;
#   80003  the custom_audience business-use-case limit: the code is not on a stored Meta page (the
#          business-use-case table did not come through); kept because retrying a throttle is safe.
THROTTLING_CODES = frozenset({4, 17, 32, 613, 80003, 80004})
UNCONFIRMED_THROTTLING_CODES = frozenset({32, 80003})
# Graph API "Handling errors": code 2 "API Service: temporary issue due to downtime; wait and retry".
TRANSIENT_CODES = frozenset({2})
# What the processor's admin page says about the parts of the request Meta's pages did not confirm.
UNCONFIRMED = "batch session keys and throttling codes 32 and 80003 not confirmed by the vendor's documentation"
# Custom audiences are a Marketing API edge, so the Marketing API's expiry dates apply (shorter
# than the Graph API's). Source: Meta's "Marketing API version history" page
# (developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions),
# read 2026-12-01. None: "TBD" on that page. v24.0's end is given as 2026-11-10 there and as
# 2026-10-06 on an older copy of the same page; the earlier date is kept.
VERSION_EXPIRES = {
    "v16.0": date(2024, 2, 6),
    "v17.0": date(2024, 5, 14),
    "v18.0": date(2024, 8, 13),
    "v19.0": date(2025, 2, 4),
    "v20.0": date(2025, 5, 6),
    "v21.0": date(2025, 9, 9),
    "v22.0": date(2026, 2, 19),
    "v23.0": date(2026, 6, 9),
    "v24.0": date(2026, 10, 6),
    "v25.0": date(2027, 2, 23),
    "v26.0": None,
    "v27.0": None,
}
VERSION_WARN_DAYS = 90


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


def _encode(value) -> str:
    # The SDK's _top_level_param_json_encode: containers as compact JSON with sorted keys.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def error_code(body) -> int | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None


def is_retryable_error(body) -> bool:
    """A throttling or temporary Graph error: retried with backoff, never a permanent failure."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    # The SDK reads `is_transient` into FacebookRequestError.api_transient_error() (exceptions.py).
    return error_code(body) in THROTTLING_CODES | TRANSIENT_CODES or error.get("is_transient") is True


def remove_users(audience_id: str, rows: list[list[str]]) -> list[VendorResponse]:
    """Remove hashed rows from one audience, 10,000 per call; one response per call."""
    responses = []
    url = f"{settings.META_GRAPH_BASE_URL}/{settings.META_API_VERSION}/{audience_id}/users"
    calls = max(1, -(-len(rows) // MAX_ROWS_PER_CALL))
    session_id = int(time.time() * 1000)
    for seq, start in enumerate(range(0, len(rows), MAX_ROWS_PER_CALL), start=1):
        chunk = rows[start : start + MAX_ROWS_PER_CALL]
        form = {
            "access_token": settings.META_ACCESS_TOKEN,
            "payload": _encode({"schema": SCHEMA, "is_raw": True, "data": chunk}),
        }
        if calls > 1:
            form["session"] = _encode(
                {
                    "session_id": session_id,
                    "batch_seq": seq,
                    "last_batch_flag": seq == calls,
                    "estimated_num_total": len(rows),
                }
            )
        if settings.META_APP_SECRET:
            form["appsecret_proof"] = appsecret_proof()
        response = call("meta", "DELETE", url, data=form)
        response.extra["rows"] = len(chunk)
        if not response.ok and is_retryable_error(response.body):
            response.throttled = True
        responses.append(response)
        if not response.ok:
            break
    return responses


def run_batch(jobs: list[tuple]) -> Outcome:
    """Remove the jobs' people from every configured audience, batched (<= 10,000 rows a call)."""
    missing = configured()
    if missing:
        return Outcome("retry", error=missing)
    rows = [hashed_row(email=ids.get("email", ""), phone=ids.get("phone", "")) for _, ids in jobs]
    audiences = []
    responses: list[VendorResponse] = []
    for audience_id in settings.META_CUSTOM_AUDIENCE_IDS:
        audience_responses = remove_users(audience_id, rows)
        responses.extend(audience_responses)
        failed = next((r for r in audience_responses if not r.ok), None)
        if failed is not None:
            return outcome_from_failure(failed, responses)
        received = sum(
            int((r.body or {}).get("num_received", 0)) for r in audience_responses if isinstance(r.body, dict)
        )
        sessions = [str((r.body or {}).get("session_id", "")) for r in audience_responses if isinstance(r.body, dict)]
        invalid = sum(
            int((r.body or {}).get("num_invalid_entries", 0)) for r in audience_responses if isinstance(r.body, dict)
        )
        audiences.append(
            {
                "audience_id": audience_id,
                "calls": len(audience_responses),
                "num_received": received,
                "num_invalid_entries": invalid,
                "session_ids": sessions,
            }
        )
    receipt = {
        "audiences": audiences,
        "rows": len(rows),
        "num_invalid_entries": sum(a["num_invalid_entries"] for a in audiences),
    }
    if rows and audiences and all(a["num_invalid_entries"] >= len(rows) for a in audiences):
        # Meta took none of the rows: nothing was removed, so the job is not done.
        return Outcome("failed", responses, receipt=receipt, error="Meta rejected every entry as invalid")
    return Outcome("done", responses, receipt=receipt)


@register("thirdparty")
def check_api_version(app_configs=None, **kwargs):
    """Warn 90 days before the configured Marketing API version expires; an error after."""
    version = settings.META_API_VERSION
    if version not in VERSION_EXPIRES:
        return [
            Warning(
                f"META_API_VERSION {version} is not in the table of Meta API versions; its end date is unknown.",
                hint="Add it to thirdparty/connectors/meta.py VERSION_EXPIRES from Meta's changelog.",
                id="thirdparty.W010",
            )
        ]
    expires = VERSION_EXPIRES[version]
    if expires is None:
        return []
    today = timezone.localdate()
    if today >= expires:
        return [
            Error(
                f"META_API_VERSION {version} expired on {expires:%Y-%m-%d}: Meta refuses calls to it.",
                hint=f"Set META_API_VERSION to a supported version (the SDK's default is {SDK_API_VERSION}).",
                id="thirdparty.E010",
            )
        ]
    if (expires - today).days <= VERSION_WARN_DAYS:
        return [
            Warning(
                f"META_API_VERSION {version} expires on {expires:%Y-%m-%d}.",
                hint=f"Move to a newer version (the SDK's default is {SDK_API_VERSION}).",
                id="thirdparty.W011",
            )
        ]
    return []


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
