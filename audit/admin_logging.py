"""The admin's side of the access log (SA-06) that needs no other app: the entry for one admin
page or operation, and the form that asks why an export is made.

The wrapping of every personal-data ModelAdmin, which must ask the personal-data registry, lives
above audit, beside the registry (`subjects/admin_logging.py`).
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from privacyops.lib.http import client_ip

from .services import log_access


def log_admin_access(request: HttpRequest, *, action: str, subject_ids, object_repr: str, reason: str = ""):
    return log_access(
        user=request.user,
        ip=client_ip(request),
        action=action,
        subject_ids=subject_ids,
        object_repr=object_repr,
        reason=reason,
        path=request.path,  # no query string: searches may contain an email address
    )


class ExportReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the export"),
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy(
            'Why these records leave the system (e.g. "DSAR R-2026-0012" or the task it serves). '
            "The reason is kept in the access log and checked in the monthly review."
        ),
        error_messages={
            "required": gettext_lazy("Give the reason for this export; exports without a reason are refused."),
        },
    )
