"""What the privacy policy says, read from the records the system enforces.

`collect_policy_facts()` reads the registry and the other apps' records into plain,
language-neutral data (keys and stored values). Its hash is the version's fingerprint, so the
"out of date" check compares exactly what the page would show. `present()` turns the facts into
display rows under the active language; the page template renders only those.

The other apps' models are imported (policy sits above consent, thirdparty and retention) and
read through explicit field lists: a renamed field fails here, loudly, instead of emptying a
section of the published policy.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_lazy, pgettext

from audit.models import ApprovalKind
from audit.roles import ROLES
from consent.models import CookieCategory, Purpose
from datastores.services import declared_tables
from privacyops.lib import i18n
from privacyops.lib.crypto import EncryptedTextField
from retention.models import RetentionRule
from subjects.models import CollectionSource
from subjects.registry import DataCategory, registry
from thirdparty.models import Processor

from .models import CollectedItem, ComplaintInstitution, PrivacyOfficer

# The fields each record contributes to the page. Bookkeeping fields (contract files, checklists,
# timestamps, locks) are left out on purpose: editing them must not mark the policy out of date.
PURPOSE_FIELDS = (
    "key",
    "name",
    "name_ko",
    "description",
    "description_ko",
    "policy_clause",
    "legal_basis",
    "consent_required",
    "is_marketing",
    "position",
)
COOKIE_CATEGORY_FIELDS = (
    "key",
    "name",
    "name_ko",
    "description",
    "description_ko",
    "always_on",
    "position",
)
PROCESSOR_FIELDS = (
    "name",
    "kind",
    "entrusted_task",
    "entrusted_task_ko",
    "entrusted_task_en",
    "data_categories",
    "retention_text",
    "retention_text_ko",
    "retention_text_en",
    "re_entrustees",
    "country",
    "transfers_overseas",
    "overseas_transfer_details",
    "transfer_contact",
    "transfer_basis_ko",
    "transfer_basis_en",
    "transferred_items_ko",
    "transferred_items_en",
    "transfer_method_ko",
    "transfer_method_en",
)
RETENTION_RULE_FIELDS = (
    "key",
    "name",
    "period_value",
    "period_unit",
    "runs_from",
    "action",
    "legal_basis",
    "law_article",
    "set_by_company",
    "public_name_ko",
    "public_name_en",
    "public_runs_from_ko",
    "public_runs_from_en",
)
OFFICER_FIELDS = (
    "name_ko",
    "name_en",
    "position_ko",
    "position_en",
    "department_ko",
    "department_en",
    "phone",
    "email",
)
INSTITUTION_FIELDS = ("name_ko", "name_en", "phone", "url")
COLLECTED_ITEM_FIELDS = ("purpose__key", "category", "items_ko", "items_en", "position")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(queryset: models.QuerySet, fields: tuple[str, ...], *order: str) -> list[dict[str, Any]]:
    # An explicit order keeps the fingerprint stable whatever the model's default ordering is.
    return [{k: _plain(v) for k, v in row.items()} for row in queryset.order_by(*order, "pk").values(*fields)]


def _registry_facts() -> list[dict[str, Any]]:
    # Registration order follows INSTALLED_APPS, so it is stable and puts the core records first.
    return [
        {
            "model": entry.label,
            "category": entry.category,
            "sources": list(entry.sources),
            "fields": list(entry.export_fields),
            "rules": sorted({r.rule for r in entry.retention}),
        }
        for entry in registry.entries()
    ] + _external_facts()


def _external_facts() -> list[dict[str, Any]]:
    """The tables of the company's other databases the data map declares (datastores), stated like
    our own models: their category, source, exported items (by label) and rule. None declared, no
    facts added (so the fingerprint of a map-less install does not change)."""
    return [
        {
            "model": f"datastore:{table.label}",
            "category": table.category,
            "sources": [table.source],
            "fields": list(table.export_map.values()),
            "rules": [table.rule.key],
            "name": table.system.name,
        }
        for table in declared_tables()
    ]


def _cooloff_minutes(value: Any) -> int:
    """django-axes' cool-off: hours as a number, or a timedelta (a callable is not stated)."""
    if isinstance(value, timedelta):
        return round(value.total_seconds() / 60)
    if isinstance(value, int | float):
        return round(value * 60)
    return 0


def _safety_facts() -> dict[str, Any]:
    """What the product does to protect personal data (policy 5), read from its settings and code,
    so the page describes the measures that run and changes when they do."""
    installed = set(settings.INSTALLED_APPS)
    middleware = set(settings.MIDDLEWARE)
    return {
        # Columns stored as Fernet ciphertext (privacyops.lib.crypto, MultiFernet key rotation).
        "encrypted_fields": sorted(
            f"{model._meta.label}.{f.name}"
            for model in apps.get_models()
            for f in model._meta.concrete_fields
            if isinstance(f, EncryptedTextField)
        ),
        "access_log_chained": bool(getattr(settings, "ACCESS_LOG_CHAIN_KEY", "")),
        "access_log_retention_days": int(getattr(settings, "AUDIT_ACCESS_LOG_RETENTION_DAYS", 0)),
        "staff_totp": "django_otp.plugins.otp_totp" in installed
        and "django_otp.middleware.OTPMiddleware" in middleware,
        "lockout_failures": int(getattr(settings, "AXES_FAILURE_LIMIT", 0)) if "axes" in installed else 0,
        "lockout_minutes": _cooloff_minutes(getattr(settings, "AXES_COOLOFF_TIME", 0)),
        "session_idle_minutes": int(settings.SESSION_COOKIE_AGE) // 60,
        "roles": list(ROLES),
        "four_eyes": [kind.value for kind in ApprovalKind],
    }


def collect_policy_facts() -> dict[str, Any]:
    """Everything the generated policy states, as plain data (no translated text)."""
    return {
        "registry": _registry_facts(),
        "collected_items": _rows(CollectedItem.objects.filter(active=True), COLLECTED_ITEM_FIELDS, "position"),
        "purposes": _rows(Purpose.objects.all(), PURPOSE_FIELDS, "position"),
        "cookie_categories": _rows(CookieCategory.objects.all(), COOKIE_CATEGORY_FIELDS, "position"),
        "processors": _rows(Processor.objects.filter(active=True), PROCESSOR_FIELDS),
        "retention_rules": _rows(RetentionRule.objects.filter(active=True), RETENTION_RULE_FIELDS),
        "officers": [
            {k: getattr(o, k) for k in OFFICER_FIELDS} for o in PrivacyOfficer.objects.order_by("sort_order", "pk")
        ],
        "institutions": [
            {k: getattr(i, k) for k in INSTITUTION_FIELDS}
            for i in ComplaintInstitution.objects.filter(active=True).order_by("sort_order", "pk")
        ],
        "safety": _safety_facts(),
        # What section 6 promises: the answer's deadline and the optional rights offered (DSAR-09).
        "rights": {
            "due_days": int(getattr(settings, "DSAR_DUE_DAYS", 10)),
            "optional_types": sorted(getattr(settings, "DSAR_OPTIONAL_REQUEST_TYPES", []) or []),
        },
    }


def fingerprint(facts: dict[str, Any]) -> str:
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- presentation ---------------------------------------------------------------------------


class _Row(dict):
    """A dict the template can read with dots, and `i18n.pick` with `_ko`/`_en` suffixes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _text(row: dict[str, Any], field: str) -> str:
    """The row's text for the active language.

    Korean: `<field>_ko`, else the English text through the catalogue (the seeded English
    wording of other apps' records has Korean translations in policy's catalogue; text staff
    typed themselves is shown as typed). English: `<field>_en` or `<field>`, else `<field>_ko`.
    """
    korean = i18n.language() == "ko"
    ko = row.get(f"{field}_ko") or ""
    en = row.get(f"{field}_en") or row.get(field) or ""
    if not isinstance(en, str):
        return en
    if korean:
        return ko or (gettext(en) if en else "")
    return en or ko


def _choice(model: type[models.Model], field: str, value: Any) -> str:
    if value in (None, ""):
        return "" if value is None else str(value)
    choices = dict(model._meta.get_field(field).flatchoices)
    return str(choices.get(value, value))


def period_text(value: int, unit: str) -> str:
    # Two msgids rather than ngettext: Korean has one form, and the catalogue tools here
    # (scripts/extract_messages.py) handle singular strings only.
    one = value == 1
    if unit == "years":
        text = gettext("%(n)d year") if one else gettext("%(n)d years")
    elif unit == "months":
        text = gettext("%(n)d month") if one else gettext("%(n)d months")
    elif unit == "days":
        text = gettext("%(n)d day") if one else gettext("%(n)d days")
    else:
        return f"{value} {unit}"
    return text % {"n": value}


# "(visited_at)": the field a period runs from is for staff; the page says it in words.
_FIELD_NAME = re.compile(r"\s*\([a-z]+(?:_[a-z]+)+\)")


def long_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    # The format is translated: "January 2, 2025" in English, "2025년 1월 2일" in Korean.
    return formats.date_format(value, pgettext("long date format", "F j, Y"))


def _public_items(facts: dict[str, Any], categories: set[str], *, required_only: bool = False) -> list[str]:
    """The public texts of the items collected in these registry categories, in the active language
    (`required_only`: leave out items collected only on a consent, which no statute keeps)."""
    optional = {p.get("key") for p in facts.get("purposes", []) if p.get("consent_required")}
    out: list[str] = []
    for item in facts.get("collected_items", []):
        if required_only and item.get("purpose__key") in optional:
            continue
        if item["category"] in categories:
            text = i18n.pick(_Row(item), "items")
            if text and text not in out:
                out.append(text)
    return out


def _category_rows(facts: dict[str, Any]) -> list[_Row]:
    rows = []
    for category in DataCategory:
        entries = [e for e in facts["registry"] if e["category"] == category.value]
        if not entries:
            continue
        sources: set[str] = set()
        for entry in entries:
            sources.update(entry["sources"])
        rows.append(
            _Row(
                key=category.value,
                label=str(category.label),
                items=_public_items(facts, {category.value}),
                sources=[str(s.label) for s in CollectionSource if s.value in sources],
            )
        )
    return rows


def _purpose_item_rows(facts: dict[str, Any]) -> list[_Row]:
    """Items collected grouped by purpose, each group required or optional (policy 1.1).

    Optional when the purpose needs consent: the person may refuse and still use the rest of the
    service. Required otherwise, and for the records the law makes the Company keep (no purpose).
    """
    category_labels = {c.value: str(c.label) for c in DataCategory}
    groups = []
    for purpose in [*facts["purposes"], None]:
        key = purpose.get("key") if purpose else None
        items = [i for i in facts.get("collected_items", []) if i.get("purpose__key") == key]
        if not items:
            continue
        groups.append(
            _Row(
                name=_text(purpose, "name") if purpose else gettext("Records the law requires the Company to keep"),
                required=not (purpose and purpose.get("consent_required")),
                items=[
                    _Row(category=category_labels.get(i["category"], ""), text=i18n.pick(_Row(i), "items"))
                    for i in items
                ],
            )
        )
    return groups


def _rule_rows(facts: dict[str, Any]) -> list[_Row]:
    rows = []
    for rule in facts["retention_rules"]:
        bound = [e for e in facts["registry"] if rule.get("key") in e["rules"]]
        items = _public_items(facts, {e["category"] for e in bound}, required_only=True)
        rows.append(
            _Row(
                key=rule.get("key", ""),
                name=i18n.pick(_Row(rule), "public_name") or _text(rule, "name"),
                period=period_text(rule.get("period_value") or 0, rule.get("period_unit") or ""),
                runs_from=i18n.pick(_Row(rule), "public_runs_from")
                or _text({"runs_from": _FIELD_NAME.sub("", rule.get("runs_from") or "")}, "runs_from"),
                action=_choice(RetentionRule, "action", rule.get("action")),
                # The rule's reasoning in words is for staff; the page cites the law and article.
                law_article=_text(rule, "law_article") or _text(rule, "legal_basis"),
                set_by_company=bool(rule.get("set_by_company")),
                items=items,
            )
        )
    return rows


def _processor_rows(facts: dict[str, Any]) -> list[_Row]:
    category_labels = {c.value: str(c.label) for c in DataCategory}
    rows = []
    for p in facts["processors"]:
        rows.append(
            _Row(
                name=p.get("name", ""),
                kind=p.get("kind", "entrustment"),
                kind_label=_choice(Processor, "kind", p.get("kind")),
                task=_text(p, "entrusted_task"),
                retention=_text(p, "retention_text"),
                country=_text(p, "country"),
                overseas=bool(p.get("transfers_overseas")),
                overseas_details=_text(p, "overseas_transfer_details"),
                contact=p.get("transfer_contact") or "",
                basis=i18n.pick(_Row(p), "transfer_basis"),
                items_sent=i18n.pick(_Row(p), "transferred_items"),
                method=i18n.pick(_Row(p), "transfer_method"),
                categories=[category_labels.get(k, k) for k in p.get("data_categories") or []],
                re_entrustees=[line.strip() for line in (p.get("re_entrustees") or "").splitlines() if line.strip()],
            )
        )
    return rows


def _simple_rows(rows: list[dict[str, Any]], model: type[models.Model]) -> list[_Row]:
    out = []
    for row in rows:
        out.append(
            _Row(
                key=row.get("key", ""),
                name=_text(row, "name"),
                description=_text(row, "description"),
                clause=row.get("policy_clause", ""),
                legal_basis=_choice(model, "legal_basis", row.get("legal_basis")) if "legal_basis" in row else "",
                always_on=bool(row.get("always_on")),
            )
        )
    return out


# What each encrypted column holds, in words for the page. A column missing here is listed by the
# gate (missing_policy_items), so a new encrypted field cannot reach the page as a field name.
ENCRYPTED_FIELD_TEXTS = {
    "thirdparty.VendorErasureJob.identifiers": gettext_lazy(
        "the identifiers a processor needs to delete your data or stop using it"
    ),
    "thirdparty.OAuthGrant.access_token": gettext_lazy("the access keys of a connected YouTube account"),
    "thirdparty.OAuthGrant.refresh_token": gettext_lazy("the access keys of a connected YouTube account"),
}
# The staff roles (audit.roles) and the four-eyes steps (audit.ApprovalKind), in public words.
ROLE_TEXTS = {
    "privacy officer": gettext_lazy("the privacy officer"),
    "customer support": gettext_lazy("customer support"),
    "marketing": gettext_lazy("marketing"),
    "auditor": gettext_lazy("the internal auditor"),
}
FOUR_EYES_TEXTS = {
    "dsar.identity": gettext_lazy("confirming a requester's identity by staff"),
    "dsar.link_subject": gettext_lazy("matching a request to a person whose contact details differ"),
    "dsar.release_package": gettext_lazy("sending a copy of your personal information"),
    "dsar.erasure": gettext_lazy("carrying out an erasure"),
    "retention.hold_release": gettext_lazy("releasing data kept under a legal hold"),
}


def unexplained_safety_facts(safety: dict[str, Any]) -> list[str]:
    """Encrypted columns, roles and four-eyes steps the page has no public words for."""
    return [
        *(f for f in safety.get("encrypted_fields", []) if f not in ENCRYPTED_FIELD_TEXTS),
        *(r for r in safety.get("roles", []) if r not in ROLE_TEXTS),
        *(k for k in safety.get("four_eyes", []) if k not in FOUR_EYES_TEXTS),
    ]


def _unique(texts) -> list[str]:
    return list(dict.fromkeys(str(t) for t in texts))


def _safety(facts: dict[str, Any]) -> _Row | None:
    safety = facts.get("safety")
    if not safety:
        return None
    days = safety.get("access_log_retention_days") or 0
    return _Row(
        encrypted=_unique(
            ENCRYPTED_FIELD_TEXTS[f] for f in safety.get("encrypted_fields", []) if f in ENCRYPTED_FIELD_TEXTS
        ),
        access_log=bool(safety.get("access_log_chained")),
        access_log_years=days // 365 if days >= 365 else 0,
        access_log_days=days,
        totp=bool(safety.get("staff_totp")),
        lockout_failures=safety.get("lockout_failures") or 0,
        lockout_minutes=safety.get("lockout_minutes") or 0,
        session_idle_minutes=safety.get("session_idle_minutes") or 0,
        roles=_unique(ROLE_TEXTS[r] for r in safety.get("roles", []) if r in ROLE_TEXTS),
        four_eyes=_unique(FOUR_EYES_TEXTS[k] for k in safety.get("four_eyes", []) if k in FOUR_EYES_TEXTS),
    )


def present(facts: dict[str, Any]) -> dict[str, Any]:
    """Display rows for the page, in the active language."""
    processors = _processor_rows(facts)
    return {
        "categories": _category_rows(facts),
        "purpose_items": _purpose_item_rows(facts),
        "purposes": _simple_rows(facts["purposes"], Purpose),
        "cookie_categories": _simple_rows(facts["cookie_categories"], CookieCategory),
        "entrustees": [p for p in processors if p.kind != "provision"],
        "recipients": [p for p in processors if p.kind == "provision"],
        "overseas": [p for p in processors if p.overseas],
        "overseas_provision": any(p.overseas and p.kind == "provision" for p in processors),
        "rules": _rule_rows(facts),
        "safety": _safety(facts),
        "officers": [
            _Row(
                name=i18n.pick(_Row(o), "name"),
                position=i18n.pick(_Row(o), "position"),
                department=i18n.pick(_Row(o), "department"),
                phone=o["phone"],
                email=o["email"],
            )
            for o in facts["officers"]
        ],
        "institutions": [
            _Row(name=i18n.pick(_Row(i), "name"), phone=i["phone"], url=i["url"]) for i in facts["institutions"]
        ],
    }
