from __future__ import annotations

from django.contrib import admin

from .models import AdPerformanceRecord, Affiliate, DataSubject, EventAttendance, Inquiry, SocialAccount, VisitLog


class ReadOnlyRecordAdmin(admin.ModelAdmin):
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
class DataSubjectAdmin(admin.ModelAdmin):
    # Name, email and phone stay editable: correcting them is the person's right (PIPA art. 36).
    list_display = ["id", "name", "email", "source", "processing_restricted", "created_at"]
    list_filter = ["source", "processing_restricted"]
    search_fields = ["=email", "name", "phone"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["source_affiliate"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(VisitLog)
class VisitLogAdmin(ReadOnlyRecordAdmin):
    list_display = ["id", "visited_at", "subject", "path", "os", "abnormal"]
    list_filter = ["abnormal"]
    list_select_related = ["subject"]
    search_fields = ["=subject__email", "cookie_id", "device_id"]
    date_hierarchy = "visited_at"
    raw_id_fields = ["subject"]
    # A visit log table grows by millions: no COUNT(*) for the paginator's total.
    show_full_result_count = False


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    # Staff classify and close inquiries; what the person wrote stays as it was received.
    list_display = ["id", "subject", "kind", "channel", "opened_at", "closed_at"]
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
class EventAttendanceAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "event_name", "kind", "event_date", "attended"]
    list_filter = ["kind", "attended"]
    list_select_related = ["subject"]
    search_fields = ["=subject__email", "event_name"]
    date_hierarchy = "event_date"
    raw_id_fields = ["subject"]
    autocomplete_fields = ["affiliate"]


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyRecordAdmin):
    list_display = ["id", "subject", "platform", "handle", "linked_at", "unlinked_at"]
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
