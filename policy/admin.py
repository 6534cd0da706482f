from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from privacyops.lib.admin import ReadOnlyAdmin, confirm_first, subject_person
from subjects.models import DataSubject

from . import services
from .models import (
    CollectedItem,
    ComplaintInstitution,
    DeliveryStatus,
    PolicyNoticeDelivery,
    PolicyVersion,
    PrivacyOfficer,
)


def _warn_if_out_of_date(request) -> None:
    if services.policy_is_out_of_date():
        messages.warning(
            request,
            gettext(
                "The rules that run differ from the published policy: processors, purposes, retention rules, "
                "data categories, the officer or the institutions changed, and no version stating them is in force. "
                "The public page keeps the version in force until a new version is announced and takes effect."
            ),
        )


class OutOfDateWarningMixin:
    """Editing any input of the page shows, on the list, whether the published text still matches."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            _warn_if_out_of_date(request)
        return super().changelist_view(request, extra_context)


@admin.register(PrivacyOfficer)
class PrivacyOfficerAdmin(OutOfDateWarningMixin, admin.ModelAdmin):
    list_display = ["name_en", "name_ko", "position_en", "phone", "email", "sort_order"]
    list_editable = ["sort_order"]
    readonly_fields = ["updated_at"]


@admin.register(ComplaintInstitution)
class ComplaintInstitutionAdmin(OutOfDateWarningMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name_ko", "name_en", "phone", "url", "active", "sort_order"]
    list_editable = ["phone", "active", "sort_order"]
    list_filter = ["active"]
    readonly_fields = ["updated_at"]


@admin.register(CollectedItem)
class CollectedItemAdmin(OutOfDateWarningMixin, admin.ModelAdmin):
    """Policy 1.1: what is collected for each purpose, in the words the page shows."""

    list_display = ["items_ko", "items_en", "purpose", "category", "position", "active"]
    list_editable = ["position", "active"]
    list_filter = ["active", "category", "purpose"]
    list_select_related = ["purpose"]
    readonly_fields = ["updated_at"]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(OutOfDateWarningMixin, admin.ModelAdmin):
    list_display = [
        "label",
        "state",
        "is_significant",
        "announced_at",
        "effective_at",
        "published_by",
        "notice_progress",
    ]
    list_filter = ["is_significant"]
    list_select_related = ["published_by"]
    search_fields = ["label"]
    actions = ["announce"]
    fields = [
        "label",
        "is_significant",
        "effective_at",
        "summary_ko",
        "summary_en",
        "reconsent_purpose_keys",
        "announced_at",
        "published_by",
        "notices_queued_at",
        "fingerprint",
        "published_text",
        "changes_against_version_in_force",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_total=Count("deliveries"),
                n_sent=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
                n_failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
                n_bounced=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.BOUNCED)),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        base = [
            "announced_at",
            "published_by",
            "notices_queued_at",
            "fingerprint",
            "published_text",
            "changes_against_version_in_force",
        ]
        if obj is not None and obj.is_announced:
            # Published: frozen, every field is evidence of what was promised.
            return [f for f in self.fields if f not in base] + base
        return base

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_announced:
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            _warn_if_out_of_date(request)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("state"))
    def state(self, obj: PolicyVersion) -> str:
        if not obj.is_announced:
            return gettext("Draft")
        return gettext("In force or past") if obj.effective_at <= timezone.now() else gettext("Announced, upcoming")

    @admin.display(description=_("notices sent"))
    def notice_progress(self, obj: PolicyVersion) -> str:
        total = getattr(obj, "n_total", 0)
        if not total:
            return "-"
        return gettext("%(sent)d of %(total)d sent, %(failed)d failed, %(bounced)d bounced") % {
            "sent": obj.n_sent,
            "total": total,
            "failed": obj.n_failed,
            "bounced": obj.n_bounced,
        }

    @admin.display(description=_("published text"))
    def published_text(self, obj: PolicyVersion) -> str:
        if not obj.is_announced:
            return "-"
        return format_html('<a href="{}">{}</a>', f"/privacy/versions/{obj.label}/", gettext("Open the frozen text"))

    @admin.display(description=_("changes against the version in force"))
    def changes_against_version_in_force(self, obj: PolicyVersion) -> str:
        """The draft is the live rendering of the records; this is what announcing it would change."""
        if obj is None or obj.pk is None or obj.is_announced:
            return "-"
        parts = []
        missing = services.missing_policy_items()
        if missing:
            parts.append(
                format_html(
                    '<p class="errornote">{}</p><ul>{}</ul>',
                    gettext("Announcing is refused until these are recorded:"),
                    format_html_join("", "<li>{}</li>", ((m,) for m in missing)),
                )
            )
        changes = services.draft_changes()
        if not changes:
            parts.append(format_html("<p>{}</p>", gettext("The draft states the same as the version in force.")))
        for change in changes:
            parts.append(
                format_html(
                    '<h4>{}</h4><pre class="policy-diff" style="white-space:pre-wrap">{}</pre>',
                    change["section"],
                    "\n".join(change["lines"]),
                )
            )
        return format_html_join("", "{}", ((p,) for p in parts))

    def has_publish_permission(self, request, obj=None):
        return request.user.has_perm(services.PUBLISH_PERMISSION)

    @admin.action(
        description=_("Announce the selected draft (freezes its text and emails every subject)"),
        permissions=["publish"],
    )
    @confirm_first(
        title=_("Announce this policy version?"),
        consequences=lambda admin, request, queryset: announce_consequences(queryset),
        confirm_label=_("Yes, announce and send the notices"),
    )
    def announce(self, request, queryset):
        if not request.user.has_perm(services.PUBLISH_PERMISSION):
            self.message_user(request, gettext("You are not allowed to publish policy versions."), messages.ERROR)
            return
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one draft to announce."), messages.ERROR)
            return
        try:
            version = services.announce_policy_version(version=queryset.get(), actor=request.user)
        except services.PolicyError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(
            request,
            gettext("Version %(label)s announced; notices are being queued.") % {"label": version.label},
            messages.SUCCESS,
        )


def announce_consequences(queryset) -> list[str]:
    lines = []
    for version in queryset[:2]:
        lines.append(
            gettext("Freezes the text of version %(label)s in Korean and English; it takes effect on %(date)s.")
            % {"label": version.label, "date": f"{timezone.localtime(version.effective_at):%Y-%m-%d %H:%M (%Z)}"}
        )
    lines.append(
        gettext("Emails the change notice to every person with an email address: %(n)d people.")
        % {"n": DataSubject.objects.filter(email__isnull=False).count()}
    )
    lines.append(gettext("An announced version cannot be changed or withdrawn."))
    return lines


@admin.register(PolicyNoticeDelivery)
class PolicyNoticeDeliveryAdmin(ReadOnlyAdmin):
    """A ledger: staff read it, retry failed sends and record bounces; nobody edits it."""

    list_display = ["id", "version", subject_person, "status", "attempts", "last_error", "next_attempt_at", "sent_at"]
    list_filter = ["status", "version", "last_error"]
    list_select_related = ["version", "subject"]
    raw_id_fields = ["subject", "version"]
    search_fields = ["=subject__email", "=subject__id"]
    actions = ["retry_now", "mark_bounced"]
    show_full_result_count = False

    def has_resend_permission(self, request, obj=None):
        # The ledger stays read-only in the form; these two actions are its only writes.
        return request.user.has_perm(services.NOTICE_PERMISSION)

    @admin.action(description=_("Retry the selected failed notices now"), permissions=["resend"])
    @confirm_first(
        title=_("Send these notices again now?"),
        consequences=lambda admin, request, queryset: [
            gettext("Emails the policy notice again to the people of %(n)d failed delivery(ies).")
            % {"n": queryset.filter(status=DeliveryStatus.FAILED).count()}
        ],
        confirm_label=_("Yes, send them again"),
    )
    def retry_now(self, request, queryset):
        try:
            count = services.retry_policy_notices(
                delivery_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
            )
        except services.PolicyError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, gettext("%(n)d notices will be sent again.") % {"n": count})

    @admin.action(description=_("Record the selected notices as bounced"), permissions=["resend"])
    def mark_bounced(self, request, queryset):
        try:
            count = services.mark_notices_bounced(
                delivery_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
            )
        except services.PolicyError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, gettext("%(n)d notices recorded as bounced.") % {"n": count})
