"""Access logging for the admin pages of personal-data models (SA-06), with no edit to the
other apps' admin files: the project's admin site (`privacyops/admin_site.py`) wraps each
ModelAdmin it registers with `instrument`, and every wrapper asks the personal-data registry at
request time whether the model holds personal data (the registry is filled from the apps'
`personal_data.py` modules in subjects' ready(), after admin modules are imported).

It lives beside the registry, not in audit: audit is the ground floor and knows no app, so the
access log is written from here, above it, through `audit.admin_logging.log_admin_access`.

Logged, one row per page or operation: change pages viewed (GET), change lists viewed (the
subjects on the shown page), additions, changes, deletions (only what was really deleted; a
legal hold can refuse) and CSV exports, which ask for a reason first.
"""

from __future__ import annotations

import csv
from functools import wraps
from typing import Any

from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.admin_logging import ExportReasonForm, log_admin_access
from audit.models import AccessAction

from .registry import Entry, registry

EXPORT_ACTION = "export_with_reason"
EXPORT_PERMISSION = "audit.export_personal_data"


def registry_entry(model) -> Entry | None:
    return registry.entry(model) if registry.is_registered(model) else None


def subject_ids_of(model, pks, entry=None) -> list[int]:
    """The subject ids behind some rows of a registered model, through its subject path."""
    entry = entry or registry_entry(model)
    pks = [pk for pk in pks if pk is not None]
    if entry is None or not pks or not entry.linked_to_subject:
        return []
    if not entry.subject_path:
        return [int(pk) for pk in pks]
    return [
        subject_id
        for subject_id in model._default_manager.filter(pk__in=pks).values_list(entry.subject_field, flat=True)
        if subject_id is not None
    ]


def instrument(model_admin) -> None:
    """Wrap one ModelAdmin instance's views and hooks; idempotent."""
    if getattr(model_admin, "_audit_instrumented", False):
        return
    model_admin._audit_instrumented = True
    model = model_admin.model
    label = model._meta.label

    changelist_view = model_admin.changelist_view
    change_view = model_admin.change_view
    log_addition = model_admin.log_addition
    log_change = model_admin.log_change
    delete_model = model_admin.delete_model
    delete_queryset = model_admin.delete_queryset
    get_actions = model_admin.get_actions

    @wraps(changelist_view)
    def audited_changelist_view(request, extra_context=None):
        response = changelist_view(request, extra_context)
        entry = registry_entry(model)
        cl = (getattr(response, "context_data", None) or {}).get("cl")
        if entry is not None and cl is not None and request.method == "GET" and response.status_code == 200:
            # Evaluating the page here fills the queryset's cache; the template reuses it.
            pks = [obj.pk for obj in cl.result_list]
            log_admin_access(
                request,
                action=AccessAction.LIST,
                subject_ids=subject_ids_of(model, pks, entry),
                object_repr=f"{label} list ({len(pks)})",
            )
        return response

    @wraps(change_view)
    def audited_change_view(request, object_id, form_url="", extra_context=None):
        response = change_view(request, object_id, form_url, extra_context)
        entry = registry_entry(model)
        original = (getattr(response, "context_data", None) or {}).get("original")
        if entry is not None and original is not None and request.method == "GET" and response.status_code == 200:
            log_admin_access(
                request,
                action=AccessAction.VIEW,
                subject_ids=subject_ids_of(model, [original.pk], entry),
                object_repr=f"{label} #{original.pk}",
            )
        return response

    @wraps(log_addition)
    def audited_log_addition(request, obj, message):
        result = log_addition(request, obj, message)
        if registry_entry(model) is not None:
            log_admin_access(
                request,
                action=AccessAction.CREATE,
                subject_ids=subject_ids_of(model, [obj.pk]),
                object_repr=f"{label} #{obj.pk}",
            )
        return result

    @wraps(log_change)
    def audited_log_change(request, obj, message):
        result = log_change(request, obj, message)
        if registry_entry(model) is not None:
            log_admin_access(
                request,
                action=AccessAction.CHANGE,
                subject_ids=subject_ids_of(model, [obj.pk]),
                object_repr=f"{label} #{obj.pk}",
            )
        return result

    @wraps(delete_model)
    def audited_delete_model(request, obj):
        audited_delete_queryset(request, model._default_manager.filter(pk=obj.pk), _single=(delete_model, obj))

    @wraps(delete_queryset)
    def audited_delete_queryset(request, queryset, _single=None):
        entry = registry_entry(model)
        if entry is None:
            return _single[0](request, _single[1]) if _single else delete_queryset(request, queryset)
        field = entry.subject_field or "pk"
        before = dict(queryset.values_list("pk", field)) if entry.linked_to_subject else {}
        if _single:
            _single[0](request, _single[1])
        else:
            delete_queryset(request, queryset)
        remaining = set(model._default_manager.filter(pk__in=list(before)).values_list("pk", flat=True))
        deleted = [pk for pk in before if pk not in remaining]
        if deleted:
            log_admin_access(
                request,
                action=AccessAction.DELETE,
                subject_ids=[before[pk] for pk in deleted],
                object_repr=f"{label} " + (f"#{deleted[0]}" if len(deleted) == 1 else f"({len(deleted)})"),
            )

    @wraps(get_actions)
    def audited_get_actions(request):
        actions = get_actions(request)
        add_export_action(model_admin, request, actions)
        return actions

    model_admin.changelist_view = audited_changelist_view
    model_admin.change_view = audited_change_view
    model_admin.log_addition = audited_log_addition
    model_admin.log_change = audited_log_change
    model_admin.delete_model = audited_delete_model
    model_admin.delete_queryset = audited_delete_queryset
    model_admin.get_actions = audited_get_actions


# --- exports with a reason ----------------------------------------------------------------------


def export_spec(model_admin) -> tuple[list[str], str | None]:
    """Columns and the subject-id lookup of an export: the ModelAdmin's `export_fields` and
    `export_subject_field` when set, else the personal-data registry's entry."""
    entry = registry_entry(model_admin.model)
    fields = list(getattr(model_admin, "export_fields", None) or (entry.export_fields if entry else ()))
    subject_field = getattr(model_admin, "export_subject_field", None) or (entry.subject_field if entry else None)
    if not fields:
        raise ImproperlyConfigured(f"{model_admin.model._meta.label} has no export_fields and no registry entry.")
    return ["pk", *fields], subject_field


def add_export_action(model_admin, request: HttpRequest, actions: dict) -> None:
    if EXPORT_ACTION in actions or model_admin.actions is None or IS_POPUP_VAR in request.GET:
        return
    if registry_entry(model_admin.model) is None and not getattr(model_admin, "export_fields", None):
        return
    if not request.user.has_perm(EXPORT_PERMISSION) or not model_admin.has_view_permission(request):
        return
    actions[EXPORT_ACTION] = (
        export_with_reason,
        EXPORT_ACTION,
        gettext_lazy("Export selected %(verbose_name_plural)s as CSV (asks for a reason)"),
    )


def export_with_reason(model_admin, request: HttpRequest, queryset):
    """Admin action: ask for a reason, then stream the rows as CSV and log the export."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    submitted = "export_reason_submitted" in request.POST
    form = ExportReasonForm(request.POST if submitted else None)
    if submitted and form.is_valid():
        return export_csv(model_admin, request, queryset, reason=form.cleaned_data["reason"])
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Export %(name)s") % {"name": opts.verbose_name_plural},
        "opts": opts,
        "form": form,
        "row_count": queryset.count(),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action": EXPORT_ACTION,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "audit/export_reason.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by spreadsheet programs.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _header(model, name: str) -> str:
    if name == "pk":
        return "id"
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def _converter(model, name: str):
    """How a column's stored value is written for people: a choice's label, a time in Seoul with
    its offset, yes or no."""
    from django.db import models as dj_models
    from django.utils.translation import gettext

    from privacyops.lib.times import seoul_time

    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return lambda value: value
    if getattr(field, "choices", None):
        labels = {key: str(label) for key, label in field.flatchoices}
        return lambda value: labels.get(value, value)
    if isinstance(field, dj_models.DateTimeField):
        return lambda value: seoul_time(value, seconds=True) if value else ""
    if isinstance(field, dj_models.BooleanField):
        return lambda value: "" if value is None else (gettext("yes") if value else gettext("no"))
    return lambda value: value


def export_csv(model_admin, request: HttpRequest, queryset, *, reason: str) -> StreamingHttpResponse:
    model = model_admin.model
    fields, subject_field = export_spec(model_admin)
    queryset = queryset.order_by("pk")
    subject_ids = list(queryset.values_list(subject_field, flat=True)) if subject_field else []
    row_count = queryset.count()
    # Logged before the first byte leaves: an interrupted download still counts as an export.
    log_admin_access(
        request,
        action=AccessAction.EXPORT,
        subject_ids=subject_ids,
        object_repr=f"{model._meta.label} export ({row_count})",
        reason=reason,
    )
    writer = csv.writer(_Echo())
    converters = [_converter(model, name) for name in fields]

    def rows():
        yield "\ufeff" + writer.writerow([_header(model, name) for name in fields])  # BOM: Excel reads UTF-8
        for row in queryset.values_list(*fields).iterator(chunk_size=2000):
            yield writer.writerow([_cell(convert(value)) for convert, value in zip(converters, row, strict=True)])

    filename = f"{model._meta.app_label}-{model._meta.model_name}-{timezone.localdate():%Y%m%d}.csv"
    return StreamingHttpResponse(
        rows(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ExportWithReasonMixin:
    """For a ModelAdmin of another app: adds the "export as CSV (asks for a reason)" action.

    Registered personal-data models get it without the mixin; set `export_fields` (and
    `export_subject_field`, the lookup yielding the subject id, e.g. "subject_id") to export
    a model the registry does not describe, or to choose other columns.
    """

    export_fields: tuple[str, ...] = ()
    export_subject_field: str | None = None

    def get_actions(self, request):
        actions = super().get_actions(request)
        add_export_action(self, request, actions)
        return actions
