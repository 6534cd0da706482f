"""The cookie banner's texts, version and notice hash.

The version is derived from the texts themselves (both languages, every category), so any
edit to a category in the admin or to a translation gives a new version: a choice made on an
older banner is asked again, and each record's notice hash names the exact text shown.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

LANGUAGES = ("ko", "en")
COOKIE_NAME = "palette_consent"


def banner_texts(language: str) -> dict:
    from .models import CookieCategory

    with translation.override(language):
        return {
            "title": _("Cookies on this website"),
            "body": _(
                "We use cookies that the website needs, and, only if you allow them, cookies that remember "
                "your settings, measure visits (Google Analytics) and measure advertising (Meta). You can "
                "change your choice at any time."
            ),
            "allowAll": _("Allow all"),
            "choose": _("Choose"),
            "rejectAll": _("Reject all"),
            "save": _("Save my choice"),
            "alwaysOn": _("Always on"),
            "gpcNotice": _(
                "Your browser sends a Global Privacy Control signal, so marketing cookies stay off unless "
                "you tick them yourself."
            ),
            "categories": [
                {
                    "key": category.key,
                    "name": category.localized_name,
                    "description": category.localized_description,
                    "alwaysOn": category.always_on,
                    "offUnderGpc": category.off_under_gpc,
                    "vendorTag": category.vendor_tag,
                }
                for category in CookieCategory.objects.order_by("position", "key")
            ],
        }


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def banner_version(texts: dict | None = None) -> str:
    texts = texts or {language: banner_texts(language) for language in LANGUAGES}
    return hashlib.sha256(_canonical(texts)).hexdigest()[:16]


def notice_sha256(language: str) -> str:
    return hashlib.sha256(_canonical(banner_texts(language))).hexdigest()


def banner_config(*, gpc_header: bool) -> dict:
    texts = {language: banner_texts(language) for language in LANGUAGES}
    return {
        "version": banner_version(texts),
        "texts": texts,
        "cookieName": COOKIE_NAME,
        "maxAgeSeconds": settings.CONSENT_COOKIE_MAX_AGE_DAYS * 86400,
        "endpointPath": "/api/consent/cookies",
        "gpcHeader": gpc_header,
        "ga": {"id": settings.GA_MEASUREMENT_ID, "src": settings.CONSENT_GA_SCRIPT_URL},
        "meta": {"id": settings.META_PIXEL_ID, "src": settings.CONSENT_META_SCRIPT_URL},
    }
