"""The breach register in the admin (SA-08): officer only (incidents.handle_incident, OFFICER_ONLY).

The list of affected people is its own admin page, so the project's admin site writes the access
log for every view and export of it (subjects/admin_logging.py); the incident page shows counts only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.admin_logging import log_admin_access
from audit.models import AccessAction
from policy.contacts import complaint_institutions, privacy_officer
from privacyops.lib.admin import confirm_first
from subjects.registry import DataCategory
from thirdparty.models import Processor

from . import notices, posting, services, sms
from .models import (
    REPORT_TRIGGER_LABELS,
    AffectedPerson,
    DelayReason,
    Incident,
    IncidentEvent,
    IncidentNotice,
    IncidentPosting,
    RegulatorAuthority,
)
from .tasks import send_incident_notices

PERMISSION = services.PERMISSION


class OfficerOnly:
    """Every door of these admins asks for the officer's permission; nothing is deleted here."""

    def has_module_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request, *args):
        return request.user.has_perm(PERMISSION)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(PERMISSION)

    def has_delete_permission(self, request, obj=None):
        return False


class IncidentForm(forms.ModelForm):
    data_categories = forms.MultipleChoiceField(
        label=_("data categories involved"),
        choices=DataCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "discovered_at",
            "discovery_method",
            "discovery_details",
            "aware_at",
            "occurred_at",
            "description",
            "data_categories",
            "leaked_items",
            "sensitive_or_unique_ids",
            "outside_unauthorised_access",
            "processors",
            "affected_count_estimate",
            "no_contact_reason",
            "containment_measures",
            "remedial_measures",
            "what_person_can_do_ko",
            "what_person_can_do_en",
            "damage_relief",
        ]


class IncidentEventInline(OfficerOnly, admin.TabularInline):
    model = IncidentEvent
    fields = ["at", "kind", "actor", "hours", "reference", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("timeline")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AffectedQueryForm(forms.Form):
    data_categories = forms.MultipleChoiceField(
        label=_("data categories"), choices=DataCategory.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    rows_from = forms.DateTimeField(label=_("rows from"), required=False, help_text="YYYY-MM-DD HH:MM")
    rows_until = forms.DateTimeField(label=_("rows until"), required=False, help_text="YYYY-MM-DD HH:MM")
    processors = forms.ModelMultipleChoiceField(
        label=_("shared with processors"),
        queryset=Processor.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("file (CSV or text: email, phone, language)"), required=False)
    text = forms.CharField(label=_("or paste the list"), widget=forms.Textarea, required=False)
    confirmed = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def list_text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size > 5 * 1024 * 1024:
                raise forms.ValidationError(_("The file is larger than 5 MB."))
            try:
                return upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        return self.cleaned_data.get("text") or ""


class DelayForm(forms.Form):
    delay_reason = forms.ChoiceField(
        label=_("reason for the delay"), choices=[("", "—"), *DelayReason.choices], required=False
    )
    delay_note = forms.CharField(label=_("details"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class NotifiedForm(DelayForm):
    at = forms.DateTimeField(label=_("notified at"), required=False, help_text=_("Empty: now."))


class ReportForm(DelayForm):
    authority = forms.ChoiceField(label=_("reported to"), choices=RegulatorAuthority.choices)
    reference = forms.CharField(label=_("report reference number"), max_length=100)
    submitted_at = forms.DateTimeField(label=_("submitted at"), required=False, help_text=_("Empty: now."))


class ProcessorNoticeForm(forms.Form):
    processor = forms.ModelChoiceField(label=_("processor"), queryset=Processor.objects.order_by("name"))
    notice = forms.FileField(label=_("the processor's notice"))
    received_at = forms.DateTimeField(label=_("received at"), required=False, help_text=_("Empty: now."))


@admin.register(Incident)
class IncidentAdmin(OfficerOnly, admin.ModelAdmin):
    form = IncidentForm
    change_form_template = "admin/incidents/incident/change_form.html"
    list_display = ["reference", "title", "status", "aware_at", "notify_by_display", "report_by_display"]
    list_filter = ["status"]
    search_fields = ["=reference", "title"]
    filter_horizontal = ["processors"]
    inlines = [IncidentEventInline]
    readonly_fields = [
        "reference",
        "status",
        "affected_count_display",
        "notify_by_display",
        "report_by_display",
        "triggers_display",
        "processor_notice_display",
        "notified_at",
        "notify_delay_reason",
        "reported_at",
        "report_authority",
        "report_reference",
        "report_delay_reason",
        "closed_at",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "title", "status"]}),
        (_("Discovery"), {"fields": ["discovered_at", "discovery_method", "discovery_details", "aware_at"]}),
        (
            _("What happened"),
            {
                "fields": [
                    "occurred_at",
                    "description",
                    "data_categories",
                    "leaked_items",
                    "sensitive_or_unique_ids",
                    "outside_unauthorised_access",
                    "processors",
                ]
            },
        ),
        (_("People affected"), {"fields": ["affected_count_estimate", "affected_count_display", "no_contact_reason"]}),
        (
            _("Clocks (computed from aware at)"),
            {"fields": ["notify_by_display", "report_by_display", "triggers_display"]},
        ),
        (
            _("Response"),
            {
                "fields": [
                    "containment_measures",
                    "remedial_measures",
                    "what_person_can_do_ko",
                    "what_person_can_do_en",
                    "damage_relief",
                ]
            },
        ),
        (_("Breach at a processor (PIPA art. 26)"), {"fields": ["processor_notice_display"]}),
        (
            _("Notice and report"),
            {
                "fields": [
                    "notified_at",
                    "notify_delay_reason",
                    "reported_at",
                    "report_authority",
                    "report_reference",
                    "report_delay_reason",
                    "closed_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).with_listed_count()

    @admin.display(description=_("notify by"))
    def notify_by_display(self, obj):
        return timezone.localtime(obj.notify_by).strftime("%Y-%m-%d %H:%M") if obj and obj.aware_at else "—"

    @admin.display(description=_("report by"))
    def report_by_display(self, obj):
        if not obj or not obj.aware_at:
            return "—"
        return timezone.localtime(obj.report_by).strftime("%Y-%m-%d %H:%M") if obj.report_by else _("no report needed")

    @admin.display(description=_("affected people"))
    def affected_count_display(self, obj):
        if not obj or not obj.pk:
            return "—"
        source = _("from the list") if obj.affected_count_source == "list" else _("estimate")
        return f"{obj.affected_count} ({source})"

    @admin.display(description=_("report triggers"))
    def triggers_display(self, obj):
        if not obj or not obj.pk:
            return "—"
        return "; ".join(str(REPORT_TRIGGER_LABELS[t]) for t in obj.report_triggers) or _("none")

    @admin.display(description=_("processor's notice"))
    def processor_notice_display(self, obj):
        if not obj or not obj.at_processor_id:
            return "—"
        received = timezone.localtime(obj.processor_notified_at).strftime("%Y-%m-%d %H:%M")
        return f"{obj.at_processor} · {received}"

    def save_model(self, request, obj, form, change):
        if not change:
            services.record_incident(actor=request.user, incident=obj)
        else:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            services.record_change(actor=request.user, incident=form.instance, changed=list(form.changed_data))

    # --- pages of the response -----------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/report/", view(self.report_view), name="incidents_incident_report"),
            path("<int:pk>/report/submit/", view(self.submit_report_view), name="incidents_incident_submit_report"),
            path("<int:pk>/affected/query/", view(self.query_view), name="incidents_incident_query"),
            path("<int:pk>/affected/import/", view(self.import_view), name="incidents_incident_import"),
            path("<int:pk>/contained/", view(self.contained_view), name="incidents_incident_contained"),
            path("<int:pk>/notified/", view(self.notified_view), name="incidents_incident_notified"),
            path("<int:pk>/close/", view(self.close_view), name="incidents_incident_close"),
            path(
                "<int:pk>/processor-notice/",
                view(self.processor_notice_view),
                name="incidents_incident_processor_notice",
            ),
            path(
                "<int:pk>/processor-notice/file/",
                view(self.processor_notice_file_view),
                name="incidents_incident_processor_notice_file",
            ),
            *self.notice_urls(),
            *super().get_urls(),
        ]

    def _incident(self, request, pk) -> Incident:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return get_object_or_404(Incident.objects.with_listed_count(), pk=pk)

    def _back(self, incident):
        return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]))

    def _form_page(self, request, incident, form, title, *, extra=None, multipart=False):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": incident,
            "title": title,
            "form": form,
            "multipart": multipart,
            **(extra or {}),
        }
        return TemplateResponse(request, "admin/incidents/incident/step_form.html", context)

    def _run(self, request, incident, step, success):
        try:
            step()
        except services.IncidentError as exc:
            messages.error(request, str(exc))
            return False
        messages.success(request, success)
        return True

    def report_view(self, request, pk):
        incident = self._incident(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": incident,
            "incident": incident,
            "title": _("Breach report %(ref)s") % {"ref": incident.reference},
            "triggers": [REPORT_TRIGGER_LABELS[t] for t in incident.report_triggers],
            "categories": [DataCategory(c).label for c in incident.data_categories if c in DataCategory.values],
            "officer": privacy_officer(),
            "institutions": complaint_institutions(),
            "events": incident.events.select_related("actor"),
            "processors": incident.processors.order_by("name"),
            "now": timezone.now(),
        }
        return TemplateResponse(request, "admin/incidents/incident/report.html", context)

    def submit_report_view(self, request, pk):
        incident = self._incident(request, pk)
        form = ReportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if self._run(
                request,
                incident,
                lambda: services.record_report_submission(
                    actor=request.user,
                    incident=incident,
                    authority=data["authority"],
                    reference=data["reference"],
                    submitted_at=data["submitted_at"],
                    delay_reason=data["delay_reason"],
                    delay_note=data["delay_note"],
                ),
                _("The report's submission is recorded."),
            ):
                return self._back(incident)
        return self._form_page(request, incident, form, _("Record the report's submission"))

    def query_view(self, request, pk):
        incident = self._incident(request, pk)
        form = AffectedQueryForm(request.POST or None, initial={"data_categories": incident.data_categories})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            result = {}

            def step():
                result["query"] = services.save_affected_query(
                    actor=request.user,
                    incident=incident,
                    data_categories=data["data_categories"],
                    rows_from=data["rows_from"],
                    rows_until=data["rows_until"],
                    processors=list(data["processors"]),
                )

            if self._run(request, incident, step, _("The query is saved and the people it found are listed.")):
                return self._back(incident)
        return self._form_page(request, incident, form, _("Find the people affected in the registry"))

    def import_view(self, request, pk):
        incident = self._incident(request, pk)
        form = ImportForm(request.POST or None, request.FILES or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            try:
                text = form.list_text()
            except forms.ValidationError as exc:
                form.add_error("file", exc)
            else:
                if form.cleaned_data.get("confirmed"):
                    if self._run(
                        request,
                        incident,
                        lambda: services.import_affected_people(actor=request.user, incident=incident, text=text),
                        _("The people of the list are added."),
                    ):
                        return self._back(incident)
                preview = services.preview_affected_import(incident=incident, text=text)
                # The preview is shown with the list kept in the form, to confirm with one click.
                form = ImportForm(initial={"text": text, "confirmed": True})
        return self._form_page(
            request, incident, form, _("Import the people affected"), extra={"preview": preview}, multipart=True
        )

    def contained_view(self, request, pk):
        incident = self._incident(request, pk)
        form = forms.Form(request.POST or None)
        if request.method == "POST":
            self._run(
                request,
                incident,
                lambda: services.mark_contained(actor=request.user, incident=incident),
                _("The incident is recorded as contained."),
            )
            return self._back(incident)
        return self._form_page(request, incident, form, _("Record containment"))

    def notified_view(self, request, pk):
        incident = self._incident(request, pk)
        form = NotifiedForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if self._run(
                request,
                incident,
                lambda: services.mark_notified(
                    actor=request.user,
                    incident=incident,
                    at=data["at"],
                    delay_reason=data["delay_reason"],
                    delay_note=data["delay_note"],
                ),
                _("The people affected are recorded as notified."),
            ):
                return self._back(incident)
        return self._form_page(request, incident, form, _("Record that everyone affected was notified"))

    def close_view(self, request, pk):
        incident = self._incident(request, pk)
        form = forms.Form(request.POST or None)
        if request.method == "POST":
            self._run(
                request,
                incident,
                lambda: services.close_incident(actor=request.user, incident=incident),
                _("The incident is closed."),
            )
            return self._back(incident)
        return self._form_page(request, incident, form, _("Close the incident"))

    def processor_notice_view(self, request, pk):
        incident = self._incident(request, pk)
        form = ProcessorNoticeForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if self._run(
                request,
                incident,
                lambda: services.attach_processor_notice(
                    actor=request.user,
                    incident=incident,
                    processor=data["processor"],
                    notice_file=data["notice"],
                    received_at=data["received_at"],
                ),
                _("The processor's notice is attached."),
            ):
                return self._back(incident)
        return self._form_page(request, incident, form, _("Attach a processor's breach notice"), multipart=True)

    def processor_notice_file_view(self, request, pk):
        incident = self._incident(request, pk)
        if not incident.processor_notice:
            raise Http404
        log_admin_access(
            request,
            action=AccessAction.DOWNLOAD,
            subject_ids=[],
            object_repr=f"incidents.Incident #{incident.pk} notice",
        )
        return FileResponse(incident.processor_notice.open("rb"), as_attachment=True)

    # notices (points 3-4): actions and links of the notices and the posting go below.
    actions = ["send_notices"]

    def notice_urls(self):
        view = self.admin_site.admin_view
        return [path("<int:pk>/notices/", view(self.notices_view), name="incidents_incident_notices")]

    @admin.action(description=_("Preview and send notices to the people affected"), permissions=["change"])
    def send_notices(self, request, queryset):
        if queryset.count() != 1:
            messages.error(
                request, _("Choose one incident: its notices are previewed and sent one incident at a time.")
            )
            return None
        return HttpResponseRedirect(reverse("admin:incidents_incident_notices", args=[queryset.get().pk]))

    def notices_view(self, request, pk):
        """Both languages of the notice, who gets it by which channel, then the confirmed send."""
        incident = self._incident(request, pk)
        if request.method == "POST" and request.POST.get("confirm") == "send":
            try:
                plan = notices.queue_incident_notices(incident=incident, actor=request.user)
            except (notices.NoticeError, posting.PostingError) as exc:
                messages.error(request, str(exc))
            else:
                # The worker sends them after this request; the beat job every 5 minutes catches up.
                send_incident_notices.delay_on_commit()
                messages.success(
                    request,
                    _("%(email)s notices by email and %(sms)s by SMS are being sent.")
                    % {"email": plan.email, "sms": plan.sms},
                )
                return self._back(incident)
        live = posting.live_posting(incident)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": incident,
            "title": _("Notices to the people affected"),
            "previews": notices.preview_incident_notices(incident=incident),
            "plan": notices.plan_incident_notices(incident=incident),
            "missing": notices.missing_notice_items(incident),
            "progress": notices.notice_progress(incident),
            "posting_needed": posting.posting_trigger_holds(incident),
            "posting": live,
            "posting_url": reverse("incidents:posting", args=[live.slug]) if live else "",
            "sms_problem": sms.configured(),
            "sms_confirmed": sms.VENDOR_CONFIRMED,
        }
        return TemplateResponse(request, "admin/incidents/incident/notices.html", context)


@admin.register(AffectedPerson)
class AffectedPersonAdmin(OfficerOnly, admin.ModelAdmin):
    list_display = ["pk", "incident", "subject", "email", "phone", "language", "source", "added_at"]
    list_filter = ["source"]
    list_select_related = ["incident"]
    search_fields = ["=incident__reference", "=email", "=phone", "=subject__id"]
    raw_id_fields = ["incident", "subject"]
    readonly_fields = ["incident", "subject", "source", "added_at"]

    def has_add_permission(self, request, *args):
        return False


# --- notices and the website posting (points 3-4) ---------------------------------------------


@admin.register(IncidentNotice)
class IncidentNoticeAdmin(OfficerOnly, admin.ModelAdmin):
    """The delivery record of each notice; the address is on the affected person, not here."""

    list_display = ["pk", "incident", "person", "channel", "language", "status", "attempts", "sent_at", "error"]
    list_filter = ["status", "channel", "language"]
    list_select_related = ["incident", "person"]
    search_fields = ["=incident__reference"]
    raw_id_fields = ["incident", "person"]
    readonly_fields = [f.name for f in IncidentNotice._meta.fields if f.name != "id"]
    actions = ["retry_notices"]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.action(description=_("Try the chosen failed notices again now"), permissions=["view"])
    @confirm_first(
        title=_("Send these breach notices again now?"),
        consequences=lambda admin, request, queryset: [
            _("Sends the notice again to the people of %(n)d notice(s) that failed.") % {"n": queryset.count()}
        ],
        confirm_label=_("Yes, send them again"),
    )
    def retry_notices(self, request, queryset):
        count = notices.retry_incident_notices(
            notice_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        send_incident_notices.delay_on_commit()
        messages.success(request, _("%(n)s notices will be tried again.") % {"n": count})


@admin.register(IncidentPosting)
class IncidentPostingAdmin(OfficerOnly, admin.ModelAdmin):
    list_display = ["slug", "incident", "posted_at", "removable_after", "removed_at"]
    list_select_related = ["incident"]
    readonly_fields = ["incident", "slug", "posted_at", "removable_after", "removed_at", "posted_by", "removed_by"]
    actions = ["take_down"]

    def has_add_permission(self, request, *args):
        return False

    @admin.action(description=_("Take the chosen postings off the website"), permissions=["view"])
    @confirm_first(
        title=_("Take these postings off the website?"),
        consequences=lambda admin, request, queryset: [
            _("Removes %(n)d breach posting(s) from the public website; their addresses stop working.")
            % {"n": queryset.filter(removed_at__isnull=True).count()}
        ],
        confirm_label=_("Yes, take them down"),
    )
    def take_down(self, request, queryset):
        for row in queryset:
            try:
                posting.take_down_posting(posting=row, actor=request.user)
            except posting.PostingError as exc:
                messages.error(request, f"{row.slug}: {exc}")
            else:
                messages.success(request, _("%(slug)s is off the website.") % {"slug": row.slug})
