"""Google Analytics user deletion through Google's own client libraries.

Credentials: a service-account JSON key (`GOOGLE_SERVICE_ACCOUNT_FILE`), scope
analytics.user.deletion, through `google-auth`; its token URI comes from the key file. Access
tokens live about an hour and are obtained and refreshed by google-auth (before they expire, and
once more when Google answers 401).

Request: `analytics` v3 `userDeletion.userDeletionRequest.upsert`, built by
`google-api-python-client` from the discovery document bundled in the package
(`static_discovery=True`: no network at start). One request per identifier; the receipt is
`deletionRequestTime`. Quotas (1.5 requests/s per property, 500/day) are paced by the caller;
Google's own quota answers are retried here as retryable, never permanent.
"""

from __future__ import annotations

import threading

import httplib2
from django.conf import settings
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery

from .google_api import GoogleResponse, execute

SCOPE = "https://www.googleapis.com/auth/analytics.user.deletion"
METHOD_ID = "analytics.userDeletion.userDeletionRequest.upsert"
ID_TYPES = {"client_id": "CLIENT_ID", "user_id": "USER_ID", "app_instance_id": "APP_INSTANCE_ID"}

_local = threading.local()


def configured() -> str:
    """ "" when ready, else what is missing (for the job's error, never the value)."""
    missing = [name for name in ("GA_PROPERTY_ID", "GOOGLE_SERVICE_ACCOUNT_FILE") if not getattr(settings, name)]
    return f"{', '.join(missing)} not set" if missing else ""


def quota_key() -> str:
    return f"ga:{settings.GA_PROPERTY_ID}"


def api_endpoint() -> str:
    # The discovery document's servicePath, under a configurable root (a local server in tests).
    return settings.GA_API_BASE_URL.rstrip("/") + "/analytics/v3/"


def _credentials():
    """One set of credentials per key file and thread: the token is reused until it expires."""
    key = settings.GOOGLE_SERVICE_ACCOUNT_FILE
    cached = getattr(_local, "credentials", None)
    if cached is None or cached[0] != key:
        credentials = service_account.Credentials.from_service_account_file(key, scopes=[SCOPE])
        _local.credentials = cached = (key, credentials)
    return cached[1]


def _service():
    # httplib2 connections are not thread-safe: one client per thread and configuration.
    config = (settings.GOOGLE_SERVICE_ACCOUNT_FILE, api_endpoint(), settings.VENDOR_HTTP_TIMEOUT_SECONDS)
    cached = getattr(_local, "service", None)
    if cached is None or cached[0] != config:
        # A 401 refreshes the credentials once and retries once (google-auth-httplib2 would try twice).
        http = AuthorizedHttp(
            _credentials(),
            http=httplib2.Http(timeout=settings.VENDOR_HTTP_TIMEOUT_SECONDS),
            max_refresh_attempts=1,
        )
        service = discovery.build(
            "analytics",
            "v3",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": api_endpoint()},
        )
        _local.service = cached = (config, service)
    return cached[1]


def forget_clients() -> None:
    """Drop this thread's cached credentials and client (tests switch key files and servers)."""
    _local.__dict__.clear()


def delete_user(id_type: str, value: str) -> GoogleResponse:
    body = {
        "kind": "analytics#userDeletionRequest",
        "id": {"type": ID_TYPES[id_type], "userId": value},
        "propertyId": settings.GA_PROPERTY_ID,
    }
    request = _service().userDeletion().userDeletionRequest().upsert(body=body)
    return execute("google_analytics", request)
