"""The breach notice on the website (PIPA art. 34(3); Enforcement Decree art. 39(3) and 40(3)).

When some affected people cannot be reached (no contact details), or 1,000 or more are affected,
the notice is also posted on the website for at least 30 days. The posting is public, under
/privacy/incidents/, linked from the policy page (through the hook `live_incident_postings`), and
shows the incident's notice items only: no affected person's data. Taking it down before its 30
days have passed is refused here, and by a check constraint in the database.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from policy.content import long_date
from privacyops.lib.actors import require_permission, user_or_none

from .models import EventKind, Incident, IncidentEvent, IncidentPosting
from .notices import PERMISSION, notice_context, unreachable_count


class PostingError(Exception):
    """A posting step refused; the message is for the officer."""


def posting_trigger_holds(incident: Incident) -> bool:
    """1,000 or more affected, or some affected people without contact details."""
    return incident.posting_required or unreachable_count(incident) > 0


def live_posting(incident: Incident) -> IncidentPosting | None:
    return IncidentPosting.objects.filter(incident=incident, removed_at__isnull=True).first()


def post_incident_notice(*, incident: Incident, actor) -> IncidentPosting:
    """Put the notice on the website (once per incident) for at least INCIDENT_POSTING_MIN_DAYS."""
    require_permission(actor, PERMISSION, error=PostingError)
    existing = IncidentPosting.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            posting = IncidentPosting.objects.create(
                incident=incident,
                # Not the internal reference: a random address says nothing about the register.
                slug=secrets.token_urlsafe(9).replace("_", "x").replace("-", "y").lower(),
                posted_at=now,
                removable_after=now + timedelta(days=settings.INCIDENT_POSTING_MIN_DAYS),
                posted_by=user_or_none(actor),
            )
            IncidentEvent.objects.create(
                incident=incident,
                kind=EventKind.POSTED,
                actor=user_or_none(actor),
                reference=posting.slug,
                note=gettext("Posted on the website until at least %(date)s.")
                % {"date": long_date(posting.removable_after)},
            )
    except IntegrityError:
        return IncidentPosting.objects.get(incident=incident)
    return posting


def take_down_posting(*, posting: IncidentPosting, actor) -> IncidentPosting:
    """Remove the posting from the website; refused before its 30 days are over."""
    require_permission(actor, PERMISSION, error=PostingError)
    now = timezone.now()
    if posting.removed_at is not None:
        raise PostingError(gettext("This posting has already been taken down."))
    if now < posting.removable_after:
        raise PostingError(
            gettext(
                "The notice must stay on the website for at least %(days)s days (Enforcement Decree art. 39(3)): "
                "it can be taken down from %(date)s."
            )
            % {"days": settings.INCIDENT_POSTING_MIN_DAYS, "date": long_date(posting.removable_after)}
        )
    with transaction.atomic():
        updated = IncidentPosting.objects.filter(pk=posting.pk, removed_at__isnull=True).update(
            removed_at=now, removed_by=user_or_none(actor)
        )
        if updated:
            IncidentEvent.objects.create(
                incident=posting.incident,
                kind=EventKind.NOTE,
                actor=user_or_none(actor),
                reference=posting.slug,
                note=gettext("Website posting taken down."),
            )
    posting.refresh_from_db()
    return posting


def posting_title(incident: Incident) -> str:
    """The public title, in the active language: the company and the date, never the incident's
    internal title (which may name systems or people)."""
    return gettext("Notice of a personal data breach (%(date)s)") % {"date": long_date(incident.aware_at)}


def live_postings(language: str | None = None) -> list[dict]:
    """The hook `live_incident_postings`: the postings up now, newest first, for the policy page."""
    rows = IncidentPosting.objects.filter(removed_at__isnull=True).select_related("incident").order_by("-posted_at")
    with translation.override(language or translation.get_language() or "ko"):
        return [
            {
                "title": posting_title(p.incident),
                "url": reverse("incidents:posting", args=[p.slug]),
                "posted_on": long_date(p.posted_at),
            }
            for p in rows
        ]


def posting_page_context(posting: IncidentPosting, language: str) -> dict:
    context = notice_context(posting.incident, language)
    context.update(
        {
            "title": posting_title(posting.incident),
            "posted_on": long_date(posting.posted_at),
            "removed": posting.removed_at is not None,
            "removed_on": long_date(posting.removed_at) if posting.removed_at else "",
        }
    )
    return context
