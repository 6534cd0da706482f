from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacyops.lib.admin import EncryptedValuesMixin, ReadOnlyAdmin, confirm_first, confirmation_note
from privacyops.lib.i18n import pick
from subjects.admin import PersonalDataAdmin
from subjects.registry import DataCategory

from . import services
from .models import (
    JOB_LATE_AFTER_DAYS,
    Connector,
    DataTransfer,
    DisclosedSubject,
    Disclosure,
    DisclosureStatus,
    JobStatus,
    MetaDeletionRequest,
    OAuthGrant,
    Processor,
    ProcessorInspection,
    RevokedBy,
    VendorErasureAttempt,
    VendorErasureJob,
    VendorIdentity,
    YouTubeStatistics,
)


class ContractFilter(admin.SimpleListFilter):
    title = gettext_lazy("contract")
    parameter_name = "contract"

    def lookups(self, request, model_admin):
        return [("expiring", gettext_lazy("Ends within 60 days")), ("no_dpa", gettext_lazy("No DPA file"))]

    def queryset(self, request, queryset):
        if self.value() == "expiring":
            return queryset.expiring_within()
        if self.value() == "no_dpa":
            return queryset.filter(dpa_file="")
        return queryset


class InspectionInline(admin.TabularInline):
    model = ProcessorInspection
    extra = 0


class ProcessorForm(forms.ModelForm):
    # A multi-select of the registry's categories instead of a JSON text area: a free value
    # would appear on the public policy's tables as typed.
    data_categories = forms.TypedMultipleChoiceField(
        label=gettext_lazy("data categories shared"),
        choices=DataCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Processor
        exclude: list[str] = []  # the admin's fieldsets choose the fields


@admin.register(Processor)
class ProcessorAdmin(admin.ModelAdmin):
    form = ProcessorForm
    list_display = [
        "name",
        "kind",
        "task",
        "country",
        "transfers_overseas",
        "erasure_channel",
        "contract_status",
        "checklist_status",
        "next_inspection_due",
        "active",
    ]
    list_filter = ["kind", "active", "transfers_overseas", "erasure_channel", ContractFilter]
    search_fields = ["name", "entrusted_task"]
    inlines = [InspectionInline]

    @admin.display(description=gettext_lazy("entrusted task"), ordering="entrusted_task")
    def task(self, obj):
        # The task as the policy states it, in the admin's language (staff's own wording as fallback).
        return pick(obj, "entrusted_task") or obj.entrusted_task

    readonly_fields = ["vendor_contract"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "kind",
                    "kind_needs_legal_review",
                    "kind_review_note",
                    "entrusted_task",
                    "data_categories",
                    "retention_text",
                    "re_entrustees",
                    "active",
                ]
            },
        ),
        (
            gettext_lazy("Sharing"),
            {
                "fields": [
                    "share_purpose",
                    "restricted_use",
                    "country",
                    "transfers_overseas",
                    "transfer_contact",
                    "transferred_items_ko",
                    "transferred_items_en",
                    "transfer_method_ko",
                    "transfer_method_en",
                    "transfer_basis_ko",
                    "transfer_basis_en",
                    "overseas_transfer_details",
                ]
            },
        ),
        (
            gettext_lazy("Contract (PIPA art. 26)"),
            {"fields": ["contract_start", "contract_end", "dpa_file", "dpa_signed_at", *Processor.CHECKLIST_FIELDS]},
        ),
        (
            gettext_lazy("Supervision and erasure"),
            {"fields": ["next_inspection_due", "contact_email", "erasure_channel", "connector", "vendor_contract"]},
        ),
    ]

    @admin.display(description=gettext_lazy("API request shapes"))
    def vendor_contract(self, obj: Processor):
        """Where the connector's requests come from; a visible badge where the vendor's own
        documentation does not confirm them (docs/THIRDPARTY.md)."""
        badge = (
            '<span class="vendor-unconfirmed" style="background:#fff3cd;border:1px solid #b60;color:#6b4400;'
            'padding:1px 6px;border-radius:8px">{}</span>'
        )
        if obj.connector == Connector.STIBEE:
            return format_html(badge, _("endpoint shape not confirmed by the vendor's documentation"))
        if obj.connector == Connector.META:
            return format_html(
                badge,
                _("batch session keys and throttling codes 32 and 80003 not confirmed by the vendor's documentation"),
            )
        if obj.connector:
            return _("taken from the vendor's documentation or SDK (docs/THIRDPARTY.md)")
        return "-"

    @admin.display(description=gettext_lazy("contract"), ordering="contract_end")
    def contract_status(self, obj: Processor):
        days = obj.contract_days_left()
        if days is None:
            return _("open-ended")
        if days < 0:
            return format_html('<strong style="color:#b00">{}</strong>', _("ended %(n)d days ago") % {"n": -days})
        if obj.contract_expiring_soon():
            return format_html('<strong style="color:#b60">{}</strong>', _("ends in %(n)d days") % {"n": days})
        return _("until %(date)s") % {"date": obj.contract_end.isoformat()}

    @admin.display(description=gettext_lazy("entrustment checklist"))
    def checklist_status(self, obj: Processor):
        missing = obj.missing_clauses()
        if not missing:
            return _("complete")
        return format_html(
            '<span style="color:#b00" title="{}">{}</span>',
            ", ".join(missing),
            _("%(n)d missing") % {"n": len(missing)},
        )


@admin.register(DataTransfer)
class DataTransferAdmin(ReadOnlyAdmin):
    list_display = [
        "transferred_at",
        "processor",
        "purpose",
        "basis",
        "consent_purpose",
        "record_count",
        "refused_count",
        "reference",
    ]
    list_filter = ["processor", "basis", "purpose"]
    list_select_related = ["processor"]
    date_hierarchy = "transferred_at"
    search_fields = ["reference"]


class AttemptInline(admin.TabularInline):
    model = VendorErasureAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "response_code", "outcome", "detail", "duration_ms"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class JobStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("open", gettext_lazy("Open")),
            ("stuck", gettext_lazy("Failed, waiting for staff")),
            ("late", _("Open for more than %(days)s days") % {"days": JOB_LATE_AFTER_DAYS}),
        ]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.open()
        if self.value() == "late":
            return queryset.late()
        if self.value() == "stuck":
            return queryset.stuck()
        return queryset


@admin.register(VendorErasureJob)
class VendorErasureJobAdmin(EncryptedValuesMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "reference",
        "processor",
        "kind",
        "channel",
        "colored_status",
        "attempts",
        "last_response_code",
        "last_error",
        "invalid_entries",
        "next_attempt_at",
        "created_at",
        "encrypted_values",
    ]
    list_filter = [JobStateFilter, "status", "processor", "kind", "channel"]
    list_select_related = ["processor"]
    search_fields = ["=reference", "=subject_id"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    actions = ["retry_now", "confirm_received"]
    # The encrypted identifiers are never shown: staff see whether they are still held.
    exclude = ["identifiers"]
    readonly_fields = [
        "processor",
        "reference",
        "kind",
        "subject_id",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_response_code",
        "last_error",
        "invalid_entries",
        "receipt",
        "identifiers_held",
        "encrypted_values",
        "identifiers_wiped_at",
        "email_sent_at",
        "closed_by",
        "created_at",
        "confirmed_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def colored_status(self, obj: VendorErasureJob):
        colours = {JobStatus.FAILED: "#b00", JobStatus.CONFIRMED: "#070", JobStatus.SENT: "#b60"}
        return format_html(
            '<span style="color:{}">{}</span>', colours.get(obj.status, "inherit"), obj.get_status_display()
        )

    @admin.display(description=gettext_lazy("invalid entries"))
    def invalid_entries(self, obj: VendorErasureJob):
        """Meta's num_invalid_entries: rows of the removal call Meta could not match to its schema."""
        count = (obj.receipt or {}).get("num_invalid_entries") if isinstance(obj.receipt, dict) else None
        if count is None:
            return "-"
        if count:
            return format_html('<strong style="color:#b00">{}</strong>', count)
        return count

    @admin.display(description=gettext_lazy("identifiers held"), boolean=True)
    def identifiers_held(self, obj: VendorErasureJob):
        return obj.identifiers_wiped_at is None

    def save_model(self, request, obj, form, change):
        # Only the staff note is editable; a changed note on a manual job closes it with that note.
        if change and "manual_note" in form.changed_data and obj.manual_note.strip():
            try:
                services.close_job_manually(job=obj, user=request.user, note=obj.manual_note)
            except services.ThirdPartyError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        else:
            super().save_model(request, obj, form, change)

    def has_confirm_receipt_permission(self, request, obj=None):
        return request.user.has_perm(services.CONFIRM_RECEIPT_PERMISSION)

    @admin.action(description=gettext_lazy("Retry now"), permissions=["change"])
    @confirm_first(
        title=gettext_lazy("Send these erasure requests again now?"),
        consequences=lambda admin, request, queryset: [
            _("Sends the erasure request of %(n)d job(s) to the processor again now.") % {"n": queryset.count()},
            _("Confirmed jobs are not sent again."),
        ],
        confirm_label=gettext_lazy("Yes, send them again"),
    )
    def retry_now(self, request, queryset):
        done = 0
        for job in queryset:
            try:
                services.retry_job_now(job=job, actor=request.user)
                done += 1
            except services.ThirdPartyError as exc:
                self.message_user(request, f"#{job.pk}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, _("%(n)d job(s) will be sent again now.") % {"n": done}, messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Confirm received (processor confirmed the erasure)"),
        permissions=["confirm_receipt"],
    )
    @confirm_first(
        title=gettext_lazy("Record that the processor confirmed the erasure?"),
        consequences=lambda admin, request, queryset: [
            _(
                "Closes %(n)d job(s) as confirmed and wipes the identifiers held for them for good: they can "
                "never be sent again."
            )
            % {"n": queryset.exclude(status=JobStatus.CONFIRMED).count()},
            _("The evidence you write is kept on each job as the processor's receipt."),
        ],
        confirm_label=gettext_lazy("Yes, confirm received"),
        note_label=gettext_lazy("Evidence: what the processor sent as proof"),
        note_help=gettext_lazy('For example: "Email from privacy@vendor of 2026-09-02, ticket 4411: deleted."'),
        note_required=True,
    )
    def confirm_received(self, request, queryset):
        done = 0
        note = confirmation_note(request)
        for job in queryset:
            try:
                services.confirm_job_received(job=job, user=request.user, note=note)
                done += 1
            except services.ThirdPartyError as exc:
                self.message_user(request, f"#{job.pk}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, _("%(n)d job(s) confirmed.") % {"n": done}, messages.SUCCESS)


@admin.register(VendorIdentity)
class VendorIdentityAdmin(PersonalDataAdmin):
    list_display = ["id", "person", "vendor", "kind", "collected_at", "last_seen_at"]
    list_filter = ["vendor", "kind"]
    list_select_related = ["subject"]
    raw_id_fields = ["subject"]
    search_fields = ["=value", "=subject__email"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MetaDeletionRequest)
class MetaDeletionRequestAdmin(admin.ModelAdmin):
    list_display = ["confirmation_code", "status", "subject_found", "reference", "received_at", "completed_at"]
    list_filter = ["status", "subject_found"]
    search_fields = ["=confirmation_code", "=reference"]
    readonly_fields = [
        "confirmation_code",
        "meta_user_hash",
        "subject_found",
        "reference",
        "received_at",
        "completed_at",
    ]
    fields = ["confirmation_code", "status", "refusal_reason", *readonly_fields[1:]]

    def has_add_permission(self, request):
        return False


class StatisticsInline(admin.TabularInline):
    model = YouTubeStatistics
    extra = 0
    can_delete = False
    fields = ["resource", "resource_id", "view_count", "like_count", "dislike_count", "comment_count", "fetched_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OAuthGrant)
class OAuthGrantAdmin(EncryptedValuesMixin, PersonalDataAdmin):
    list_display = [
        "id",
        "subject",
        "provider",
        "channel_id",
        "granted_at",
        "last_refreshed_at",
        "revoked_at",
        "revoked_by",
        "statistics_count",
        "encrypted_values",
    ]
    list_filter = ["provider", "revoked_by", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["subject"]
    raw_id_fields = ["subject"]
    search_fields = ["=subject__email", "=channel_id"]
    # Tokens never leave the database through the admin.
    exclude = ["access_token", "refresh_token"]
    readonly_fields = [
        "subject",
        "provider",
        "channel_id",
        "scopes",
        "access_token_expires_at",
        "granted_at",
        "last_refreshed_at",
        "revoked_at",
        "revoked_by",
        "revoke_response_code",
        "revoke_confirmed_at",
        "revoke_attempts",
        "revoke_next_attempt_at",
        "revoke_error",
        "last_checked_at",
        "consented_at",
        "consent_language",
        "consent_text_sha256",
        "consent_text",
        "encrypted_values",
    ]
    inlines = [StatisticsInline]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(stats=Count("statistics"))

    @admin.display(description=gettext_lazy("statistics"), ordering="stats")
    def statistics_count(self, obj):
        return obj.stats

    def has_revoke_permission(self, request, obj=None):
        return request.user.has_perm(services.REVOKE_GRANT_PERMISSION)

    @admin.action(description=gettext_lazy("Revoke at Google and delete tokens and statistics"), permissions=["revoke"])
    @confirm_first(
        title=gettext_lazy("Disconnect these YouTube accounts?"),
        consequences=lambda admin, request, queryset: [
            _("Revokes %(n)d grant(s) at Google and deletes their tokens and the statistics fetched with them.")
            % {"n": queryset.filter(revoked_at__isnull=True).count()},
        ],
        confirm_label=gettext_lazy("Yes, revoke and delete"),
    )
    def revoke(self, request, queryset):
        revoked = 0
        for grant in queryset.filter(revoked_at__isnull=True):
            try:
                services.revoke_youtube_grant(grant=grant, by=RevokedBy.STAFF, actor=request.user)
            except services.ThirdPartyError as exc:
                self.message_user(request, f"#{grant.pk}: {exc}", messages.ERROR)
            else:
                revoked += 1
        self.message_user(request, _("%(n)d grant(s) revoked.") % {"n": revoked}, messages.SUCCESS)


class DisclosedSubjectInline(admin.TabularInline):
    model = DisclosedSubject
    extra = 0
    raw_id_fields = ["subject"]
    fields = ["subject", "notified_at", "notice_withheld_reason"]


@admin.register(Disclosure)
class DisclosureAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "authority",
        "ground",
        "status",
        "requested_at",
        "approved_by",
        "disclosed_at",
        "subjects_told",
    ]
    list_filter = ["status", "ground"]
    list_select_related = ["approved_by"]
    search_fields = ["authority", "basis_detail"]
    date_hierarchy = "requested_at"
    inlines = [DisclosedSubjectInline]
    readonly_fields = ["status", "created_by", "approved_by", "approved_at", "disclosed_at"]
    actions = ["approve", "mark_disclosed"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(told=Count("subjects", filter=Q(subjects__notified_at__isnull=False)), total=Count("subjects"))
        )

    @admin.display(description=gettext_lazy("subjects told"))
    def subjects_told(self, obj):
        return f"{obj.told}/{obj.total}"

    def has_change_permission(self, request, obj=None):
        # Once made, a disclosure is evidence; only who-was-told may still be recorded (inline).
        if obj is not None and obj.status == DisclosureStatus.DISCLOSED:
            return request.user.has_perm("thirdparty.change_disclosedsubject")
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_approve_permission(self, request, obj=None):
        return request.user.has_perm(services.APPROVE_DISCLOSURE_PERMISSION)

    def has_mark_disclosed_permission(self, request, obj=None):
        return request.user.has_perm(services.MARK_DISCLOSED_PERMISSION)

    @admin.action(description=gettext_lazy("Approve (privacy officer)"), permissions=["approve"])
    def approve(self, request, queryset):
        for disclosure in queryset:
            try:
                services.approve_disclosure(disclosure=disclosure, user=request.user)
            except services.ThirdPartyError as exc:
                self.message_user(request, f"#{disclosure.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, _("Disclosure #%(id)s approved.") % {"id": disclosure.pk}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Mark as disclosed"), permissions=["mark_disclosed"])
    @confirm_first(
        title=gettext_lazy("Record these disclosures as made?"),
        consequences=lambda admin, request, queryset: [
            _("Records %(n)d approved disclosure(s) as made to the authority, dated now.")
            % {"n": queryset.filter(status=DisclosureStatus.APPROVED).count()},
        ],
        confirm_label=gettext_lazy("Yes, record them"),
    )
    def mark_disclosed(self, request, queryset):
        for disclosure in queryset:
            try:
                services.mark_disclosed(disclosure=disclosure, user=request.user, disclosed_at=timezone.now())
            except services.ThirdPartyError as exc:
                self.message_user(request, f"#{disclosure.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request, _("Disclosure #%(id)s marked as disclosed.") % {"id": disclosure.pk}, messages.SUCCESS
                )
