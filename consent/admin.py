from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.admin_logging import ExportReasonForm, log_admin_access
from audit.models import AccessAction
from privacyops.lib.admin import ReadOnlyAdmin, subject_person
from subjects.models import DataSubject

from . import services
from .models import (
    ConsentEvent,
    ConsentState,
    CookieCategory,
    CookieConsentRecord,
    MarketingNotice,
    Purpose,
    RefusedOrigin,
)


class LedgerAdmin(ReadOnlyAdmin):
    """Evidence is read, never written by hand."""

    show_full_result_count = False


def _receipt_response(subject: DataSubject) -> HttpResponse:
    response = HttpResponse(services.consent_receipt_csv(subject), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-subject-{subject.pk}.csv"'
    return response


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "name_ko",
        "policy_clause",
        "legal_basis",
        "consent_required",
        "is_marketing",
        "continues_when_restricted",
        "stops_on_gpc",
    ]
    list_filter = ["legal_basis", "consent_required", "is_marketing"]
    search_fields = ["key", "name", "name_ko"]
    change_list_template = "consent/admin/purpose_changelist.html"

    def get_readonly_fields(self, request, obj=None):
        # Other apps call services with these keys.
        return ["key"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("rates/", self.admin_site.admin_view(self.rates_view), name="consent_purpose_rates"),
            *super().get_urls(),
        ]

    def rates_view(self, request):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Consent rates per purpose"),
            "opts": self.model._meta,
            "report": services.consent_rates(),
        }
        return TemplateResponse(request, "consent/admin/rates.html", context)


@admin.register(ConsentEvent)
class ConsentEventAdmin(LedgerAdmin):
    list_display = [
        "id",
        "occurred_at",
        subject_person,
        "purpose",
        "action",
        "channel",
        "night_time",
        "gpc",
        "policy_version",
    ]
    list_filter = ["purpose", "action", "channel", "night_time", "gpc", "occurred_at"]
    list_select_related = ["subject", "purpose"]
    date_hierarchy = "occurred_at"
    search_fields = ["=subject__id", "=subject__email"]
    raw_id_fields = ["subject"]

    def get_urls(self):
        return [
            path(
                "receipt/<int:subject_id>/",
                self.admin_site.admin_view(self.receipt_view),
                name="consent_consentevent_receipt",
            ),
            *super().get_urls(),
        ]

    def receipt_view(self, request, subject_id: int):
        """A subject's consent history as CSV. Like every download of personal data it asks for
        a reason, which goes to the access log with the subject's id (SA-06)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        subject = get_object_or_404(DataSubject, pk=subject_id)
        form = ExportReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            log_admin_access(
                request,
                action=AccessAction.DOWNLOAD,
                subject_ids=[subject.pk],
                object_repr=f"consent receipt of subject #{subject.pk}",
                reason=form.cleaned_data["reason"],
            )
            return _receipt_response(subject)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Consent receipt of %(subject)s") % {"subject": subject},
            "opts": self.model._meta,
            "form": form,
            "subject": subject,
        }
        return TemplateResponse(request, "consent/admin/receipt_reason.html", context)


@admin.register(ConsentState)
class ConsentStateAdmin(LedgerAdmin):
    list_display = [
        subject_person,
        "purpose",
        "granted",
        "night_time",
        "changed_at",
        "channel",
        "reconfirm_due_at",
        "reconfirmation_sent_at",
        "receipt",
    ]
    list_filter = ["purpose", "granted", "night_time", "channel"]
    list_select_related = ["subject", "purpose"]
    search_fields = ["=subject__id", "=subject__email"]
    raw_id_fields = ["subject"]
    date_hierarchy = "changed_at"
    actions = ["download_receipt"]

    @admin.display(description=gettext_lazy("receipt"))
    def receipt(self, obj: ConsentState) -> str:
        url = reverse("admin:consent_consentevent_receipt", args=[obj.subject_id])
        return format_html('<a href="{}">{}</a>', url, _("CSV"))

    # Reads only: it leads to the receipt page, which asks for a reason and logs the download.
    @admin.action(
        description=gettext_lazy("Download the consent history of the selected subject (CSV receipt)"),
        permissions=["view"],
    )
    def download_receipt(self, request, queryset):
        subject_ids = set(queryset.values_list("subject_id", flat=True))
        if len(subject_ids) != 1:
            self.message_user(request, _("Select the consents of exactly one subject."), level="error")
            return None
        return HttpResponseRedirect(reverse("admin:consent_consentevent_receipt", args=[subject_ids.pop()]))


@admin.register(MarketingNotice)
class MarketingNoticeAdmin(LedgerAdmin):
    list_display = ["id", "sent_at", subject_person, "kind", "purpose", "event", "anniversary_at"]
    list_filter = ["kind", "purpose"]
    list_select_related = ["subject", "purpose"]
    date_hierarchy = "sent_at"
    search_fields = ["=subject__id", "=subject__email"]
    raw_id_fields = ["subject", "event"]


@admin.register(CookieCategory)
class CookieCategoryAdmin(admin.ModelAdmin):
    list_display = ["key", "name_ko", "always_on", "off_under_gpc", "vendor_tag", "position"]

    def get_readonly_fields(self, request, obj=None):
        return ["key", "always_on"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CookieConsentRecord)
class CookieConsentRecordAdmin(LedgerAdmin):
    list_display = [
        "id",
        "created_at",
        "chosen_at",
        "choice",
        "categories",
        "gpc",
        "gpc_honoured",
        "language",
        "banner_version",
    ]
    list_filter = ["choice", "gpc", "gpc_honoured", "language", "banner_version"]
    date_hierarchy = "created_at"
    search_fields = ["=visitor_id"]


@admin.register(RefusedOrigin)
class RefusedOriginAdmin(ReadOnlyAdmin):
    """Websites whose cookie choices were refused: written only by the cookie-choice endpoint."""

    list_display = ["origin", "refused", "first_seen_at", "last_seen_at", "allowed_now"]
    search_fields = ["origin"]
    date_hierarchy = "last_seen_at"

    @admin.display(description=gettext_lazy("allowed now"), boolean=True)
    def allowed_now(self, obj: RefusedOrigin) -> bool:
        return obj.origin in settings.CONSENT_ALLOWED_ORIGINS
