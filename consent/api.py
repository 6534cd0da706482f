"""JSON endpoints: consent state for internal services, consent writes from company tools, and
the public cookie-choice endpoint the banner posts to from the company website."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from typing import Annotated, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Router, Status
from ninja.errors import HttpError
from pydantic import Field, StrictBool, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from audit.api_auth import ApiKey
from audit.models import AccessAction, ApiScope
from audit.services import log_access
from privacyops.lib.api_errors import field_errors
from privacyops.lib.cache import count_attempt
from privacyops.lib.http import client_ip
from privacyops.lib.schemas import IPAddress, StrictSchema, Text, Timestamp
from subjects.models import DataSubject

from . import services
from .models import ConsentAction, ConsentState, CookieChoice, Purpose

router = Router(tags=["consent"])


class ErrorOut(StrictSchema):
    detail: str


# --- consent state for internal services ------------------------------------------------------
class PurposeStateOut(StrictSchema):
    key: str
    policy_clause: str
    legal_basis: str
    consent_required: bool
    is_marketing: bool
    granted: bool
    may_process: bool
    night_time: bool
    changed_at: datetime | None
    reconfirm_due_at: datetime | None


class ConsentOut(StrictSchema):
    subject_id: int
    processing_restricted: bool
    purposes: list[PurposeStateOut]


def _overview(subject: DataSubject) -> dict:
    states = {s.purpose_id: s for s in ConsentState.objects.filter(subject=subject)}
    rows = []
    for purpose in Purpose.objects.all():
        state = states.get(purpose.pk)
        rows.append(
            {
                "key": purpose.key,
                "policy_clause": purpose.policy_clause,
                "legal_basis": purpose.legal_basis,
                "consent_required": purpose.consent_required,
                "is_marketing": purpose.is_marketing,
                "granted": bool(state and state.granted),
                "may_process": services.may_process(subject=subject, purpose=purpose.key),
                "night_time": bool(state and state.night_time),
                "changed_at": state.changed_at if state else None,
                "reconfirm_due_at": state.reconfirm_due_at if state else None,
            }
        )
    return {"subject_id": subject.pk, "processing_restricted": subject.processing_restricted, "purposes": rows}


@router.get(
    "/consent/{int:subject_id}",
    auth=ApiKey(ApiScope.CONSENT_READ),
    response={200: ConsentOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Current consent of a subject, and whether each purpose may be processed now",
)
def get_consent(request: HttpRequest, subject_id: int):
    subject = DataSubject.objects.filter(pk=subject_id).first()
    if subject is None:
        raise HttpError(404, "No subject with this id.")
    # An API read of a person's data is an access like a staff view (SA-06).
    log_access(
        user=request.auth,
        ip=client_ip(request),
        action=AccessAction.VIEW,
        subject_ids=[subject.pk],
        object_repr=f"consent of subject #{subject.pk}",
        path=request.path,
    )
    return _overview(subject)


# --- consent writes from company tools (sign-up forms, customer service, imports) -------------
ApiChannel = Literal["web_form", "customer_service", "import", "email_link", "processor_webhook"]


class ConsentIn(StrictSchema):
    purpose: Text(50, min_length=1)
    action: Literal["grant", "withdraw", "refuse"]
    channel: ApiChannel
    # The exact notice text the person saw; its SHA-256 is the evidence (required to grant).
    notice_text: Text(20_000) = ""
    ip: IPAddress | None = None
    user_agent: Text(512) = ""
    night_time: StrictBool = False
    occurred_at: Timestamp | None = None


class ConsentEventOut(StrictSchema):
    event_id: int | None
    recorded: bool
    granted: bool


@router.post(
    "/consent/{int:subject_id}",
    auth=ApiKey(ApiScope.CONSENT_WRITE),
    response={200: ConsentEventOut, 201: ConsentEventOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Record a grant, refusal or withdrawal (200 with recorded=false when nothing changed)",
)
def post_consent(request: HttpRequest, subject_id: int, payload: ConsentIn):
    subject = DataSubject.objects.filter(pk=subject_id).first()
    if subject is None:
        raise HttpError(404, "No subject with this id.")
    if payload.occurred_at and payload.occurred_at > timezone.now() + timedelta(minutes=5):
        raise HttpError(422, "occurred_at cannot be in the future.")
    if payload.action == "grant" and not payload.notice_text:
        raise HttpError(422, "notice_text is required to grant consent: send the exact text the person agreed to.")
    common = {
        "subject": subject,
        "purpose": payload.purpose,
        "channel": payload.channel,
        "ip": payload.ip,
        "user_agent": payload.user_agent,
        "at": payload.occurred_at,
    }
    try:
        if payload.action == "grant":
            event = services.grant_consent(**common, notice_text=payload.notice_text, night_time=payload.night_time)
        elif payload.action == "withdraw":
            event = services.withdraw_consent(**common)
        else:
            event = services.refuse_consent(**common, notice_text=payload.notice_text)
    except services.ConsentError as exc:
        raise HttpError(422, str(exc)) from None
    if event is not None:  # the state is now this event's answer
        granted = event.action == ConsentAction.GRANTED
    else:
        granted = ConsentState.objects.filter(subject=subject, purpose__key=payload.purpose, granted=True).exists()
    body = {"event_id": event.pk if event else None, "recorded": event is not None, "granted": granted}
    return Status(201 if event else 200, body)


# --- the public cookie-choice endpoint --------------------------------------------------------
#
# Why this is CSRF-safe without a token: CSRF abuses *ambient authority*, credentials the browser
# attaches by itself (cookies, HTTP auth). This endpoint reads none: no session, no cookie, no
# key; the banner posts with credentials "omit". A forged cross-site post can only append an
# anonymous record for a visitor id the attacker made up, which the attacker could do directly
# anyway; it can change nobody's consent to email, SMS or processing (those need an API key or
# a signed preference link). CORS only decides which websites may read the answer; abuse is
# bounded by the per-IP rate limit and strict validation.


class CookieChoiceIn(StrictSchema):
    visitor_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    banner_version: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    language: Literal["ko", "en"]
    choice: Literal["allow_all", "custom", "reject_all"]
    categories: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,50}$")], StrictBool] = Field(
        default_factory=dict, max_length=20
    )
    gpc: StrictBool = False
    # When the visitor chose, by the browser's clock: the banner posts a choice again until it is
    # accepted, and this (with the visitor id) makes the second post find the first record.
    chosen_at: Timestamp | None = None


class CookieChoiceOut(StrictSchema):
    id: int
    categories: list[str]
    gpc_honoured: bool


def _cors_headers(request: HttpRequest) -> dict[str, str] | None:
    """CORS headers for the request's Origin, {} when it has none, None when it is not allowed.

    A refusal is counted per origin for the officer's desk: the banner on a website left out
    of CONSENT_ALLOWED_ORIGINS cannot read why its post failed, and its visitors' choices would
    otherwise be lost unseen. A browser sends the JSON post only after its preflight succeeds,
    so a refused choice arrives here once, as the OPTIONS or (from a non-browser) as the POST.
    Refusals spend the sender's rate limit and are not counted beyond it, so a flood of made-up
    origins costs one cache increment each."""
    origin = request.headers.get("Origin")
    if not origin:
        return {}
    own = f"{request.scheme}://{request.get_host()}"
    if origin != own and origin not in settings.CONSENT_ALLOWED_ORIGINS:
        if not _over_rate_limit(client_ip(request)):
            services.count_refused_origin(origin=origin)
        return None
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _answer(status: int, body: dict, headers: dict[str, str]) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _over_rate_limit(ip: str | None) -> bool:
    window = int(time.time() // 60)
    who = hashlib.sha256((ip or "unknown").encode()).hexdigest()[:24]
    return count_attempt(f"consent:cookies:{who}:{window}", timeout=120) > settings.CONSENT_COOKIE_RATE_LIMIT_PER_MINUTE


_COOKIE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": CookieChoiceIn.model_json_schema()}},
}


@router.api_operation(
    ["POST"],
    "/consent/cookies",
    auth=None,
    response={200: CookieChoiceOut, 201: CookieChoiceOut, 403: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Record a cookie-banner choice (public; called by banner.js from the company website; "
    "200 when this visitor's choice at chosen_at is already recorded)",
    openapi_extra={"requestBody": _COOKIE_BODY},
)
def post_cookie_choice(request: HttpRequest):
    # The body is validated here rather than by ninja so that every answer, errors included,
    # carries the CORS headers and the banner's developers can read why a post was refused.
    cors = _cors_headers(request)
    if cors is None:
        return _answer(403, {"detail": "This website may not post cookie choices here."}, {"Vary": "Origin"})
    ip = client_ip(request)
    if _over_rate_limit(ip):
        return _answer(
            429,
            {"detail": "Too many cookie choices from this address; try again in a minute."},
            {**cors, "Retry-After": "60"},
        )
    try:
        payload = CookieChoiceIn.model_validate_json(request.body or b"")
    except PydanticValidationError as exc:
        errors = field_errors(exc.errors(include_url=False))
        summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
        return _answer(422, {"detail": f"Invalid input: {summary}", "errors": errors}, cors)
    try:
        record, created = services.record_cookie_choice(
            visitor_id=payload.visitor_id,
            banner_version=payload.banner_version,
            language=payload.language,
            choice=CookieChoice(payload.choice),
            categories=payload.categories,
            gpc=payload.gpc or request.headers.get("Sec-GPC", "").strip() == "1",
            ip=ip,
            user_agent=request.headers.get("User-Agent", ""),
            chosen_at=payload.chosen_at,
        )
    except services.ConsentError as exc:
        return _answer(422, {"detail": str(exc)}, cors)
    body = {"id": record.pk, "categories": record.categories, "gpc_honoured": record.gpc_honoured}
    return _answer(201 if created else 200, body, cors)


@router.api_operation(["OPTIONS"], "/consent/cookies", auth=None, include_in_schema=False)
def preflight_cookie_choice(request: HttpRequest):
    cors = _cors_headers(request)
    if cors is None:
        return HttpResponse(status=403, headers={"Vary": "Origin"})
    response = HttpResponse(status=204)
    for name, value in cors.items():
        response[name] = value
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response
