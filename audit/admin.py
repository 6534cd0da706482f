from __future__ import annotations

import ipaddress

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from privacyops.lib.admin import ReadOnlyAdmin, confirm_first
from privacyops.lib.times import seoul_time

from .jobruns import job_name, summarise
from .models import (
    AccessLog,
    AccessLogSubject,
    AccessReview,
    AccessReviewFinding,
    AccessRightsLog,
    ApiClient,
    ApiScope,
    Approval,
    JobRun,
)
from .services import AuditError, sign_off_review


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "active"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "key_prefix", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    actions = ["rotate_key"]

    def save_model(self, request, obj, form, change):
        raw_key = obj.issue_key() if not change else None
        super().save_model(request, obj, form, change)
        if raw_key:
            self._show_key_once(request, obj, raw_key)

    @admin.action(description=_("Issue a new key (the old one stops working)"), permissions=["change"])
    @confirm_first(
        title=_("Issue new API keys?"),
        consequences=lambda admin, request, queryset: [
            _("The current key of each of these %(n)d API clients stops working at once; the new key is shown once.")
            % {"n": queryset.count()}
        ],
        confirm_label=_("Yes, issue new keys"),
    )
    def rotate_key(self, request, queryset):
        for client in queryset:
            raw_key = client.issue_key()
            client.save(update_fields=["key_prefix", "key_hash"])
            self._show_key_once(request, client, raw_key)

    def _show_key_once(self, request, client, raw_key):
        messages.warning(
            request,
            _("Key for %(name)s (shown once, copy it now): %(key)s") % {"name": client.name, "key": raw_key},
        )


class LedgerAdmin(ReadOnlyAdmin):
    """Logs are read, never written by hand."""

    actions = None


class AccessLogSubjectInline(admin.TabularInline):
    model = AccessLogSubject
    fields = ["subject_id"]
    readonly_fields = ["subject_id"]
    extra = 0
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(LedgerAdmin):
    list_display = ["seq", "at", "username", "ip", "action", "object_repr", "subject_count", "reason"]
    list_filter = ["action"]
    search_fields = ["username"]
    search_help_text = _("A subject id, an account name or an IP address (exact).")
    date_hierarchy = "at"
    inlines = [AccessLogSubjectInline]
    # A log of years: no COUNT(*) for the paginator's total.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(subjects__subject_id=int(term)), False
        try:
            return queryset.filter(ip=str(ipaddress.ip_address(term))), False
        except ValueError:
            return queryset.filter(username=term), False


@admin.register(AccessRightsLog)
class AccessRightsLogAdmin(LedgerAdmin):
    list_display = ["at", "actor_username", "change", "username", "group_name", "detail"]
    list_filter = ["change"]
    search_fields = ["=username", "=actor_username", "group_name", "detail"]
    date_hierarchy = "at"


class AccessReviewFindingInline(admin.TabularInline):
    model = AccessReviewFinding
    fields = ["kind", "username", "log_seq", "access_count", "subject_count", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessReview)
class AccessReviewAdmin(admin.ModelAdmin):
    """The officer reads the findings and signs the review off with a note; nothing else changes."""

    list_display = ["__str__", "assignee", "access_count", "finding_count", "signed_off_by", "signed_off_at"]
    list_select_related = ["assignee", "signed_off_by"]
    list_filter = [("signed_off_at", admin.EmptyFieldListFilter)]
    inlines = [AccessReviewFindingInline]
    fields = [
        "period_start",
        "period_end",
        "assignee",
        "access_count",
        "finding_count",
        "signed_off_by",
        "signed_off_at",
        "sign_off_note",
    ]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        readonly = [f for f in self.fields if f != "sign_off_note"]
        if obj is None or obj.is_signed_off or not request.user.has_perm("audit.sign_off_accessreview"):
            readonly.append("sign_off_note")
        return readonly

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_signed_off:
            return False
        return request.user.has_perm("audit.sign_off_accessreview")

    def save_model(self, request, obj, form, change):
        try:
            signed = sign_off_review(review=obj, user=request.user, note=form.cleaned_data.get("sign_off_note", ""))
        except AuditError as exc:
            request._audit_refused = str(exc)
            return
        obj.signed_off_at, obj.signed_off_by = signed.signed_off_at, signed.signed_off_by

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "sign_off_note" in form.base_fields:
            form.base_fields["sign_off_note"].required = True
            form.base_fields["sign_off_note"].help_text = _("What you checked and what was done about the findings.")
        return form

    def response_change(self, request, obj):
        refused = getattr(request, "_audit_refused", None)
        if refused:
            self.message_user(request, refused, messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(request, _("The review is signed off."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:audit_accessreview_changelist"))


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    """Four eyes: every step prepared by one person and decided by a second. The decision is taken
    on the record itself (a request's workflow page, the legal holds' actions), linked here."""

    list_display = ["requested_at", "kind", "record", "prepared_by", "decision", "decided_by", "decided_at"]
    list_filter = ["decision", "kind"]
    list_select_related = ["prepared_by", "decided_by", "content_type"]
    search_fields = ["=object_repr"]
    date_hierarchy = "requested_at"

    @admin.display(description=_("record"))
    def record(self, obj: Approval):
        from django.urls import NoReverseMatch
        from django.utils.html import format_html

        ct = obj.content_type
        try:
            url = reverse(f"admin:{ct.app_label}_{ct.model}_change", args=[obj.object_id])
        except NoReverseMatch:
            return obj.object_repr
        return format_html('<a href="{}">{}</a>', url, obj.object_repr)


# Library admins whose actions declare no permission, which Django then offers to anyone who may
# view the list (the auditor may view sign-in attempts): each now asks for the model's change or
# delete permission. "Run tasks" on a periodic task would start a destruction run as the system.
def _declare_library_action_permissions() -> None:
    from axes.admin import AccessAttemptAdmin
    from django_celery_beat.admin import PeriodicTaskAdmin

    AccessAttemptAdmin.cleanup_expired_attempts.allowed_permissions = ("delete",)
    for name in ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks"):
        getattr(PeriodicTaskAdmin, name).allowed_permissions = ("change",)


_declare_library_action_permissions()


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    """The run history of the periodic jobs (audit/jobruns.py)."""

    list_display = ["job", "started", "duration", "status", "what_it_did", "error"]
    list_filter = ["status", "task"]
    date_hierarchy = "started_at"
    actions = None

    @admin.display(description=_("job"), ordering="task")
    def job(self, obj):
        return job_name(obj.task)

    @admin.display(description=_("started at"), ordering="started_at")
    def started(self, obj):
        return seoul_time(obj.started_at)

    @admin.display(description=_("duration"), ordering="duration_ms")
    def duration(self, obj):
        if obj.duration_ms is None:
            return "-"
        return f"{obj.duration_ms / 1000:.1f} s" if obj.duration_ms >= 1000 else f"{obj.duration_ms} ms"

    @admin.display(description=_("what it did"))
    def what_it_did(self, obj):
        return summarise(obj.result) if obj.status == "succeeded" else "-"
