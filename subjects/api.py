"""JSON endpoints for the company website (visits) and customer-service tools (inquiries)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

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
    device: DeviceIn = DeviceIn()
    subject_email: Email | None = None
    abnormal: bool = False
    abnormal_reason: Text(200) = ""


class CreatedOut(StrictSchema):
    id: int


class ErrorOut(StrictSchema):
    detail: str


@router.post(
    "/visits",
    auth=ApiKey(ApiScope.VISITS_WRITE),
    response={201: CreatedOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Record a visit to the service (policy 1.3)",
)
def create_visit(request: HttpRequest, payload: VisitIn):
    visit = services.record_visit(
        visited_at=payload.visited_at,
        subject_email=payload.subject_email,
        ip=payload.ip,
        user_agent=payload.user_agent,
        os=payload.device.os,
        screen_size=payload.device.screen_size,
        device_id=payload.device.device_id,
        phone_model=payload.device.phone_model,
        cookie_id=payload.cookie_id,
        path=payload.path,
        abnormal=payload.abnormal,
        abnormal_reason=payload.abnormal_reason,
    )
    return Status(201, {"id": visit.pk})


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
