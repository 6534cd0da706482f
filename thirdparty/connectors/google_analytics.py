"""Google Analytics 4 user deletion (User Deletion API v3, which accepts GA4 property ids).

`POST {GA_API_BASE_URL}/analytics/v3/userDeletion/userDeletionRequests:upsert`, bearer token with
scope analytics.user.deletion. One request per identifier; the receipt is `deletionRequestTime`.
Quotas (1.5 requests/s per property, 500/day) are enforced by the caller, not here.
"""

from __future__ import annotations

from django.conf import settings

from .http import VendorResponse, call

UPSERT_PATH = "/analytics/v3/userDeletion/userDeletionRequests:upsert"
ID_TYPES = {"client_id": "CLIENT_ID", "user_id": "USER_ID", "app_instance_id": "APP_INSTANCE_ID"}


def configured() -> str:
    """ "" when ready, else what is missing (for the job's error, never the value)."""
    missing = [name for name in ("GA_PROPERTY_ID", "GA_ACCESS_TOKEN") if not getattr(settings, name)]
    return f"{', '.join(missing)} not set" if missing else ""


def quota_key() -> str:
    return f"ga:{settings.GA_PROPERTY_ID}"


def delete_user(id_type: str, value: str) -> VendorResponse:
    body = {
        "kind": "analytics#userDeletionRequest",
        "id": {"type": ID_TYPES[id_type], "userId": value},
        "propertyId": settings.GA_PROPERTY_ID,
    }
    return call(
        "google_analytics",
        "POST",
        settings.GA_API_BASE_URL + UPSERT_PATH,
        headers={"Authorization": f"Bearer {settings.GA_ACCESS_TOKEN}"},
        json=body,
    )
