"""The public breach notices (PIPA art. 34(3)): /privacy/incidents/ and one page per posting."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from policy.services import cookie_banner_url
from privacyops.lib import i18n

from .models import IncidentPosting
from .posting import live_postings, posting_page_context


def _language(request: HttpRequest) -> str:
    return i18n.language(getattr(request, "LANGUAGE_CODE", None) or "ko")


@require_safe
def posting_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "incidents/public/list.html",
        {"postings": live_postings(_language(request)), "cookie_banner_url": cookie_banner_url()},
    )


@require_safe
def posting_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # A taken-down posting is gone from the website: 404, as if it had never been there.
    posting = IncidentPosting.objects.filter(slug=slug, removed_at__isnull=True).select_related("incident").first()
    if posting is None:
        raise Http404("No such notice.")
    context = posting_page_context(posting, _language(request))
    return render(request, "incidents/public/detail.html", {**context, "cookie_banner_url": cookie_banner_url()})
