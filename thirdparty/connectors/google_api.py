"""Google API calls made through google-api-python-client, answered as the other connectors
answer (`VendorResponse`): status, body, a short error that never carries the URL, a token or an
identifier. Only a request Google rejects as invalid (400) is permanent."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import google.auth.exceptions
import httplib2
from django.utils import timezone
from googleapiclient.errors import HttpError

from .http import VendorResponse, logger

# Google's daily quotas reset at midnight Pacific time.
QUOTA_TZ = ZoneInfo("America/Los_Angeles")
DAILY_QUOTA_REASONS = {"dailyLimitExceeded", "quotaExceeded"}


class GoogleResponse(VendorResponse):
    """Only a request Google rejects as invalid (400) is permanent: a 401 that survived one
    credential refresh, a 403 quota answer, 429 and 5xx are tried again later."""

    @property
    def retryable(self) -> bool:
        return not self.ok and self.status != 400


def _reasons(body) -> set[str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    return {e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)} - {""}


def _seconds_to_next_quota_day(now: datetime) -> float:
    local = now.astimezone(QUOTA_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=QUOTA_TZ)
    return max(1.0, (midnight - now).total_seconds())


def from_http_error(vendor: str, exc: HttpError) -> GoogleResponse:
    try:
        body = json.loads(exc.content.decode("utf-8", "replace")) if exc.content else None
    except ValueError:
        body = None
    status = exc.resp.status
    retry_after = None
    header = exc.resp.get("retry-after")
    if header:
        try:
            retry_after = max(0.0, float(header))
        except ValueError:
            retry_after = None
    reasons = _reasons(body)
    if status == 403 and reasons & DAILY_QUOTA_REASONS and retry_after is None:
        retry_after = _seconds_to_next_quota_day(timezone.now())
    return GoogleResponse(vendor, status, body=body, retry_after_seconds=retry_after)


def execute(vendor: str, request, *, http=None) -> GoogleResponse:
    """Run a googleapiclient request (through `http` when given, e.g. a person's credentials)."""
    started = time.monotonic()
    try:
        body = request.execute(http=http, num_retries=0)
        result = GoogleResponse(vendor, 200, body=body)
    except HttpError as exc:
        result = from_http_error(vendor, exc)
    except google.auth.exceptions.RefreshError as exc:
        # The token server refused the key (wrong key, disabled account) or was unreachable.
        result = GoogleResponse(vendor, None, error=f"token refresh failed ({type(exc).__name__})")
    except google.auth.exceptions.TransportError as exc:
        result = GoogleResponse(vendor, None, error=f"token server unreachable ({type(exc).__name__})")
    except TimeoutError:
        result = GoogleResponse(vendor, None, error="timed out")
    except (OSError, httplib2.HttpLib2Error) as exc:
        result = GoogleResponse(vendor, None, error=f"connection failed ({type(exc).__name__})")
    result.duration_ms = int((time.monotonic() - started) * 1000)
    logger.info(
        "vendor call vendor=%s method=%s status=%s duration_ms=%d",
        vendor,
        request.method,
        result.status if result.status is not None else result.error,
        result.duration_ms,
    )
    return result
