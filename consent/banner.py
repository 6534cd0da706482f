"""The cookie banner's texts, version and notice hash.

The version is derived from the texts themselves (both languages, every category), so any
edit to a category in the admin or to a translation gives a new version: a choice made on an
older banner is asked again, and each record's notice hash names the exact text shown.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import dataclass, fields

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from privacyops.lib.i18n import pick

LANGUAGES = ("ko", "en")
COOKIE_NAME = "palette_consent"


@dataclass(frozen=True)
class Category:
    """A cookie category's columns, as the banner needs them (hashable, so banners can be cached)."""

    key: str
    name: str
    name_ko: str
    description: str
    description_ko: str
    always_on: bool
    off_under_gpc: bool
    vendor_tag: str
    position: int


@dataclass(frozen=True)
class Banner:
    """The banner as the categories in the database make it now: texts, version, notice hashes."""

    categories: tuple[Category, ...]
    texts: dict[str, dict]
    version: str
    notice_sha256: dict[str, str]


def current(*, max_age: float = 0) -> Banner:
    """The banner built from the categories in the database. With max_age, a banner this server
    process read at most that many seconds ago will do: the cookie-choice endpoint takes it and
    reads again only when a posted version differs, since reading the categories cost a third of
    that request's CPU (bench/load_public.py). Editing a category empties this process's copy at
    once (consent/apps.py); other processes may accept the previous version for max_age seconds,
    recording that version and the hash of the text the visitor was actually shown."""
    from .models import CookieCategory

    global _last_read
    now = time.time()
    last_read = _last_read  # one read of the global: another thread may replace it meanwhile
    if max_age and last_read is not None and now - last_read[1] <= max_age:
        return last_read[0]
    rows = CookieCategory.objects.order_by("position", "key").values_list(*(f.name for f in fields(Category)))
    banner = _build(tuple(Category(*row) for row in rows))
    _last_read = (banner, now)
    return banner


_last_read: tuple[Banner, float] | None = None  # (banner, time.time() when read), per server process


def forget_last_read(**_signal_kwargs) -> None:
    global _last_read
    _last_read = None


@functools.lru_cache(maxsize=16)
def _build(categories: tuple[Category, ...]) -> Banner:
    texts = {language: _texts(language, categories) for language in LANGUAGES}
    return Banner(
        categories=categories,
        texts=texts,
        version=hashlib.sha256(_canonical(texts)).hexdigest()[:16],
        notice_sha256={language: hashlib.sha256(_canonical(texts[language])).hexdigest() for language in LANGUAGES},
    )


def _texts(language: str, categories: tuple[Category, ...]) -> dict:
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
            "policy": _("Privacy policy"),
            "gpcNotice": _(
                "Your browser sends a Global Privacy Control signal, so marketing cookies stay off unless "
                "you tick them yourself."
            ),
            "categories": [
                {
                    "key": category.key,
                    "name": pick(category, "name", language, english_fallback=False, korean_fallback=False),
                    "description": pick(
                        category, "description", language, english_fallback=False, korean_fallback=False
                    ),
                    "alwaysOn": category.always_on,
                    "offUnderGpc": category.off_under_gpc,
                    "vendorTag": category.vendor_tag,
                }
                for category in categories
            ],
        }


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def banner_version() -> str:
    return current().version


def notice_sha256(language: str) -> str:
    return current().notice_sha256[language]


def banner_config(*, gpc_header: bool) -> dict:
    state = current()
    return {
        "version": state.version,
        "texts": state.texts,
        "cookieName": COOKIE_NAME,
        "maxAgeSeconds": settings.CONSENT_COOKIE_MAX_AGE_DAYS * 86400,
        "endpointPath": "/api/consent/cookies",
        # The policy in force (DESIGN.md's stable public URL), on privacyops like the endpoint.
        "policyPath": "/privacy/",
        "gpcHeader": gpc_header,
        "ga": {"id": settings.GA_MEASUREMENT_ID, "src": settings.CONSENT_GA_SCRIPT_URL},
        "meta": {"id": settings.META_PIXEL_ID, "src": settings.CONSENT_META_SCRIPT_URL},
    }
