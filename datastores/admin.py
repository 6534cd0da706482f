"""Admin for the data map: declared systems and tables (checked against the real table on save),
customer keys, and what the last scans found."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from privacyops.lib.admin import ReadOnlyAdmin

from .models import DiscoveredColumn, ExternalKey, ExternalSystem, ExternalTable
from .scan import covered_columns


class ExternalTableInline(admin.TabularInline):
    model = ExternalTable
    fields = ["table", "category", "rule", "erase_mode", "kept_after_erasure"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ExternalSystem)
class ExternalSystemAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "kind", "owner", "url_env", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["key", "name", "owner"]
    inlines = [ExternalTableInline]


@admin.register(ExternalTable)
class ExternalTableAdmin(admin.ModelAdmin):
    """Saving reflects the real table (ExternalTable.clean): an unknown table or column is refused
    with its name, in the form, before anything is written."""

    list_display = ["__str__", "system", "category", "rule", "erase_mode", "kept_after_erasure"]
    list_filter = ["system", "category", "erase_mode"]
    search_fields = ["table", "system__key"]
    autocomplete_fields = []
    fieldsets = [
        (None, {"fields": ["system", "table", "identity", "runs_from", "rule"]}),
        (_("Access and erasure"), {"fields": ["export", "erase_mode", "overwrite", "kept_after_erasure"]}),
        (_("The policy"), {"fields": ["category", "source"]}),
    ]


@admin.register(ExternalKey)
class ExternalKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "system", "created_at"]
    list_filter = ["system"]
    raw_id_fields = ["subject"]


@admin.register(DiscoveredColumn)
class DiscoveredColumnAdmin(ReadOnlyAdmin):
    list_display = ["system", "table", "column", "kind", "matched", "sampled", "declared", "scanned_at"]
    list_filter = ["system", "kind"]

    @admin.display(description=_("declared"), boolean=True)
    def declared(self, obj):
        return (obj.table, obj.column) in covered_columns(obj.system)
