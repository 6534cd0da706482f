"""A database that is down or drops the connection gives a clear 503, never a 500 page."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        # The transaction was rolled back with the connection; drop it so the next request reconnects.
        connection.close_if_unusable_or_obsolete()
        # The route, not the path: paths of emailed links carry their tokens.
        route = getattr(request.resolver_match, "route", "") or "(unresolved)"
        logger.error("database unavailable during %s %s: %s", request.method, route, type(exception).__name__)
        message = _("The service is briefly unavailable and nothing you sent was saved. Please try again in a minute.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": message}, request=request), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
