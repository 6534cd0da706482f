"""Who a person may turn to: the privacy officer (policy 6.1) and the institutions of policy 6.2,
as the request notices (dsar) print them, in the notice's language.

The records are the ones the public policy shows (seeded from the policy text of 2025-01-02 by
migration 0002 and kept by staff in the admin), so a notice and the policy page cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from privacyops.lib.i18n import pick

from .models import ComplaintInstitution, PrivacyOfficer


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str
    url: str = ""
    email: str = ""


def complaint_institutions(language: str | None = None) -> list[Contact]:
    return [
        Contact(pick(row, "name", language), row.phone, row.url)
        for row in ComplaintInstitution.objects.filter(active=True).order_by("sort_order", "pk")
    ]


def privacy_officer(language: str | None = None) -> Contact | None:
    """The first officer on the page; None only while staff have removed every officer."""
    row = PrivacyOfficer.objects.order_by("sort_order", "pk").first()
    if row is None:
        return None
    name = pick(row, "name", language)
    position = pick(row, "position", language)
    return Contact(f"{name} ({position})" if position else name, row.phone, email=row.email)
