"""The public policy pages: the frozen text of the version in force, and the archive of frozen versions."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from privacyops.lib import hooks, i18n

from . import services
from .content import long_date
from .models import LABEL_PATTERN, PolicyVersion


def _language(request: HttpRequest) -> str:
    return i18n.language(getattr(request, "LANGUAGE_CODE", None) or "ko")


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """A public policy page; every one links to the cookie choices (the banner script)."""
    return render(request, template, {**context, "cookie_banner_url": services.cookie_banner_url()})


@require_safe
def policy_page(request: HttpRequest) -> HttpResponse:
    # Only the frozen text of the version in force: a record edited in the admin reaches this page
    # when a version stating it has been announced and has taken effect (policy 7, PC-04).
    version = services.current_version()
    if version is not None and not version.fingerprint:
        services.freeze_unfrozen_versions()
        version.refresh_from_db()
    document = version.frozen_html(_language(request)) if version else ""
    upcoming = [
        {"version": v, "effective_on": long_date(v.effective_at), "announced_on": long_date(v.announced_at)}
        for v in services.upcoming_versions()
    ]
    return _page(
        request,
        "policy/privacy.html",
        {
            "document": mark_safe(document),  # noqa: S308  (our own template's output)
            "version": version,
            "effective_on": long_date(version.effective_at) if version else "",
            "upcoming": upcoming,
            # Breach notices on the website (PIPA art. 34(3)); incidents provides them.
            "incident_postings": hooks.live_incident_postings(_language(request)),
        },
    )


@require_safe
def version_list(request: HttpRequest) -> HttpResponse:
    current = services.current_version()
    now = timezone.now()
    language = _language(request)
    rows = [
        {
            "version": v,
            "announced_on": long_date(v.announced_at),
            "effective_on": long_date(v.effective_at),
            "is_current": current is not None and v.pk == current.pk,
            "is_upcoming": v.effective_at > now,
            "summary": i18n.pick(v, "summary", language, korean_fallback=False),
        }
        for v in PolicyVersion.objects.announced().order_by("-effective_at", "-pk")
    ]
    return _page(request, "policy/versions.html", {"rows": rows})


@require_safe
def version_detail(request: HttpRequest, label: str) -> HttpResponse:
    if not LABEL_PATTERN.match(label):
        raise Http404("No such policy version.")
    version = PolicyVersion.objects.announced().filter(label=label).first()
    if version is None:
        raise Http404("No such policy version.")
    if not version.fingerprint:
        # The seed's text when post_migrate did not run (a database migrated before this app existed).
        services.freeze_unfrozen_versions()
        version.refresh_from_db()
    current = services.current_version()
    return _page(
        request,
        "policy/version.html",
        {
            "version": version,
            "document": mark_safe(version.frozen_html(_language(request))),  # noqa: S308  (frozen output of our template)
            "announced_on": long_date(version.announced_at),
            "effective_on": long_date(version.effective_at),
            "is_current": current is not None and current.pk == version.pk,
            "is_upcoming": version.effective_at > timezone.now(),
        },
    )
