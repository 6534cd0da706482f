"""The one place vendor HTTP calls go through: timeouts, error classification, no leaks.

Errors carry the vendor's status and a short reason, never the request URL's query, headers or
body (they hold tokens and identifiers). `requests` is used directly; urllib3's debug log prints
request lines, so identifiers and tokens are never put in URLs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from privacyops.lib.crypto import DecryptionError, is_undecryptable

logger = logging.getLogger("thirdparty.vendors")

RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class VendorResponse:
    vendor: str
    status: int | None
    body: Any = None
    retry_after_seconds: float | None = None
    error: str = ""
    duration_ms: int = 0
    extra: dict = field(default_factory=dict)
    # Set by a connector that recognises the vendor's own "slow down" answer (Meta's throttling codes).
    throttled: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """A timeout, a dropped connection, 429 or 5xx: worth trying again later."""
        if self.status is None or self.throttled:
            return True
        if self.status in RETRYABLE_STATUSES:
            return True
        # Google answers quota exhaustion with 403 and a rate-limit reason.
        return self.status == 403 and any(
            word in _error_reason(self.body).lower() for word in ("ratelimit", "quota", "rate_limit")
        )

    def short_error(self) -> str:
        if self.ok:
            return ""
        if self.error:
            return self.error[:300]
        reason = _error_reason(self.body)
        return (f"HTTP {self.status}" + (f": {reason}" if reason else ""))[:300]


def _error_reason(body: Any) -> str:
    """The vendor's error code or message, which identify the problem without echoing input."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
        return " ".join(filter(None, [str(error.get("status", "")), *reasons, str(error.get("type", ""))])).strip()
    if isinstance(error, str):
        return error
    if "Error" in body and isinstance(body["Error"], dict | str):
        err = body["Error"]
        return str(err.get("Code", "")) if isinstance(err, dict) else err[:100]
    return ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


def _holds_undecryptable(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_undecryptable(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_undecryptable(v) for v in value)
    return is_undecryptable(value)


def call(
    vendor: str,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: Any = None,
    params: dict[str, str] | None = None,
) -> VendorResponse:
    if any(_holds_undecryptable(part) for part in (headers, json, data, params)):
        # A stored secret read under the wrong keys must not go out as its marker text.
        raise DecryptionError(f"A secret for this {vendor} call cannot be decrypted with FIELD_ENCRYPTION_KEYS.")
    started = time.monotonic()
    try:
        response = requests.request(
            method,
            url,
            headers=headers,
            json=json,
            data=data,
            params=params,
            timeout=settings.VENDOR_HTTP_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.Timeout:
        result = VendorResponse(vendor, None, error="timed out")
    except requests.RequestException as exc:
        # The exception text names the URL; its type is enough for an operator.
        result = VendorResponse(vendor, None, error=f"connection failed ({type(exc).__name__})")
    else:
        try:
            body = response.json()
        except ValueError:
            body = None
        result = VendorResponse(vendor, response.status_code, body=body, retry_after_seconds=_retry_after(response))
    result.duration_ms = int((time.monotonic() - started) * 1000)
    logger.info(
        "vendor call vendor=%s method=%s status=%s duration_ms=%d",
        vendor,
        method,
        result.status if result.status is not None else result.error,
        result.duration_ms,
    )
    return result
