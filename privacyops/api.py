"""The JSON API used by the company's other services, with its schema at /api/openapi.json.

Every app adds its router here. Bad input always gets a 4xx with a message a person can read.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyHeader

from audit.models import ApiClient

logger = logging.getLogger(__name__)


class ApiKey(APIKeyHeader):
    """`X-API-Key: <key>` of an active client holding `scope`."""

    param_name = "X-API-Key"

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiClient | None:
        client = ApiClient.objects.authenticate(key or "")
        if client is None:
            return None
        if not client.has_scope(self.scope):
            raise HttpError(403, f"This API key may not use this endpoint (it needs the scope '{self.scope}').")
        return client


api = NinjaAPI(
    title="privacyops API",
    version="1",
    description="Record visits and inquiries, record and read consent, receive vendor webhooks.",
    urls_namespace="api",
)


def _field_errors(errors: list[dict]) -> list[dict]:
    readable = []
    for error in errors:
        # Drop the request part ("body", "payload") and pydantic's internal union tags.
        parts = [str(part) for part in error.get("loc", ())]
        if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
            parts = parts[1:]
        if parts and parts[0] == "payload":
            parts = parts[1:]
        location = [part for part in parts if not any(c in part for c in "[(")]
        readable.append({"field": ".".join(location) or None, "message": error.get("msg", "is invalid")})
    return readable


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = _field_errors(exc.errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return api.create_response(request, {"detail": f"Invalid input: {summary}", "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(request, {"detail": "A valid X-API-Key header is required."}, status=401)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return api.create_response(request, {"detail": "The request body is too large."}, status=413)


def _add_routers() -> None:
    from subjects.api import router as subjects_router

    api.add_router("/", subjects_router)
    from consent.api import router as consent_router

    api.add_router("/", consent_router)
    from thirdparty.api import router as thirdparty_router

    api.add_router("/", thirdparty_router)


_add_routers()
