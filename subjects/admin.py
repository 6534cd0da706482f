from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from privacyops.lib.admin import subject_person

from .models import AdPerformanceRecord, Affiliate, DataSubject, EventAttendance, Inquiry, SocialAccount, VisitLog
from .registry import registry


class PersonalDataAdmin(admin.ModelAdmin):
    """Base admin for registered personal-data models: a delete from the admin is refused
    when any selected row is protected by a deletion guard (a legal hold)."""

    # The row's person by name (or masked email), not "subject #1"; the page is access-logged.
    person = staticmethod(subject_person)

    def _refuse_if_guarded(self, request, queryset) -> bool:
        protected = queryset.count() - registry.destroyable(queryset).count()
        if protected:
            self.message_user(
                request,
                _("Nothing was deleted: %(n)d of the selected records are under a legal hold.") % {"n": protected},
                messages.ERROR,
            )
        return bool(protected)

    def delete_model(self, request, obj):
        if not self._refuse_if_guarded(request, type(obj)._default_manager.filter(pk=obj.pk)):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if not self._refuse_if_guarded(request, queryset):
            super().delete_queryset(request, queryset)

    def response_delete(self, request, obj_display, obj_id):
        # After a refused delete the object still exists: go back to it, not to a "deleted" message.
        if self.model._default_manager.filter(pk=obj_id).exists():
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj_id]))
        return super().response_delete(request, obj_display, obj_id)


class ReadOnlyRecordAdmin(PersonalDataAdmin):
    """Collected records are evidence: staff read them; nobody edits them by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    list_display = ["name", "contact", "created_at"]
    search_fields = ["name"]


@admin.register(DataSubject)
class DataSubjectAdmin(PersonalDataAdmin):
    # Name, email and phone stay editable: correcting them is the person's right (PIPA art. 36).
    list_display = ["id", "name", "email", "source", "processing_restricted", "created_at"]
    list_filter = ["source", "processing_restricted"]
    search_fields = ["=email", "name", "phone"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["source_affiliate"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(VisitLog)
class VisitLogAdmin(ReadOnlyRecordAdmin):
    list_display = ["id", "visited_at", "person", "path", "os", "abnormal"]
    list_filter = ["abnormal"]
    list_select_related = ["subject"]
    search_fields = ["=subject__email", "cookie_id", "device_id"]
    date_hierarchy = "visited_at"
    raw_id_fields = ["subject"]
    # A visit log table grows by millions: no COUNT(*) for the paginator's total.
    show_full_result_count = False


@admin.register(Inquiry)
class InquiryAdmin(PersonalDataAdmin):
    # Staff classify and close inquiries; what the person wrote stays as it was received.
    list_display = ["id", "person", "kind", "channel", "opened_at", "closed_at"]
    list_filter = ["kind", "channel"]
    list_select_related = ["subject"]
    search_fields = ["=subject__email", "external_ref"]
    date_hierarchy = "opened_at"
    raw_id_fields = ["subject"]
    autocomplete_fields = ["affiliate"]
    readonly_fields = ["subject", "channel", "body", "opened_at", "external_ref"]

    def has_add_permission(self, request):
        return False


@admin.register(EventAttendance)
class EventAttendanceAdmin(PersonalDataAdmin):
    list_display = ["id", "person", "event_name", "kind", "event_date", "attended"]
    list_filter = ["kind", "attended"]
    list_select_related = ["subject"]
    search_fields = ["=subject__email", "event_name"]
    date_hierarchy = "event_date"
    raw_id_fields = ["subject"]
    autocomplete_fields = ["affiliate"]


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyRecordAdmin):
    list_display = ["id", "person", "platform", "handle", "linked_at", "unlinked_at"]
    list_filter = ["platform"]
    list_select_related = ["subject"]
    search_fields = ["=subject__email", "handle"]
    date_hierarchy = "linked_at"
    raw_id_fields = ["subject"]


@admin.register(AdPerformanceRecord)
class AdPerformanceRecordAdmin(ReadOnlyRecordAdmin):
    list_display = ["id", "account", "campaign", "impressions", "clicks", "spend", "recorded_at"]
    list_select_related = ["account"]
    search_fields = ["=account__subject__email", "campaign"]
    date_hierarchy = "recorded_at"
    raw_id_fields = ["account"]
