"""Processors without an API: the erasure request goes by email to the processor's contact, in
Korean, and staff record the processor's confirmation ("confirm received" in the admin)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .base import Outcome


def run(job, ids: dict) -> Outcome:
    processor = job.processor
    if not processor.contact_email:
        return Outcome("failed", error="The processor has no contact email.")
    with translation.override("ko"):
        context = {"job": job, "processor": processor, "identifiers": ids, "kind": job.get_kind_display()}
        subject_line = _("[Palette] Request to erase personal data (reference %(ref)s)") % {"ref": job.reference}
        body = render_to_string("thirdparty/erasure_email.txt", context)
    EmailMessage(subject_line, body, settings.DEFAULT_FROM_EMAIL, [processor.contact_email]).send()
    return Outcome("sent")
