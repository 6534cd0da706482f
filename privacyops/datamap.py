"""The data map: the personal-data registry drawn for people. Per registered model: what it
holds (category), where it comes from (source), the rule and period that destroy it, the
processors that receive that category, the policy section that states it, and how many rows there
are now. Counts only: no personal data, so viewing it writes no access log. In the active
language (the admin's language switch), database texts through privacyops.lib.i18n.pick."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from policy.content import period_text
from privacyops.lib.i18n import pick
from retention.models import RetentionRule
from subjects.models import CollectionSource
from subjects.registry import DataCategory, EraseMethod, registry
from thirdparty.models import Processor

# Where the policy states each category (section 1), and the sections every row shares.
CATEGORY_SECTION = {DataCategory.DEVICE_AND_USAGE: ("1.2", "s1-2")}
DEFAULT_SECTION = ("1.1", "s1-1")


def _changelist(model) -> str:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return ""


def build_data_map() -> list[dict]:
    rules = {rule.key: rule for rule in RetentionRule.objects.all()}
    processors = list(Processor.objects.active().order_by("name"))
    categories = dict(DataCategory.choices)
    sources = dict(CollectionSource.choices)
    rows = []
    for entry in sorted(registry.entries(), key=lambda e: (e.category, e.label)):
        periods = []
        for retention in entry.retention:
            rule = rules.get(retention.rule)
            periods.append(
                {
                    "key": retention.rule,
                    "name": (pick(rule, "public_name") or rule.name) if rule else retention.rule,
                    "period": period_text(rule.period_value, rule.period_unit) if rule else "",
                    "runs_from": (pick(rule, "public_runs_from") or rule.runs_from) if rule else "",
                    "active": bool(rule and rule.active),
                    "kept_after_erasure": retention.kept_after_erasure,
                    "part": retention.scope is not None,
                    "url": reverse("admin:retention_retentionrule_change", args=[rule.pk]) if rule else "",
                }
            )
        section, anchor = CATEGORY_SECTION.get(entry.category, DEFAULT_SECTION)
        rows.append(
            {
                "label": entry.label,
                "name": str(entry.model._meta.verbose_name_plural).capitalize(),
                "category": str(categories.get(entry.category, entry.category)),
                "sources": [str(sources.get(s, s)) for s in entry.sources],
                "periods": periods,
                "erase": str(dict(EraseMethod.choices).get(entry.erase.method, entry.erase.method)),
                "processors": [
                    {"name": p.name, "task": pick(p, "entrusted_task") or p.entrusted_task, "pk": p.pk}
                    for p in processors
                    if entry.category in (p.data_categories or [])
                ],
                "sections": [
                    {"number": section, "url": f"/privacy/#{anchor}"},
                    {"number": "4.1", "url": "/privacy/#s4-1"},
                ],
                "count": entry.model._default_manager.count(),
                "url": _changelist(entry.model),
            }
        )
    return rows


def data_map_view(request):
    if not request.user.has_perm("retention.view_retentionrule"):
        raise PermissionDenied
    from django.contrib import admin

    context = {
        **admin.site.each_context(request),
        "title": gettext("Data map: what personal data we hold, why, for how long, and who receives it"),
        "rows": build_data_map(),
    }
    return TemplateResponse(request, "admin/data_map.html", context)
