"""The JSON API used by the company's other services, with its schema at /api/openapi.json.

Composition only: the apps' routers are mounted here, and the exception handlers turn bad input
into a 4xx with a message a person can read. The key check is `audit.api_auth.ApiKey`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.urls import reverse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.openapi.views import openapi_view

from consent.api import router as consent_router
from privacyops.lib.api_errors import field_errors
from subjects.api import router as subjects_router
from thirdparty.api import router as thirdparty_router


def _docs_for_staff(view):
    """/api/docs (the interactive console) only for signed-in staff (with their second factor)
    when DEBUG is off. Ninja wraps the schema with the same decorator; /api/openapi.json stays
    public, as the other services and the fuzz test read it and it holds no data."""
    if getattr(view, "func", None) is not openapi_view:
        return view

    def docs(request, *args, **kwargs):
        if settings.DEBUG or admin.site.has_permission(request):
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))

    return docs


api = NinjaAPI(
    title="privacyops API",
    version="1",
    description="Record visits and inquiries, record and read consent, receive vendor webhooks.",
    urls_namespace="api",
    docs_decorator=_docs_for_staff,
)
api.add_router("/", subjects_router)
api.add_router("/", consent_router)
api.add_router("/", thirdparty_router)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = field_errors(exc.errors)
    summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors[:10])
    if len(errors) > 10:  # a batch of a thousand bad items: the list has them all
        summary += f"; and {len(errors) - 10} more"
    return api.create_response(request, {"detail": f"Invalid input: {summary}", "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(request, {"detail": "A valid X-API-Key header is required."}, status=401)


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return api.create_response(request, {"detail": "The request body is too large."}, status=413)
