"""Stibee address-book API v2.

From Stibee's own documentation (developers.stibee.com, "스티비 API" 2.0.0, read 2026-12-01):
- base URL `https://api.stibee.com/v2` (STIBEE_API_BASE_URL);
- every request carries the `AccessToken` header (the workspace API key);
- a healthy server answers only 200 or 400; a 400 body is `{"code": "Errors....", ...}`; any 5xx
  is an outage to retry;
- rate limit: 1,000 requests a minute for these calls (bulk add 10/min, list reads 100/min).
help.stibee.com ("주소록 API") names the operations: 수신거부 (unsubscribe: the address stays in
the list, suppressed) and 완전 삭제 (purge: subscriber and activity history gone for good).

NOT confirmed by the vendor's documentation (the stored copy of the v2 reference lists no paths
for these two; see docs/THIRDPARTY.md and the badge on the processor's admin page):
- unsubscribe: `PUT {base}/lists/{listId}/subscribers/unsubscribe`, body ["a@x", ...];
- purge: `DELETE {base}/lists/{listId}/subscribers`, body ["a@x", ...];
- the v1-style answer {"Ok": true, "Value": {"success": [...], "fail": [...]}}; the receipt keeps counts only.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from ..models import JobKind
from .base import Outcome, outcome_from_failure
from .http import VendorResponse, call

# What the admin badge and docs/THIRDPARTY.md say about these request shapes.
UNCONFIRMED = "endpoint shape not confirmed by the vendor's documentation"
REQUESTS_PER_MINUTE = 1000

_pace_lock = threading.Lock()
_next_slot = 0.0


def configured() -> str:
    missing = [name for name in ("STIBEE_API_KEY", "STIBEE_LIST_ID") if not getattr(settings, name)]
    return f"{', '.join(missing)} not set" if missing else ""


def _headers() -> dict[str, str]:
    return {"AccessToken": settings.STIBEE_API_KEY, "Content-Type": "application/json"}


def _pace() -> None:
    """Stay under 1,000 requests a minute from this process (one call every 60 ms); a 429 from
    Stibee, if several workers together go over, is retried with backoff like any 429."""
    global _next_slot
    with _pace_lock:
        now = time.monotonic()
        wait = _next_slot - now
        _next_slot = max(now, _next_slot) + 60.0 / REQUESTS_PER_MINUTE
    if wait > 0:
        time.sleep(wait)


def _call(method: str, path: str, emails: list[str]) -> VendorResponse:
    _pace()
    response = call(
        "stibee",
        method,
        f"{settings.STIBEE_API_BASE_URL}/lists/{settings.STIBEE_LIST_ID}{path}",
        headers=_headers(),
        json=emails,
    )
    body = response.body if isinstance(response.body, dict) else {}
    if response.status == 400 and isinstance(body.get("code"), str):
        # Stibee's documented error form: the code names the problem without echoing input.
        response.error = f"HTTP 400: {body['code'][:100]}"
    # Stibee can answer 200 with Ok=false.
    if response.ok and body.get("Ok") is False:
        response.error = "Stibee answered Ok=false"
        response.status = 422 if response.status == 200 else response.status
    return response


def unsubscribe(emails: list[str]) -> VendorResponse:
    return _call("PUT", "/subscribers/unsubscribe", emails)


def purge(emails: list[str]) -> VendorResponse:
    return _call("DELETE", "/subscribers", emails)


def receipt(response: VendorResponse) -> dict:
    value = response.body.get("Value") if isinstance(response.body, dict) else None
    value = value if isinstance(value, dict) else {}
    return {
        "ok": bool(isinstance(response.body, dict) and response.body.get("Ok")),
        "success_count": len(value.get("success") or []),
        "fail_count": len(value.get("fail") or []),
        "status": response.status,
    }


def run(job, ids: dict) -> Outcome:
    """One job: unsubscribe (suppress) or purge (erase) the address."""
    missing = configured()
    if missing:
        return Outcome("retry", error=missing)
    send = unsubscribe if job.kind == JobKind.SUPPRESS else purge
    response = send([ids["email"]])
    if not response.ok:
        return outcome_from_failure(response, [response])
    return Outcome(
        "done",
        [response],
        receipt={"operation": "unsubscribe" if job.kind == JobKind.SUPPRESS else "purge", **receipt(response)},
    )
