"""Stibee address-book API: `AccessToken` header, JSON arrays of emails.

- unsubscribe (수신거부, marketing withdrawal; Stibee keeps the address suppressed):
  `PUT {STIBEE_API_BASE_URL}/lists/{listId}/subscribers/unsubscribe`, body ["a@x", ...];
- purge (완전 삭제, erasure; subscriber and activity history deleted for good):
  `DELETE {STIBEE_API_BASE_URL}/lists/{listId}/subscribers`, body ["a@x", ...].
The answer is {"Ok": true, "Value": {"success": [...], "fail": [...]}}; the receipt keeps counts only.
"""

from __future__ import annotations

from django.conf import settings

from .http import VendorResponse, call


def configured() -> str:
    missing = [name for name in ("STIBEE_API_KEY", "STIBEE_LIST_ID") if not getattr(settings, name)]
    return f"{', '.join(missing)} not set" if missing else ""


def _headers() -> dict[str, str]:
    return {"AccessToken": settings.STIBEE_API_KEY, "Content-Type": "application/json"}


def _call(method: str, path: str, emails: list[str]) -> VendorResponse:
    response = call(
        "stibee",
        method,
        f"{settings.STIBEE_API_BASE_URL}/lists/{settings.STIBEE_LIST_ID}{path}",
        headers=_headers(),
        json=emails,
    )
    # Stibee can answer 200 with Ok=false.
    if response.ok and isinstance(response.body, dict) and response.body.get("Ok") is False:
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
