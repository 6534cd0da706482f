"""The access package (PIPA art. 35, DSAR-03/11): everything the registry knows about one person.

Built from `subjects.registry.registry`, never from a hand-kept list of models: every registered
model's rows of this subject (its `export_fields` only), grouped by data category, as JSON and CSV,
plus what the subject may ask for besides the data itself: the purpose and retention rule of each
category, the processors the data went to, and the consent history. A readable HTML summary in
the requester's language opens the ZIP.

Every query is filtered by this subject's id through the registry's subject path; nothing of
another person can enter the package. The tables of the company's other databases that the data
map declares (datastores) come in the same way, found by the person's normalised email, phone or
customer key, each section named by its system.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent.models import ConsentAction, ConsentEvent, Purpose
from datastores.services import subject_sections
from retention.models import RetentionRule
from subjects.registry import DataCategory, registry
from thirdparty.models import DataTransfer, Processor, VendorErasureJob, VendorIdentity

# The most rows per model in one package; a person with more (years of visit logs) gets the newest.
MAX_ROWS_PER_MODEL = 100_000


@dataclass
class ModelSection:
    label: str  # "subjects.VisitLog"
    verbose_name: str
    fields: list[str]
    headers: list[str]
    rows: list[dict]
    truncated: bool = False
    retention: list[dict] = field(default_factory=list)


@dataclass
class CategorySection:
    key: str
    label: str
    models: list[ModelSection] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return sum(len(m.rows) for m in self.models)


@dataclass
class Package:
    reference: str
    built_at: datetime
    categories: list[CategorySection]
    processors: list[dict]
    counts: dict[str, int]
    # Rows left out under PIPA art. 35(4), by model label (staff see it in the timeline, the person not).
    withheld: dict[str, int] = field(default_factory=dict)


def _plain(value):
    """A value as it should read in the JSON and CSV: ISO times in Seoul, decimals as strings."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return "<binary>"
    return value


def _display(model: type[models.Model], name: str, value):
    """Choice fields read as their label (in the package's language)."""
    try:
        field_obj = model._meta.get_field(name)
    except Exception:  # a registry name that is not a concrete field (a property)
        return value
    choices = getattr(field_obj, "flatchoices", None)
    if choices and value is not None:
        return str(dict(choices).get(value, value))
    return value


def _retention_rules(keys: set[str]) -> dict[str, dict]:
    """Retention rules by key."""
    return {
        rule.key: {
            "rule": rule.key,
            "name": str(rule.name),
            "period": rule.period_display(),
            "legal_basis": str(rule.legal_basis),
            "law_article": str(rule.law_article),
        }
        for rule in RetentionRule.objects.filter(key__in=keys)
    }


def _model_section(
    entry, subject_id: int, rules: dict[str, dict], *, include_withheld: bool, withheld: dict[str, int]
) -> ModelSection:
    model = entry.model
    fields = list(entry.export_fields)
    headers = [str(model._meta.get_field(f).verbose_name) if _is_field(model, f) else f for f in fields]
    relations = [f for f in fields if _is_field(model, f) and model._meta.get_field(f).is_relation]
    queryset = entry.rows_of(subject_id)
    if entry.withheld_from_package is not None:
        held_back = queryset.filter(entry.withheld_from_package).count()
        if held_back:
            withheld[entry.label] = held_back
        if not include_withheld:
            queryset = queryset.exclude(entry.withheld_from_package)
    queryset = queryset.select_related(*relations).order_by("-pk")
    objects = list(queryset[: MAX_ROWS_PER_MODEL + 1])
    truncated = len(objects) > MAX_ROWS_PER_MODEL
    rows = []
    for obj in objects[:MAX_ROWS_PER_MODEL]:
        row = {}
        for name in fields:
            value = getattr(obj, name, None)
            # A related row reads as its name (a consent purpose), never as an internal id.
            row[name] = str(value) if isinstance(value, models.Model) else _plain(_display(model, name, value))
        rows.append(row)
    retention = []
    for binding in entry.retention:
        info = dict(rules.get(binding.rule) or {"rule": binding.rule})
        info["runs_from"] = str(model._meta.get_field(binding.runs_from).verbose_name)
        info["kept_after_erasure"] = binding.kept_after_erasure
        retention.append(info)
    return ModelSection(entry.label, entry.verbose_name, fields, headers, rows, truncated, retention)


def _is_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
        return True
    except Exception:
        return False


def _processors(subject_id: int, categories_held: set[str], purposes_granted: set[str]) -> list[dict]:
    """Every processor that received this person's data (PIPA art. 35: third-party provision status).

    The transfer log keeps counts, not people, so the answer is derived, whatever the legal basis:
    a processor that knows the person by an identifier we captured (a GA client id, a Meta user id)
    or that a vendor job named them to received them; so did a processor whose data categories the
    person has rows in, unless its syncs are gated on a consent the person never gave. A gate on a
    purpose that needs no consent (Google Analytics: legitimate interest) holds nobody back. Each
    comes with its latest logged transfer.
    """
    identity_vendors = set(VendorIdentity.objects.filter(subject_id=subject_id).values_list("vendor", flat=True))
    job_processors = set(VendorErasureJob.objects.filter(subject_id=subject_id).values_list("processor_id", flat=True))
    consent_gates = set(Purpose.objects.filter(consent_required=True).values_list("key", flat=True))
    out = []
    for processor in Processor.objects.order_by("name"):
        shared = set(processor.data_categories or [])
        named = bool(processor.connector and processor.connector in identity_vendors) or processor.pk in job_processors
        gate = processor.share_purpose
        gate_open = not gate or gate not in consent_gates or gate in purposes_granted
        if not named and not (shared & categories_held and gate_open):
            continue
        last = (
            DataTransfer.objects.filter(processor=processor)
            .order_by("-transferred_at")
            .values_list("transferred_at", flat=True)
            .first()
        )
        out.append(
            {
                "name": processor.name,
                "task": str(processor.entrusted_task),
                "country": str(processor.country),
                "retention": str(processor.retention_text),
                "data_categories": sorted(shared & categories_held) or sorted(shared),
                "last_transfer_at": _plain(last) if last else None,
            }
        )
    return out


def _purposes_granted(subject_id: int) -> set[str]:
    """Consent purpose keys this person ever granted."""
    return set(
        ConsentEvent.objects.filter(subject_id=subject_id, action=ConsentAction.GRANTED).values_list(
            "purpose__key", flat=True
        )
    )


def collect(*, subject_id: int, reference: str, include_withheld: bool = False) -> Package:
    """`include_withheld`: the officer's explicit choice to include the rows the registry withholds
    from the person's own package (PIPA art. 35(4)); without it they are left out and counted."""
    # Rows held about no one we can name (the suppression list's keyed hashes) belong to no package.
    entries = [entry for entry in registry.entries() if entry.linked_to_subject]
    withheld: dict[str, int] = {}
    rules = _retention_rules(registry.rule_keys())
    categories: dict[str, CategorySection] = {}
    labels = dict(DataCategory.choices)
    for entry in entries:
        section = categories.setdefault(
            entry.category, CategorySection(entry.category, str(labels.get(entry.category, entry.category)))
        )
        section.models.append(
            _model_section(entry, subject_id, rules, include_withheld=include_withheld, withheld=withheld)
        )
    # The company's other databases (the data map): the person's rows in every declared table,
    # labelled by system; a system that cannot be reached stops the package (DatastoreDown).
    for external in subject_sections(subject_id=subject_id):
        section = categories.setdefault(
            external.category, CategorySection(external.category, str(labels.get(external.category, external.category)))
        )
        info = dict(
            rules.get(external.rule) or _retention_rules({external.rule}).get(external.rule) or {"rule": external.rule}
        )
        info["runs_from"] = external.runs_from
        info["kept_after_erasure"] = external.kept_after_erasure
        section.models.append(
            ModelSection(
                external.label,
                external.name,
                external.fields,
                external.headers,
                external.rows,
                external.truncated,
                [info],
            )
        )
    held = {key for key, section in categories.items() if section.row_count}
    processors = _processors(subject_id, held, _purposes_granted(subject_id))
    ordered = [categories[key] for key in DataCategory.values if key in categories]
    ordered += [section for key, section in categories.items() if key not in DataCategory.values]
    counts = {m.label: len(m.rows) for c in ordered for m in c.models}
    return Package(reference, timezone.now(), ordered, processors, counts, withheld)


def _csv_bytes(section: ModelSection) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(section.headers)
    for row in section.rows:
        # A leading =, +, - or @ would run as a formula in a spreadsheet (CSV injection).
        writer.writerow([_csv_cell(row[f]) for f in section.fields])
    # The BOM makes spreadsheet programs read Korean text as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _slug(label: str) -> str:
    return label.replace(".", "_").lower()


def write_zip(package: Package, *, language: str, request_type_label: str, name: str) -> bytes:
    """The package as ZIP bytes: summary.html, data/<category>.json, data/<category>/<model>.csv,
    processors.json, retention.json."""
    buffer = io.BytesIO()
    with translation.override(language), zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for category in package.categories:
            document = {
                "category": category.key,
                "label": category.label,
                "records": {
                    m.label: {"name": m.verbose_name, "truncated": m.truncated, "rows": m.rows} for m in category.models
                },
            }
            archive.writestr(
                f"data/{category.key}.json", json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
            )
            for section in category.models:
                archive.writestr(f"data/{category.key}/{_slug(section.label)}.csv", _csv_bytes(section))
        archive.writestr(
            "processors.json",
            json.dumps(
                {"processors": package.processors},
                cls=DjangoJSONEncoder,
                ensure_ascii=False,
                indent=2,
            ),
        )
        retention = {
            m.label: {"name": m.verbose_name, "rules": m.retention} for c in package.categories for m in c.models
        }
        archive.writestr("retention.json", json.dumps(retention, ensure_ascii=False, indent=2))
        summary = render_to_string(
            "dsar/package_summary.html",
            {
                "package": package,
                "name": name,
                "request_type": request_type_label,
                "language": language,
                "title": _("Your personal data held by Palette Inc."),
            },
        )
        archive.writestr("summary.html", summary)
    return buffer.getvalue()
