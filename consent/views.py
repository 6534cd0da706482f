"""Public pages: the banner script, the GPC support resource and the preference page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from privacyops.lib import hooks
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


def _subject_or_error(token: str):
    """(subject, None) for a valid preference link, else (None, the error page)."""
    try:
        return services.subject_from_token(token), None
    except services.LinkExpired:
        return None, {"message": _("This link has expired. Use the link in a more recent email."), "status": 410}
    except services.LinkInvalid:
        return None, {"message": _("This link is not valid."), "status": 400}


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """See and change each consent. Reached from the signed link in every email; withdrawing is
    one click (one POST button per consent, no confirmation step)."""
    subject, error = _subject_or_error(token)
    if error:
        return render(request, "consent/link_invalid.html", {"message": error["message"]}, status=error["status"])
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
    context = {"rows": rows, "others": others, "restricted": subject.processing_restricted, "gpc": gpc}
    context["accounts"] = hooks.connected_accounts(subject_id=subject.pk)
    context["token"] = token
    return render(request, "consent/preferences.html", context)


@never_cache
@require_POST
def disconnect_account(request: HttpRequest, token: str, account_id: int) -> HttpResponse:
    """Disconnect an outside account (YouTube) from the person's own preference page: a first
    POST asks for confirmation, the second (confirm=yes) disconnects. Only the link's own
    person's accounts: any other id is a 404, whoever's it is."""
    subject, error = _subject_or_error(token)
    if error:
        return render(request, "consent/link_invalid.html", {"message": error["message"]}, status=error["status"])
    not_found = {"message": _("This connected account was not found.")}
    if request.POST.get("confirm") != "yes":
        accounts = hooks.connected_accounts(subject_id=subject.pk)
        account = next((a for a in accounts if a["id"] == account_id), None)
        if account is None:
            return render(request, "consent/link_invalid.html", not_found, status=404)
        return render(request, "consent/disconnect_confirm.html", {"account": account, "token": token})
    if not hooks.disconnect_account(subject_id=subject.pk, account_id=account_id):
        return render(request, "consent/link_invalid.html", not_found, status=404)
    messages.success(
        request,
        _("Your account is disconnected: we deleted the statistics read through it and revoke our access at Google."),
    )
    return redirect("consent:preferences", token=token)


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
