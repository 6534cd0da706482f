"""Names the admin shows for the third-party apps' models (django-axes, django-celery-beat), which
ship no Korean: listed here so scripts/extract_messages.py puts them in the project catalogue
(locale/, which LOCALE_PATHS reads before the apps' own). The names those apps do not mark for
translation at all are set in privacyops.adminconfig."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

LABELS = [
    _("access attempts"),
    _("access failures"),
    _("access logs"),
    _("clocked"),
    _("crontabs"),
    _("intervals"),
    _("periodic tasks"),
    _("solar events"),
]
SIGN_IN_LOCKOUT = _("Sign-in lockout")
TOTP_DEVICE = _("TOTP device")
TOTP_DEVICES = _("TOTP devices")
