"""Public pages of policy section 3: the status page a Meta data-deletion callback points to, and
connecting a YouTube account (Google's OAuth 2.0 web-server flow)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import services
from . import youtube_connect as youtube_connect_flow


@never_cache
@require_GET
def meta_deletion_status(request, code: str):
    deletion = services.meta_deletion_status(confirmation_code=code)
    context = {"deletion": deletion, "contact": settings.DEFAULT_FROM_EMAIL}
    return render(request, "thirdparty/meta_deletion_status.html", context, status=200 if deletion else 404)


YOUTUBE_SESSION_KEY = "youtube_connect"


def _youtube_callback_uri(request) -> str:
    return request.build_absolute_uri(reverse("thirdparty:youtube_callback"))


@never_cache
@require_http_methods(["GET", "POST"])
def youtube_connect(request):
    """The page the company links to: the notice, and a button that goes to Google."""
    token = request.POST.get("t") or request.GET.get("t", "")
    subject = youtube_connect_flow.subject_for_link(token)
    if subject is None:
        context = {"error": _("This connection link is not valid or has expired.")}
        return render(request, "thirdparty/youtube_connect.html", context, status=400)
    if request.method == "POST":
        url, pending = youtube_connect_flow.start_youtube_connect(
            subject=subject, redirect_uri=_youtube_callback_uri(request)
        )
        request.session[YOUTUBE_SESSION_KEY] = pending
        return redirect(url)
    context = {"notice": youtube_connect_flow.connect_notice(), "token": token}
    return render(request, "thirdparty/youtube_connect.html", context)


@never_cache
@require_GET
def youtube_callback(request):
    pending = request.session.pop(YOUTUBE_SESSION_KEY, None)
    try:
        youtube_connect_flow.finish_youtube_connect(
            pending=pending,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
            redirect_uri=_youtube_callback_uri(request),
        )
    except youtube_connect_flow.YouTubeConnectError as exc:
        status = {"invalid": 400, "refused": 200, "configuration": 503, "unavailable": 502}[exc.kind]
        return render(request, "thirdparty/youtube_connect.html", {"error": str(exc), "kind": exc.kind}, status=status)
    return render(request, "thirdparty/youtube_connect.html", {"connected": True})
