"""How staff pages name a person: the display name, else the email masked, never a bare id."""

from __future__ import annotations

from django.utils.translation import gettext


def mask_email(email: str | None) -> str:
    """ "al***@example.com": enough to tell two people apart on a staff page, not to write to them."""
    if not email or "@" not in email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:2]}***@{domain}"


def person_label(name: str | None, email: str | None = None, pk: int | None = None) -> str:
    """The person's display name, else the masked email, else "person N"."""
    name = (name or "").strip()
    if name:
        return name
    masked = mask_email(email)
    if masked:
        return masked
    return gettext("person %(id)s") % {"id": pk} if pk is not None else gettext("unknown person")
