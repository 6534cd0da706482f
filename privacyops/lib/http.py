"""Small request helpers shared by every app."""

from __future__ import annotations

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the socket peer, or behind TRUSTED_PROXY_COUNT proxies the
    X-Forwarded-For entry the outermost trusted proxy appended (earlier entries are whatever the
    client sent, so they are never trusted). None when it is not an IP address."""
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ip_address(candidate)) if candidate else None
    except ValueError:
        return None
