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
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httplib2
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery

from ..models import RateLimitState
from .base import Outcome, outcome_from_failure
from .google_api import GoogleResponse, execute

SCOPE = "https://www.googleapis.com/auth/analytics.user.deletion"
METHOD_ID = "analytics.userDeletion.userDeletionRequest.upsert"
# Google's daily quotas reset at midnight Pacific time.
GOOGLE_QUOTA_TZ = ZoneInfo("America/Los_Angeles")
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


# --- the erasure job's run: pacing shared by every worker, one deletion per identifier -------------


@dataclass
class Slot:
    granted: bool
    at: datetime
    reason: str = ""


def next_google_quota_day(now: datetime) -> datetime:
    local = now.astimezone(GOOGLE_QUOTA_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=GOOGLE_QUOTA_TZ)
    return midnight.astimezone(ZoneInfo("UTC"))


def reserve_ga_slot(*, now: datetime | None = None) -> Slot:
    """Reserve the next Google Analytics request slot of the property, shared by every worker.

    The row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers), so two
    workers never take the same slot. Slots are spaced 1/GA_REQUESTS_PER_SECOND apart and at most
    GA_REQUESTS_PER_DAY are handed out per Google quota day. A slot further away than
    GA_MAX_INLINE_WAIT_SECONDS is not reserved: the caller reschedules the job to `at`.
    """
    now = now or timezone.now()
    interval = timedelta(seconds=1 / settings.GA_REQUESTS_PER_SECOND)
    quota_day = now.astimezone(GOOGLE_QUOTA_TZ).date()
    key = quota_key()
    RateLimitState.objects.get_or_create(key=key)
    with transaction.atomic():
        # Write first: on SQLite this takes the database write lock before anything is read (a
        # read-then-write transaction would fail with SQLITE_BUSY under contention); on
        # PostgreSQL it locks the row like SELECT ... FOR UPDATE.
        RateLimitState.objects.filter(key=key).update(sent_today=F("sent_today"))
        state = RateLimitState.objects.select_for_update().get(key=key)
        if state.quota_day != quota_day:
            state.quota_day, state.sent_today = quota_day, 0
        if state.sent_today >= settings.GA_REQUESTS_PER_DAY:
            state.save(update_fields=["quota_day", "sent_today"])
            return Slot(False, next_google_quota_day(now), "daily quota used")
        slot = max(now, state.next_slot_at or now)
        if (slot - now).total_seconds() > settings.GA_MAX_INLINE_WAIT_SECONDS:
            state.save(update_fields=["quota_day", "sent_today"])
            return Slot(False, slot, "rate limit")
        state.next_slot_at = slot + interval
        state.sent_today += 1
        state.save(update_fields=["quota_day", "sent_today", "next_slot_at"])
    return Slot(True, slot)


def run(job, ids: dict) -> Outcome:
    """One erasure job: one deletion per identifier, each in a reserved quota slot; a slot too far
    away defers the job (no attempt counted) with what is left to delete."""
    missing = configured()
    if missing:
        return Outcome("retry", error=missing)
    pending = list(ids.get("ga_pending", []))
    receipt = dict(job.receipt)
    deletions = list(receipt.get("deletions", []))
    responses: list = []
    while pending:
        slot = reserve_ga_slot()
        if not slot.granted:
            receipt["deletions"] = deletions
            return Outcome(
                "deferred", responses, receipt=receipt, retry_at=slot.at, identifiers={"ga_pending": pending}
            )
        wait = (slot.at - timezone.now()).total_seconds()
        if wait > 0:
            time.sleep(wait)
        item = pending[0]
        response = delete_user(item["type"], item["id"])
        responses.append(response)
        if not response.ok:
            receipt["deletions"] = deletions
            return outcome_from_failure(response, responses, receipt=receipt, identifiers={"ga_pending": pending})
        body = response.body if isinstance(response.body, dict) else {}
        # The receipt names the kind of identifier, never its value.
        deletions.append({"type": ID_TYPES[item["type"]], "deletionRequestTime": body.get("deletionRequestTime")})
        pending.pop(0)
    receipt["deletions"] = deletions
    return Outcome("done", responses, receipt=receipt)
