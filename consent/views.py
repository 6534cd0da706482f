"""Public pages: the banner script, the GPC support resource and the preference page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from privacyops.lib.http import client_ip

from . import banner, services
from .models import MARKETING, ConsentAction, ConsentChannel, ConsentState, Purpose

# The date this site began honouring Global Privacy Control (the spec's "lastUpdate").
GPC_LAST_UPDATE = "2026-11-29"


def gpc_signal(request: HttpRequest) -> bool:
    # The spec: the header's only valid value is "1"; absent means no preference expressed.
    return request.headers.get("Sec-GPC", "").strip() == "1"


def _js_json(value) -> str:
    # JSON inside JavaScript source: escape the characters that could end a script element.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@require_GET
@vary_on_headers("Sec-GPC")
@cache_control(public=True, max_age=300)
def banner_js(request: HttpRequest) -> HttpResponse:
    config = banner.banner_config(gpc_header=gpc_signal(request))
    response = render(request, "consent/banner.js", {"config": _js_json(config)}, content_type="text/javascript")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
@cache_control(public=True, max_age=86400)
def gpc_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"gpc": True, "lastUpdate": GPC_LAST_UPDATE})
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _client(request: HttpRequest) -> dict:
    return {"ip": client_ip(request), "user_agent": request.headers.get("User-Agent", "")[:512]}


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """See and change each consent. Reached from the signed link in every email; withdrawing is
    one click (one POST button per consent, no confirmation step)."""
    try:
        subject = services.subject_from_token(token)
    except services.LinkExpired:
        message = _("This link has expired. Use the link in a more recent email.")
        return render(request, "consent/link_invalid.html", {"message": message}, status=410)
    except services.LinkInvalid:
        return render(request, "consent/link_invalid.html", {"message": _("This link is not valid.")}, status=400)
    gpc = gpc_signal(request)
    if request.method == "POST":
        key, action = request.POST.get("purpose", ""), request.POST.get("action", "")
        purpose = Purpose.objects.filter(key=key, consent_required=True).first()
        if purpose is None or action not in ("grant", "withdraw"):
            return render(
                request, "consent/link_invalid.html", {"message": _("This request was not understood.")}, status=400
            )
        try:
            if action == "grant":
                event = services.grant_consent(
                    subject=subject,
                    purpose=purpose.key,
                    channel=ConsentChannel.PREFERENCE_PAGE,
                    notice_text=purpose.localized_description,
                    night_time=request.POST.get("night_time") == "on",
                    gpc=gpc,
                    **_client(request),
                )
                if event is None:
                    message = _("Your consent to “%(name)s” was already recorded; nothing changed.")
                elif event.action == ConsentAction.RECONFIRMED:
                    message = _("Thank you: your consent to “%(name)s” is re-confirmed for another two years.")
                else:
                    message = _("Thank you: your consent to “%(name)s” is recorded.")
                messages.success(request, message % {"name": purpose.localized_name})
            else:
                event = services.withdraw_consent(
                    subject=subject,
                    purpose=purpose.key,
                    channel=ConsentChannel.PREFERENCE_PAGE,
                    gpc=gpc,
                    **_client(request),
                )
                if event is None:
                    message = _("You had not consented to “%(name)s”; nothing changed.")
                else:
                    message = _("Your consent to “%(name)s” is withdrawn.")
                messages.success(request, message % {"name": purpose.localized_name})
        except services.ConsentError as exc:
            messages.error(request, str(exc))
        return redirect("consent:preferences", token=token)
    if gpc and services.honour_gpc_signal(subject=subject, **_client(request)):
        messages.info(
            request, _("Your browser sends a Global Privacy Control signal: we withdrew the consents it opts out of.")
        )
    states = {s.purpose_id: s for s in ConsentState.objects.filter(subject=subject)}
    rows = [
        {"purpose": purpose, "state": states.get(purpose.pk), "is_marketing_key": purpose.key == MARKETING}
        for purpose in Purpose.objects.filter(consent_required=True)
    ]
    others = Purpose.objects.filter(consent_required=False)
    return render(
        request,
        "consent/preferences.html",
        {"rows": rows, "others": others, "restricted": subject.processing_restricted, "gpc": gpc},
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """The opt-out link in marketing mail. GET shows one button (mail scanners fetch links, so a
    GET changes nothing); POST withdraws, also as RFC 8058's List-Unsubscribe-Post from a mail
    client, which carries no CSRF token: the signed token is the credential, and it can only opt out."""
    try:
        subject, purpose = services.opt_out_from_token(token)
    except services.LinkInvalid:
        return render(request, "consent/link_invalid.html", {"message": _("This link is not valid.")}, status=400)
    done = False
    if request.method == "POST":
        services.withdraw_consent(
            subject=subject, purpose=purpose.key, channel=ConsentChannel.EMAIL_LINK, **_client(request)
        )
        done = True
    return render(request, "consent/opt_out.html", {"purpose": purpose, "done": done})
