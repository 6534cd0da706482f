"""JSON endpoints for the company website (visits) and customer-service tools (inquiries)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.errors import HttpError
from pydantic import Field

from audit.api_auth import ApiKey
from audit.models import ApiScope
from privacyops.lib.schemas import Email, IPAddress, StrictSchema, Text, Timestamp

from . import services
from .models import InquiryChannel, InquiryKind

router = Router(tags=["personal data"])


class DeviceIn(StrictSchema):
    os: Text(100) = ""
    screen_size: Text(20) = ""
    device_id: Text(200) = ""
    phone_model: Text(100) = ""


class VisitIn(StrictSchema):
    visited_at: Timestamp | None = None
    ip: IPAddress | None = None
    user_agent: Text(512) = ""
    path: Text(2048) = ""
    cookie_id: Text(200) = ""
    # A factory, not a shared DeviceIn() default: pydantic deep-copies a model default for every
    # item, which cost a batch of 1,000 more than validating it (bench/visits_batch.py).
    device: DeviceIn = Field(default_factory=DeviceIn)
    subject_email: Email | None = None
    abnormal: bool = False
    abnormal_reason: Text(200) = ""
    external_ref: Text(100) = Field(
        "", description="The website's own id for this visit: sent again, the visit first recorded is returned."
    )


class VisitOut(StrictSchema):
    id: int
    created: bool


class ErrorOut(StrictSchema):
    detail: str


class ItemErrorOut(StrictSchema):
    index: int | None = Field(description="Position of the refused visit in `visits` (0-based).")
    field: str | None
    message: str


class BatchErrorOut(StrictSchema):
    detail: str
    errors: list[ItemErrorOut]


def _visit_arguments(visit: dict) -> dict:
    """A dumped VisitIn as record_visit's arguments (the device's fields at the top level)."""
    device = visit.pop("device")
    return {**visit, **device}


@router.post(
    "/visits",
    auth=ApiKey(ApiScope.VISITS_WRITE),
    response={200: VisitOut, 201: VisitOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Record a visit to the service (policy 1.3)",
)
def create_visit(request: HttpRequest, payload: VisitIn):
    visit, created = services.record_visit(**_visit_arguments(payload.model_dump()))
    return Status(201 if created else 200, {"id": visit.pk, "created": created})


class VisitBatchIn(StrictSchema):
    visits: list[VisitIn] = Field(min_length=1, max_length=services.VISIT_BATCH_MAX)


class VisitBatchOut(StrictSchema):
    created: int = Field(description="How many visits this call recorded.")
    visits: list[VisitOut] = Field(description="One per item sent, in the same order.")


@router.post(
    "/visits/batch",
    auth=ApiKey(ApiScope.VISITS_WRITE),
    response={200: VisitBatchOut, 201: VisitBatchOut, 401: ErrorOut, 403: ErrorOut, 413: ErrorOut, 422: BatchErrorOut},
    summary="Record up to 1,000 visits at once (policy 1.3)",
    description=(
        "Each item is validated as `POST /api/visits` validates one visit. If any item is invalid the "
        "answer is 422 with an error per refused item (its `index` in `visits`) and nothing is recorded. "
        "An item whose `external_ref` is already recorded is answered with that visit (`created: false`) and "
        "writes nothing, so a retried batch is harmless; a reference repeated within one batch is refused. "
        "The body is limited to DATA_UPLOAD_MAX_MEMORY_BYTES (1 MiB by default; 413 beyond)."
    ),
)
def create_visits(request: HttpRequest, payload: VisitBatchIn):
    try:
        # One model_dump of the whole batch (pydantic-core walks it in one call), not one per item.
        results = services.record_visits([_visit_arguments(visit) for visit in payload.model_dump()["visits"]])
    except services.BatchError as exc:
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        return Status(422, {"detail": f"Invalid input: {summary}", "errors": exc.errors})
    created = sum(1 for _, new in results if new)
    # Answered as built: ninja's validation of a thousand-item answer against VisitBatchOut cost
    # a third of the request's CPU (bench/visits_batch.py); the test suite checks the shape.
    body = {"created": created, "visits": [{"id": pk, "created": new} for pk, new in results]}
    return HttpResponse(json.dumps(body), status=201 if created else 200, content_type="application/json")


class InquiryIn(StrictSchema):
    email: Email
    name: Text(200) = ""
    phone: Text(40) = ""
    channel: InquiryChannel
    kind: InquiryKind = InquiryKind.QUESTION
    body: Text(20_000, min_length=1)
    opened_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    external_ref: Text(100) = ""


class InquiryOut(StrictSchema):
    id: int
    subject_id: int
    created: bool


class CloseIn(StrictSchema):
    closed_at: Timestamp | None = None


@router.post(
    "/inquiries",
    auth=ApiKey(ApiScope.INQUIRIES_WRITE),
    response={200: InquiryOut, 201: InquiryOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Record a customer-service inquiry, complaint or dispute (policy 1.2.1)",
)
def create_inquiry(request: HttpRequest, payload: InquiryIn):
    try:
        inquiry, created = services.record_inquiry(**payload.model_dump())
    except services.SubjectError as exc:
        raise HttpError(422, str(exc)) from None
    return Status(201 if created else 200, {"id": inquiry.pk, "subject_id": inquiry.subject_id, "created": created})


@router.post(
    "/inquiries/{inquiry_id}/close",
    auth=ApiKey(ApiScope.INQUIRIES_WRITE),
    response={200: InquiryOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Close an inquiry; a complaint's 3-year retention runs from here",
)
def close_inquiry(request: HttpRequest, inquiry_id: int, payload: CloseIn):
    try:
        inquiry = services.close_inquiry(inquiry_id=inquiry_id, closed_at=payload.closed_at)
    except services.RecordNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except services.SubjectError as exc:
        raise HttpError(422, str(exc)) from None
    return Status(200, {"id": inquiry.pk, "subject_id": inquiry.subject_id, "created": False})
