"""Which failed sign-ins count together (django-axes' AXES_LOCKOUT_PARAMETERS, as a callable).

Failures count per account and address together: five wrong passwords for one account from the
company proxy's address lock that account from that address, not every colleague behind the same
proxy (axes' ["username", "ip_address"] means either one alone). An address that fails on many
accounts is spraying: once its failures on all accounts together reach
AXES_ADDRESS_FAILURE_LIMIT within the cool-off, the address is locked for every account.

An account is deliberately not locked on its own name alone: anyone on the internet could then
keep any officer out by typing wrong passwords for them. Guessing one account's password from many
addresses gains nothing without the TOTP code the admin also asks for.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _


def lockout_parameters(request_or_attempt, credentials=None) -> list:
    parameters: list = [["username", "ip_address"]]
    address = getattr(request_or_attempt, "axes_ip_address", None) or getattr(request_or_attempt, "ip_address", None)
    if address and failures_from_address(address) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
        parameters.append("ip_address")
    return parameters


def failures_from_address(address: str) -> int:
    """Failed sign-ins from this address on any account within the cool-off."""
    from axes.models import AccessAttempt  # not at import time: settings load this module's path

    # settings.AXES_COOLOFF_TIME is in hours (from AXES_COOLOFF_MINUTES).
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    attempts = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page (AXES_LOCKOUT_CALLABLE): the admin's own page frame, header and language,
    with how long the block lasts, until when, and who can lift it; 429 as axes answers by default.

    Another privacy officer is named as the way out only when there is one: the only officer,
    locked out, is shown the server command instead of being told to ask themself."""
    from django.contrib import admin
    from django.shortcuts import render

    username = str((credentials or {}).get("username") or request.POST.get("username") or "")[:150]
    context = {
        **admin.site.each_context(request),
        "title": _("Sign-in blocked"),
        "minutes": round(settings.AXES_COOLOFF_TIME * 60),
        "until": blocked_until(username, getattr(request, "axes_ip_address", None)),
        "other_officers": other_officers_exist(username),
        "is_officer": is_privacy_officer(username),
    }
    return render(request, "audit/locked_out.html", context, status=429)


def _officers():
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from .roles import PRIVACY_OFFICER

    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(groups__name=PRIVACY_OFFICER))
    )


def is_privacy_officer(username: str) -> bool:
    return bool(username) and _officers().filter(username=username).exists()


def other_officers_exist(username: str) -> bool:
    """Is there a privacy officer other than `username` who could remove the block in the admin?"""
    return _officers().exclude(username=username).exists()


def blocked_until(username: str, address: str | None):
    """When the block lifts by itself: the cool-off after the latest failure that counts."""
    from axes.models import AccessAttempt

    attempts = AccessAttempt.objects.filter(ip_address=address) if address else AccessAttempt.objects.none()
    latest = (
        attempts.filter(username=username).order_by("-attempt_time").first()
        or attempts.order_by("-attempt_time").first()
    )
    start = latest.attempt_time if latest else timezone.now()
    return start + timedelta(hours=settings.AXES_COOLOFF_TIME)
