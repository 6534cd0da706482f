"""The JSON API used by the company's other services, with its schema at /api/openapi.json.

Composition only: the apps' routers are mounted here, and the exception handlers turn bad input
into a 4xx with a message a person can read. The key check is `audit.api_auth.ApiKey`.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from consent.api import router as consent_router
from privacyops.lib.api_errors import field_errors
from subjects.api import router as subjects_router
from thirdparty.api import router as thirdparty_router

api = NinjaAPI(
    title="privacyops API",
    version="1",
    description="Record visits and inquiries, record and read consent, receive vendor webhooks.",
    urls_namespace="api",
)
api.add_router("/", subjects_router)
api.add_router("/", consent_router)
api.add_router("/", thirdparty_router)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = field_errors(exc.errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return api.create_response(request, {"detail": f"Invalid input: {summary}", "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(request, {"detail": "A valid X-API-Key header is required."}, status=401)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return api.create_response(request, {"detail": "The request body is too large."}, status=413)
