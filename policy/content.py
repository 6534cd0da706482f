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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext

from consent.models import CookieCategory, Purpose
from datastores.services import declared_tables
from privacyops.lib import i18n
from retention.models import RetentionRule
from subjects.models import CollectionSource
from subjects.registry import DataCategory, registry
from thirdparty.models import Processor

from .models import ComplaintInstitution, PrivacyOfficer

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


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(queryset: models.QuerySet, fields: tuple[str, ...], *order: str) -> list[dict[str, Any]]:
    # An explicit order keeps the fingerprint stable whatever the model's default ordering is.
    return [{k: _plain(v) for k, v in row.items()} for row in queryset.order_by(*order, "pk").values(*fields)]


def _registered_model(label: str) -> type[models.Model] | None:
    """The registered model behind a label in the facts (None once it is no longer registered)."""
    entry = registry.entry_by_label(label)
    return entry.model if entry is not None else None


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


def collect_policy_facts() -> dict[str, Any]:
    """Everything the generated policy states, as plain data (no translated text)."""
    return {
        "registry": _registry_facts(),
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


def _field_label(model: type[models.Model], field: str) -> str:
    try:
        name = str(model._meta.get_field(field).verbose_name)
    except Exception:  # noqa: BLE001
        name = field.replace("_", " ")
    return name[:1].upper() + name[1:]


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


def _category_rows(registry_facts: list[dict[str, Any]]) -> list[_Row]:
    rows = []
    for category in DataCategory:
        entries = [e for e in registry_facts if e["category"] == category.value]
        if not entries:
            continue
        items: list[str] = []
        sources: set[str] = set()
        records: list[str] = []
        for entry in entries:
            model = _registered_model(entry["model"])
            sources.update(entry["sources"])
            if entry["model"].startswith("datastore:"):
                # A declared table of another system: its export labels are the items it holds.
                if entry.get("name") and entry["name"] not in records:
                    records.append(entry["name"])
                items.extend(label for label in entry["fields"] if label not in items)
                continue
            if model is None:
                continue
            records.append(_plural(model))
            for field in entry["fields"]:
                label = _field_label(model, field)
                if label not in items:
                    items.append(label)
        rows.append(
            _Row(
                key=category.value,
                label=str(category.label),
                items=items,
                records=records,
                sources=[str(s.label) for s in CollectionSource if s.value in sources],
            )
        )
    return rows


def _plural(model: type[models.Model]) -> str:
    name = str(model._meta.verbose_name_plural)
    return name[:1].upper() + name[1:]


def _rule_rows(facts: dict[str, Any]) -> list[_Row]:
    rows = []
    for rule in facts["retention_rules"]:
        bound = [e for e in facts["registry"] if rule.get("key") in e["rules"]]
        items: list[str] = []
        for entry in bound:
            model = _registered_model(entry["model"])
            if entry["model"].startswith("datastore:"):
                items.extend(label for label in entry["fields"] if label not in items)
                continue
            for field in entry["fields"] if model is not None else []:
                label = _field_label(model, field)
                if label not in items:
                    items.append(label)
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


def present(facts: dict[str, Any]) -> dict[str, Any]:
    """Display rows for the page, in the active language."""
    processors = _processor_rows(facts)
    return {
        "categories": _category_rows(facts["registry"]),
        "purposes": _simple_rows(facts["purposes"], Purpose),
        "cookie_categories": _simple_rows(facts["cookie_categories"], CookieCategory),
        "entrustees": [p for p in processors if p.kind != "provision"],
        "recipients": [p for p in processors if p.kind == "provision"],
        "overseas": [p for p in processors if p.overseas],
        "rules": _rule_rows(facts),
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
