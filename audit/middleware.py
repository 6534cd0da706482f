from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from privacyops.lib.http import client_ip

from .context import acting


class AuditContextMiddleware:
    """Makes the acting account and its IP available to signal handlers (the rights log).

    `request.user` stays lazy: the account is loaded only when something is logged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting(_LazyUser(request), client_ip(request)):
            return self.get_response(request)


class _LazyUser:
    def __init__(self, request: HttpRequest):
        self._request = request

    def resolve(self):
        user = getattr(self._request, "user", None)
        return user if user is not None and user.is_authenticated else None


class ContentSecurityPolicyMiddleware:
    """Sends `CONTENT_SECURITY_POLICY` (set in production) on every response that has none."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = policy
        return response
