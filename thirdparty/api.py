"""Vendor webhooks and identifier capture.

- `POST /api/thirdparty/meta/data-deletion`: Meta's data-deletion request callback
  (form-encoded `signed_request`, HMAC-SHA256 with META_APP_SECRET). Each signed request is
  accepted once: posted again within its hour it gets 409 and starts nothing.
- `POST /api/thirdparty/stibee/webhook?token=<secret>`: Stibee subscriber events. How Stibee
  authenticates webhooks is not documented in our sources, so the URL given to Stibee carries a
  secret token (STIBEE_WEBHOOK_SECRET) compared in constant time; rotate it by changing the URL in
  Stibee. It is a query parameter, not a path segment, because Django logs the path of every 4xx.
  Body: one event object or a list of them, {"event": "UNSUBSCRIBED"|"PURGED"|..., "email": ...}
  (the email may also be under "subscriber": {"email": ...}).
- `POST /api/thirdparty/identities`: the website records the GA client id / user id of a person
  as it collects it (scope visits:write).
"""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Form, Router, Status
from ninja.errors import HttpError

from audit.api_auth import ApiKey
from audit.models import ApiScope
from privacyops.lib.schemas import Email, StrictSchema, Text
from privacyops.lib.urls import absolute_url
from subjects.models import CollectionSource
from subjects.services import find_or_create_subject

from . import services
from .connectors.meta import InvalidSignedRequest, ReplayedSignedRequest
from .models import IdentityKind, VendorName

logger = logging.getLogger(__name__)
router = Router(tags=["third parties"])

MAX_WEBHOOK_EVENTS = 500


class ErrorOut(StrictSchema):
    detail: str


class DeletionOut(StrictSchema):
    url: str
    confirmation_code: str


@router.post(
    "/thirdparty/meta/data-deletion",
    auth=None,
    response={200: DeletionOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Meta data-deletion request callback (signed_request)",
)
def meta_data_deletion(request: HttpRequest, signed_request: Form[str]):
    if not settings.META_APP_SECRET:
        raise HttpError(404, "The data-deletion callback is not configured.")
    try:
        deletion = services.receive_meta_deletion_request(signed_request=signed_request)
    except ReplayedSignedRequest as exc:
        raise HttpError(409, str(exc)) from None
    except InvalidSignedRequest as exc:
        logger.warning("meta deletion callback refused: %s", exc)
        raise HttpError(403 if "signature" in str(exc) or "expired" in str(exc) else 400, str(exc)) from None
    path = reverse("thirdparty:meta_deletion_status", args=[deletion.confirmation_code])
    return Status(200, {"url": absolute_url(path), "confirmation_code": deletion.confirmation_code})


class WebhookOut(StrictSchema):
    received: int
    withdrawn: int


def _events(body: bytes) -> list[dict]:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise HttpError(400, "The body must be JSON.") from None
    events = data if isinstance(data, list) else [data]
    if not events or len(events) > MAX_WEBHOOK_EVENTS or not all(isinstance(e, dict) for e in events):
        raise HttpError(400, f"The body must be an event object or a list of 1 to {MAX_WEBHOOK_EVENTS} of them.")
    parsed = []
    for event in events:
        kind = event.get("event") or event.get("type") or event.get("action")
        subscriber = event.get("subscriber") if isinstance(event.get("subscriber"), dict) else {}
        email = event.get("email") or subscriber.get("email")
        if not isinstance(kind, str) or not isinstance(email, str) or not email.strip() or len(email) > 254:
            raise HttpError(400, "Every event needs an 'event' name and the subscriber's 'email'.")
        parsed.append({"event": kind, "email": email})
    return parsed


@router.post(
    "/thirdparty/stibee/webhook",
    auth=None,
    response={200: WebhookOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Stibee subscriber events (unsubscribes withdraw marketing consent)",
)
def stibee_webhook(request: HttpRequest, token: str = ""):
    secret = settings.STIBEE_WEBHOOK_SECRET
    if not secret:
        raise HttpError(404, "The Stibee webhook is not configured.")
    if not hmac.compare_digest(token.encode(), secret.encode()):
        raise HttpError(403, "Unknown webhook address.")
    events = _events(request.body)
    withdrawn = sum(services.handle_stibee_event(event=e["event"], email=e["email"]) == "withdrawn" for e in events)
    return Status(200, {"received": len(events), "withdrawn": withdrawn})


class IdentityIn(StrictSchema):
    email: Email
    vendor: VendorName
    kind: IdentityKind
    value: Text(200, min_length=1)


class IdentityOut(StrictSchema):
    id: int


@router.post(
    "/thirdparty/identities",
    auth=ApiKey(ApiScope.VISITS_WRITE),
    response={201: IdentityOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Record the GA client id / user id (or Meta user id) a person is known by",
)
def record_identity(request: HttpRequest, payload: IdentityIn):
    if not payload.value.isprintable():
        raise HttpError(422, "Invalid input: value: must not contain control characters")
    subject = find_or_create_subject(email=payload.email, source=CollectionSource.AUTOMATIC)
    try:
        identity = services.record_vendor_identity(
            subject=subject, vendor=payload.vendor, kind=payload.kind, value=payload.value
        )
    except services.ThirdPartyError as exc:
        raise HttpError(409, str(exc)) from None
    return Status(201, {"id": identity.pk})
