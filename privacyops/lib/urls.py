"""Links that leave the site (emails, vendor callbacks) are absolute: SITE_URL + the path."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` as returned by reverse() (it starts with "/"), on the public site's address."""
    return f"{settings.SITE_URL}{path}"
