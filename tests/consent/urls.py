"""The project's URLs plus a stand-in company website and stand-in vendor tags, mounted only in
the browser tests (so nothing leaves the machine)."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path

from privacyops.urls import urlpatterns as project_urlpatterns

# The company website: a page on another origin that embeds the banner from privacyops.
PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Palette</title>
<script src="{banner}" defer></script></head>
<body><h1>Palette</h1><p>How We Craft Art with AI</p></body></html>"""


def company_page(request):
    banner = request.GET.get("banner", "/consent/banner.js")
    return HttpResponse(PAGE.format(banner=banner, lang=request.GET.get("lang", "ko")))


def fake_gtag(request):
    return HttpResponse("window.__gaLoaded = true;", content_type="text/javascript")


def fake_fbevents(request):
    return HttpResponse("window.__metaLoaded = true;", content_type="text/javascript")


urlpatterns = [
    path("test-site/", company_page),
    path("test-vendor/gtag.js", fake_gtag),
    path("test-vendor/fbevents.js", fake_fbevents),
    *project_urlpatterns,
]
