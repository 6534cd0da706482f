"""Staff side of the requests: intake of phone/fax/letter/email/in-person requests, the
workflow page (every action calls a service), the timeline, and days left in colour."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.approvals import can_approve
from privacyops.lib.admin import (
    ReadOnlyAdmin,
    confirmation_choice,
    confirmation_page,
    is_confirmed,
)
from privacyops.lib.http import client_ip
from privacyops.lib.i18n import counted
from privacyops.lib.korean import resolve_particles
from privacyops.lib.people import mask_email, person_label
from privacyops.lib.times import seoul_time

from . import fulfilment, inbox, services
from .forms import (
    ApproveForm,
    BuildPackageForm,
    ExtendForm,
    GdprForm,
    GroundForm,
    KeepForm,
    LiftSuspensionForm,
    MergeForm,
    NoteForm,
    PostponeForm,
    RefuseForm,
    ReplyForm,
    StaffRequestForm,
    SuspendForm,
)
from .models import (
    AT_RISK_DAYS,
    OPEN_STATUSES,
    DataSubjectRequest,
    EventKind,
    ReplyTemplate,
    RequestChannel,
    RequestEvent,
    RequestStatus,
    RequestType,
    deadline_state,
    private_storage,
    seoul_today,
)


def days_left_badge(request: DataSubjectRequest, today=None):
    if not request.is_open:
        return format_html('<span style="color:#4a4a55">{}</span>', _("closed"))
    days = request.days_left(today or seoul_today())
    state = deadline_state(days)
    if state == "overdue":
        colour, background, text = "#fff", "#a4161a", _("%(n)d days overdue") % {"n": -days}
    elif state == "at_risk":
        colour, background, text = "#1b1b1f", "#ffc107", _("%(n)d days left") % {"n": days}
    else:
        colour, background, text = "#fff", "#2e7d32", _("%(n)d days left") % {"n": days}
    css_class = state.replace("_", "-")
    return format_html(
        '<span class="dsar-days {}" style="color:{};background:{};padding:2px 8px;border-radius:10px;'
        'white-space:nowrap">{}</span>',
        css_class,
        colour,
        background,
        text,
    )


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    fields = ["when", "what", "actor", "note"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("when"))
    def when(self, obj):
        return seoul_time(obj.at)

    @admin.display(description=gettext_lazy("what happened"))
    def what(self, obj):
        return inbox.describe_event(obj)

    extra = 0
    can_delete = False
    ordering = ["at", "pk"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("at_risk", _("Fewer than %(days)s days left") % {"days": AT_RISK_DAYS}),
            ("on_track", _("On track")),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("overdue", "at_risk", "on_track"):
            return queryset.by_deadline_state(self.value(), seoul_today())
        return queryset


class RequestChangeForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ["assignee", "subject"]


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):
    form = RequestChangeForm
    list_display = [
        "reference",
        "person",
        "request_type",
        "status",
        "channel",
        "received",
        "due_on",
        "days_left",
        "assignee",
        "duplicates",
    ]
    list_filter = [OverdueFilter, "status", "request_type", "channel", "is_agent"]
    list_select_related = ["assignee"]
    search_fields = ["=reference", "=email", "=agent_email"]
    date_hierarchy = "received_at"
    raw_id_fields = ["subject"]
    autocomplete_fields = ["assignee"]
    inlines = [RequestEventInline]
    actions = ["assign_selected"]
    change_form_template = "admin/dsar/datasubjectrequest/change_form.html"
    readonly_fields = [
        "reference",
        "request_type",
        "status",
        "channel",
        "language",
        "name",
        "email",
        "phone",
        "details",
        "is_agent",
        "agent_name",
        "agent_email",
        "agent_phone",
        "agent_relationship",
        "documents",
        "received_at",
        "due_on",
        "original_due_on",
        "days_left",
        "verification_sent_at",
        "email_confirmed_at",
        "verified_at",
        "verification_method",
        "verified_by",
        "package_built_at",
        "package_released_at",
        "download_expires_at",
        "download_count",
        "outcome",
        "refusal_ground",
        "refusal_reason",
        "gdpr_applies",
        "gdpr_extension_months",
        "closed_at",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "request_type", "status", "channel", "language", "assignee", "subject"]}),
        (
            gettext_lazy("Deadline"),
            {
                "fields": [
                    "received_at",
                    "due_on",
                    "original_due_on",
                    "days_left",
                    "gdpr_applies",
                    "gdpr_extension_months",
                ]
            },
        ),
        (
            gettext_lazy("Requester"),
            {
                "fields": [
                    "name",
                    "email",
                    "phone",
                    "details",
                    "is_agent",
                    "agent_name",
                    "agent_email",
                    "agent_phone",
                    "agent_relationship",
                    "documents",
                ]
            },
        ),
        (
            gettext_lazy("Verification"),
            {
                "fields": [
                    "verification_sent_at",
                    "email_confirmed_at",
                    "verified_at",
                    "verification_method",
                    "verified_by",
                ]
            },
        ),
        (
            gettext_lazy("Outcome"),
            {
                "fields": [
                    "package_built_at",
                    "package_released_at",
                    "download_expires_at",
                    "download_count",
                    "outcome",
                    "refusal_ground",
                    "refusal_reason",
                    "closed_at",
                ]
            },
        ),
    ]

    @admin.display(description=gettext_lazy("days left"), ordering="due_on")
    def days_left(self, obj):
        return days_left_badge(obj)

    @admin.display(description=gettext_lazy("person"))
    def person(self, obj):
        return person_label(obj.name, obj.email)

    @admin.display(description=gettext_lazy("received"), ordering="received_at")
    def received(self, obj):
        return seoul_time(obj.received_at)

    @admin.display(description=gettext_lazy("possible duplicates"))
    def duplicates(self, obj):
        refs = list(inbox.duplicates_of(obj).values_list("pk", "reference")[:5])
        if not refs:
            return ""
        return format_html(
            '<span class="dsar-duplicate" style="color:#ba2121">{}</span> {}',
            _("Duplicate?"),
            format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                ((reverse("admin:dsar_datasubjectrequest_workflow", args=[pk]), ref) for pk, ref in refs),
            ),
        )

    def get_ordering(self, request):
        # Open requests first, the nearest deadline first (the inbox by days left).
        open_first = Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1))
        return [open_first.asc(), "due_on", "pk"]

    @admin.action(description=gettext_lazy("Assign the selected requests to a staff member"), permissions=["change"])
    def assign_selected(self, request, queryset):
        staff = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        choices = [(u.pk, u.get_full_name() or u.get_username()) for u in staff]
        if not is_confirmed(request, choices=choices):
            return confirmation_page(
                request,
                admin_site=self.admin_site,
                opts=self.model._meta,
                title=_("Assign the selected requests"),
                consequences=[
                    _(
                        "Assigns %(n)d open request(s) to the staff member chosen below; "
                        "closed ones are left as they are."
                    )
                    % {"n": queryset.filter(status__in=OPEN_STATUSES).count()}
                ],
                objects=[f"{r.reference} · {person_label(r.name, r.email)}" for r in queryset[:50]],
                confirm_label=_("Assign"),
                cancel_url=request.get_full_path(),
                carry={"action": "assign_selected"},
                choice_label=_("Assignee"),
                choices=choices,
            )
        assignee = staff.get(pk=confirmation_choice(request))
        try:
            done = inbox.assign_many(requests=list(queryset), assignee=assignee, actor=request.user)
        except services.RequestError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        self.message_user(request, _("%(n)d request(s) assigned.") % {"n": done})
        return None

    @admin.display(description=gettext_lazy("documents"))
    def documents(self, obj):
        links = []
        for kind, field_file, label in (
            ("power_of_attorney", obj.power_of_attorney, _("Power of attorney")),
            ("original_document", obj.original_document, _("Original document")),
        ):
            if field_file:
                url = reverse("admin:dsar_datasubjectrequest_file", args=[obj.pk, kind])
                links.append(format_html('<a href="{}">{}</a>', url, label))
        return format_html(" · ".join(["{}"] * len(links)), *links) if links else "-"

    def has_delete_permission(self, request, obj=None):
        # Requests are evidence (DSAR-13); they go by the retention rule or the unverified sweep.
        return False

    # --- intake -------------------------------------------------------------------------------

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<int:pk>/workflow/",
                self.admin_site.admin_view(self.workflow_view),
                name="{}_{}_workflow".format(*info),
            ),
            path(
                "<int:pk>/file/<str:kind>/", self.admin_site.admin_view(self.file_view), name="{}_{}_file".format(*info)
            ),
            *super().get_urls(),
        ]

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = StaffRequestForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    created = services.record_staff_request(
                        actor=request.user,
                        channel=data["channel"],
                        request_type=data["request_type"],
                        name=data["name"],
                        email=data["email"],
                        phone=data["phone"],
                        details=data["details"],
                        language=data["language"],
                        received_at=data["received_at"],
                        original_document=data["original_document"],
                        is_agent=data["is_agent"],
                        agent_name=data["agent_name"],
                        agent_email=data["agent_email"],
                        agent_phone=data["agent_phone"],
                        agent_relationship=data["agent_relationship"],
                        power_of_attorney=data["power_of_attorney"],
                        identity_checked=data["identity_checked"],
                        identity_note=data["identity_note"],
                        purposes=data.get("purposes") or [],
                    )
                except services.RequestError as exc:
                    form.add_error(None, str(exc))
                else:
                    services.log_request_access(
                        created, user=request.user, ip=client_ip(request), action="create", path=request.path
                    )
                    self.message_user(
                        request, resolve_particles(_("Request %(ref)s recorded.") % {"ref": created.reference})
                    )
                    return HttpResponseRedirect(reverse("admin:dsar_datasubjectrequest_workflow", args=[created.pk]))
        else:
            form = StaffRequestForm(initial={"received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a request received by phone, fax, letter, email or in person"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/dsar/datasubjectrequest/intake.html", context)

    def save_model(self, request, obj, form, change):
        # Only the assignee and the linked subject are editable, each through its service.
        if not change:
            raise PermissionDenied
        current = DataSubjectRequest.objects.get(pk=obj.pk)
        try:
            if "assignee" in form.changed_data:
                services.assign_request(request=current, assignee=obj.assignee, actor=request.user)
            if "subject" in form.changed_data:
                services.link_subject(request=current, subject=obj.subject, actor=request.user)
        except services.RequestError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    # --- files --------------------------------------------------------------------------------

    def file_view(self, request: HttpRequest, pk: int, kind: str):
        obj = get_object_or_404(DataSubjectRequest, pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        field_file = {
            "power_of_attorney": obj.power_of_attorney,
            "original_document": obj.original_document,
            "package": obj.package_file,
        }.get(kind)
        if not field_file:
            raise Http404
        if kind == "package":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            services.review_package(request=obj, actor=request.user, ip=client_ip(request), path=request.path)
            filename = f"{obj.reference}.zip"
        else:
            services.log_request_access(
                obj, user=request.user, ip=client_ip(request), action="download", path=request.path, detail=kind
            )
            filename = f"{obj.reference}-{kind}.{field_file.name.rsplit('.', 1)[-1]}"
        try:
            handle = private_storage().open(field_file.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, as_attachment=True, filename=filename)
        response["Cache-Control"] = "no-store"
        return response

    # --- workflow -----------------------------------------------------------------------------

    ACTIONS = {
        "verify_identity": NoteForm,
        "start": None,
        "assign_to_me": None,
        "mark_gdpr": GdprForm,
        "extend": ExtendForm,
        "postpone": PostponeForm,
        "build_package": BuildPackageForm,
        "release_package": None,
        "carry_out_deletion": None,
        "erase_now": None,
        "suspend": SuspendForm,
        "lift_suspension": LiftSuspensionForm,
        "withdraw_consents": KeepForm,
        "record_correction": NoteForm,
        "complete_no_data": NoteForm,
        "close": None,
        "reject": GroundForm,
        "withdraw_request": NoteForm,
        "note": NoteForm,
        "approve": ApproveForm,
        "refuse_approval": RefuseForm,
        "merge": MergeForm,
        "reply": ReplyForm,
    }

    def available_actions(self, obj: DataSubjectRequest, user=None) -> list[str]:
        # Four eyes: the officer (not the preparer) sees the decision on what waits for approval.
        pending = services.pending_approvals(obj)
        decide = (
            ["approve", "refuse_approval"]
            if any(can_approve(user) and a.prepared_by_id != user.pk for a in pending)
            else []
        )
        # DSAR-06: the officer may lift a suspension this request put in place, open or closed.
        lift = ["lift_suspension"] if can_approve(user) and fulfilment.suspended_purposes(obj) else []
        if not obj.is_open:
            return [*(["refuse_approval"] if "refuse_approval" in decide else []), *lift, "note"]
        actions = list(decide)
        if not obj.is_verified:
            if obj.channel != RequestChannel.WEB_FORM or (obj.is_agent and obj.email_confirmed_at):
                actions.append("verify_identity")
        else:
            if obj.status == RequestStatus.VERIFIED:
                actions.append("start")
            kind = obj.request_type
            if kind in (RequestType.ACCESS, RequestType.PORTABILITY):
                actions += ["build_package"] if obj.subject_id else ["complete_no_data"]
                actions.append("postpone")
                if obj.package_file:
                    actions.append("release_package")
            elif kind == RequestType.DELETION and obj.status != RequestStatus.AWAITING_VENDORS:
                if not fulfilment.approved_erasure_waits(obj):
                    actions.append("carry_out_deletion")
                elif fulfilment.approved_erasure_waits(obj, user):
                    actions.append("erase_now")  # approved, then stopped by a system that was down
            elif kind == RequestType.SUSPENSION and obj.status != RequestStatus.AWAITING_VENDORS:
                actions.append("suspend")
            elif kind == RequestType.WITHDRAWAL and obj.status != RequestStatus.AWAITING_VENDORS:
                actions.append("withdraw_consents")
            elif kind == RequestType.CORRECTION:
                actions.append("record_correction")
            if obj.status == RequestStatus.AWAITING_VENDORS:
                actions.append("close")
            if not obj.subject_id and kind not in (RequestType.ACCESS, RequestType.PORTABILITY):
                actions.append("complete_no_data")
        actions.append("assign_to_me")
        if inbox.duplicates_of(obj).exists():
            actions.append("merge")
        if obj.contact_email:
            actions.append("reply")
        # DSAR-10: only a request the officer marked as under the GDPR can be extended; PIPA has no extension.
        if can_approve(user):
            actions.append("mark_gdpr")
        if obj.gdpr_applies:
            actions.append("extend")
        actions += [*lift, "reject", "withdraw_request", "note"]
        return actions

    def workflow_form(self, name: str, obj: DataSubjectRequest, data=None):
        form_class = self.ACTIONS[name]
        if form_class is None:
            return None
        kwargs = {"request_type": obj.request_type} if issubclass(form_class, GroundForm) else {}
        if form_class is KeepForm:
            kwargs["datasets"] = fulfilment.consent_only_data(obj)
        if form_class is SuspendForm:
            kwargs["datasets"] = fulfilment.consent_only_data(obj, purposes=fulfilment.all_purposes())
            if data is None:
                kwargs["initial"] = {"purposes": obj.requested_purposes}
        if form_class is LiftSuspensionForm:
            kwargs["suspended"] = fulfilment.suspended_purposes(obj)
        if form_class is MergeForm:
            kwargs["duplicates"] = list(inbox.duplicates_of(obj))
        if form_class is ReplyForm:
            kwargs["templates"] = list(inbox.templates_for(obj))
        if form_class is GdprForm and data is None:
            kwargs["initial"] = {"applies": not obj.gdpr_applies}
        return form_class(data, prefix=name, **kwargs)

    def _run(self, request: HttpRequest, obj: DataSubjectRequest, action: str, data: dict):
        user = request.user
        match action:
            case "verify_identity":
                return services.verify_identity(request=obj, actor=user, note=data.get("note", ""))
            case "start":
                return services.start_request(request=obj, actor=user)
            case "assign_to_me":
                return services.assign_request(request=obj, assignee=user, actor=user)
            case "mark_gdpr":
                return services.mark_gdpr_overlay(
                    request=obj, actor=user, applies=data.get("applies", False), note=data.get("note", "")
                )
            case "extend":
                return services.extend_deadline(request=obj, actor=user, months=data["months"], reason=data["reason"])
            case "postpone":
                return services.postpone_access(
                    request=obj, actor=user, ground=data["ground"], until=data["until"], note=data.get("note", "")
                )
            case "build_package":
                return services.build_access_package(
                    request=obj,
                    actor=user,
                    include_withheld=data.get("include_withheld", False),
                    note=data.get("note", ""),
                )
            case "approve":
                return services.decide_request_approval(
                    request=obj,
                    actor=user,
                    approve=True,
                    note=data.get("note", ""),
                    to_unregistered=data.get("to_unregistered", False),
                )
            case "refuse_approval":
                return services.decide_request_approval(
                    request=obj, actor=user, approve=False, note=data.get("note", "")
                )
            case "release_package":
                return services.release_access_package(request=obj, actor=user)
            case "carry_out_deletion":
                return fulfilment.carry_out_deletion(request=obj, actor=user)
            case "erase_now":
                return fulfilment.erase_now(request=obj, actor=user)
            case "suspend":
                return fulfilment.suspend_processing(
                    request=obj,
                    actor=user,
                    purposes=data.get("purposes") or [],
                    keep=data.get("kept", {}),
                    note=data.get("note", ""),
                )
            case "lift_suspension":
                return fulfilment.lift_suspension(
                    request=obj,
                    actor=user,
                    purposes=data.get("purposes") or [],
                    note=data.get("note", ""),
                    ip=client_ip(request),
                    path=request.path,
                )
            case "withdraw_consents":
                return fulfilment.withdraw_consents(request=obj, actor=user, keep=data.get("kept", {}))
            case "record_correction":
                return services.record_correction(request=obj, actor=user, note=data.get("note", ""))
            case "complete_no_data":
                return services.complete_request(request=obj, actor=user, note=data.get("note", ""), no_data=True)
            case "close":
                return fulfilment.close_request(request=obj, actor=user)
            case "reject":
                return services.reject_request(
                    request=obj, actor=user, ground=data["ground"], note=data.get("note", "")
                )
            case "withdraw_request":
                return services.withdraw_request(request=obj, actor=user, note=data.get("note", ""))
            case "merge":
                into = DataSubjectRequest.objects.get(pk=data["into"])
                return inbox.merge_duplicate(request=obj, into=into, actor=user)
            case "reply":
                return inbox.reply(request=obj, actor=user, text=reply_text(obj, data))
            case "note":
                note = (data.get("note") or "").strip()
                if not note:
                    raise services.RequestError(_("Write the note first."))
                return services.record_event(obj, EventKind.NOTE, actor=user, note=note)
        raise services.RequestError(_("Unknown action."))

    def workflow_view(self, request: HttpRequest, pk: int):
        obj = get_object_or_404(DataSubjectRequest.objects.select_related("assignee", "subject"), pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        url = reverse("admin:dsar_datasubjectrequest_workflow", args=[obj.pk])
        available = self.available_actions(obj, request.user)
        bound: dict[str, forms.Form] = {}
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            action = request.POST.get("action", "")
            if action not in available:
                self.message_user(request, _("That action is not available for this request now."), messages.ERROR)
                return HttpResponseRedirect(url)
            form = self.workflow_form(action, obj, request.POST)
            if (form is None or form.is_valid()) and action in CONFIRM_ACTIONS and not is_confirmed(request):
                # The act destroys, sends or closes: say exactly what will happen, then wait.
                cleaned = form.cleaned_data if form else {}
                return confirmation_page(
                    request,
                    admin_site=self.admin_site,
                    opts=self.model._meta,
                    title=_("%(action)s: %(ref)s") % {"action": ACTION_LABELS[action], "ref": obj.reference},
                    consequences=workflow_consequences(obj, action, cleaned, request.user),
                    confirm_label=_("Yes, go ahead"),
                    cancel_url=url,
                    objects=[f"{obj.reference} · {person_label(obj.name, obj.email)}"],
                )
            if form is None or form.is_valid():
                waiting = {a.pk for a in services.pending_approvals(obj)}
                try:
                    cleaned = form.cleaned_data if form else {}
                    if isinstance(form, KeepForm):
                        cleaned = {**cleaned, "kept": form.kept()}
                    self._run(request, obj, action, cleaned)
                except services.RequestError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    if {a.pk for a in services.pending_approvals(obj)} - waiting:
                        # Four eyes: the step is asked for, not done, until a second person approves.
                        message = _("Waiting for a second person's approval: %(action)s.")
                    else:
                        message = _("Done: %(action)s.")
                    self.message_user(request, message % {"action": ACTION_LABELS[action]})
                    return HttpResponseRedirect(url)
            elif form is not None:
                bound[action] = form
        else:
            services.log_request_access(obj, user=request.user, ip=client_ip(request), action="view", path=request.path)
        obj.refresh_from_db()
        available = self.available_actions(obj, request.user)
        action_forms = [
            {
                "name": name,
                "label": ACTION_LABELS[name],
                "form": bound.get(name) or self.workflow_form(name, obj),
                "danger": name in ("carry_out_deletion", "erase_now", "reject"),
            }
            for name in available
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Request %(ref)s") % {"ref": obj.reference},
            "dsar": obj,
            "opts": self.model._meta,
            "original": obj,
            "days_left": days_left_badge(obj),
            "events": obj.events.select_related("actor").order_by("at", "pk"),
            "timeline": inbox.timeline(obj),
            "duplicates": list(inbox.duplicates_of(obj)),
            "person": person_label(obj.name, obj.email),
            "subject_label": person_label(obj.subject.name, obj.subject.email, obj.subject_id)
            if obj.subject_id
            else "",
            "received_at": seoul_time(obj.received_at),
            "action_forms": action_forms,
            "can_change": self.has_change_permission(request, obj),
            "package_url": reverse("admin:dsar_datasubjectrequest_file", args=[obj.pk, "package"])
            if obj.package_file
            else "",
            "subject_url": reverse("admin:subjects_datasubject_change", args=[obj.subject_id])
            if obj.subject_id
            else "",
            "erasure": fulfilment.deletion_context(obj) if obj.outcome.get("erasure") else None,
            "pending_approvals": services.pending_approvals(obj),
            "requested_purposes": fulfilment.purpose_names(obj.requested_purposes),
        }
        return TemplateResponse(request, "admin/dsar/datasubjectrequest/workflow.html", context)


# The workflow steps that destroy, send or close: each shows the confirmation page first.
def reply_text(obj: DataSubjectRequest, data: dict) -> str:
    message = (data.get("message") or "").strip()
    if message:
        return message
    template = ReplyTemplate.objects.filter(pk=data.get("template") or 0).first()
    return template.render(obj) if template else ""


CONFIRM_ACTIONS = {
    "carry_out_deletion",
    "erase_now",
    "withdraw_consents",
    "suspend",
    "release_package",
    "record_correction",
    "complete_no_data",
    "close",
    "reject",
    "withdraw_request",
    "approve",
    "merge",
    "reply",
}


def _rows_held(obj: DataSubjectRequest) -> tuple[list[str], int]:
    """The person's rows per kind of record (in the active language), and the rows a law keeps."""
    from subjects.registry import registry

    parts, kept = [], 0
    if not obj.subject_id:
        return parts, kept
    for entry in registry.entries():
        rows = entry.rows_of(obj.subject_id)
        if entry.label in ("subjects.DataSubject", "dsar.DataSubjectRequest", "dsar.RequestEvent"):
            continue  # the profile and the request's own record are stated apart
        count = rows.count()
        if not count:
            continue
        parts.append(counted(count, entry.verbose_name))
        keep_q = entry.kept_after_erasure_q()
        if keep_q is not None:
            kept += rows.filter(keep_q).count()
    return parts, kept


def workflow_consequences(obj: DataSubjectRequest, action: str, cleaned: dict, user) -> list[str]:
    """What a workflow step will do, in sentences, for the confirmation page."""
    who = person_label(obj.name, obj.email)
    mail_to = mask_email(obj.agent_email if obj.is_agent and obj.agent_email else obj.email) or _("the requester")
    tells = _("Emails %(to)s to say so.") % {"to": mail_to}
    lines: list[str] = []
    if action in ("carry_out_deletion", "approve", "erase_now"):
        pending = {a.kind for a in services.pending_approvals(obj)} if action == "approve" else {"dsar.erasure"}
        if "dsar.erasure" in pending:
            parts, kept = _rows_held(obj)
            held = ", ".join([*parts, _("the profile (name and contact details)")])
            if action == "carry_out_deletion":
                lines.append(
                    _("Asks for the erasure of everything held about %(who)s: %(held)s.") % {"who": who, "held": held}
                )
                lines.append(_("Nothing is erased until a second person approves."))
            else:
                lines.append(_("Erases everything held about %(who)s now: %(held)s.") % {"who": who, "held": held})
                lines.append(_("Processors holding the person's data are asked to erase it too."))
                lines.append(tells)
            if kept:
                lines.append(
                    _("%(n)d rows a law requires keeping are restricted, not deleted, until their period ends.")
                    % {"n": kept}
                )
        if "dsar.release_package" in pending:
            lines.append(_("Sends %(to)s the link to download the access package.") % {"to": mail_to})
        if not lines:
            lines.append(
                _("Carries out what the first person prepared: %(what)s.")
                % {"what": ", ".join(str(a.get_kind_display()) for a in services.pending_approvals(obj)) or "-"}
            )
    elif action == "withdraw_consents":
        lines.append(_("Withdraws every consent %(who)s gave.") % {"who": who})
        data = [d for d in fulfilment.consent_only_data(obj) if d["model"] not in cleaned.get("kept", {}) and d["rows"]]
        if data:
            lines.append(
                _("Destroys the data collected only on those consents: %(what)s.")
                % {"what": ", ".join(counted(d["rows"], d["name"]) for d in data)}
            )
        lines.append(tells)
    elif action == "suspend":
        lines.append(_("Stops processing %(who)s's data for the chosen purposes.") % {"who": who})
        lines.append(tells)
    elif action == "release_package":
        lines.append(_("Asks to send %(to)s the link to download the access package.") % {"to": mail_to})
        lines.append(_("Nothing is sent until a second person approves."))
    elif action == "record_correction":
        lines.append(_("Records the correction and emails %(to)s what was corrected.") % {"to": mail_to})
    elif action == "complete_no_data":
        lines.append(_("Closes the request: no data is held about this person."))
        lines.append(tells)
    elif action == "close":
        lines.append(_("Closes the request as completed: every processor confirmed the erasure."))
        lines.append(tells)
    elif action == "reject":
        ground = dict(GroundForm(request_type=obj.request_type).fields["ground"].choices).get(cleaned.get("ground"), "")
        lines.append(_("Closes the request as refused on this ground: %(ground)s.") % {"ground": ground})
        lines.append(_("Emails %(to)s the refusal, its ground and how to object.") % {"to": mail_to})
    elif action == "merge":
        into = DataSubjectRequest.objects.filter(pk=cleaned.get("into") or 0).first()
        lines.append(
            _("Closes %(ref)s as a duplicate of %(into)s, which is kept and answered.")
            % {"ref": obj.reference, "into": into.reference if into else "-"}
        )
        lines.append(_("No email is sent for the duplicate."))
    elif action == "reply":
        lines.append(_("Emails %(to)s this message:") % {"to": mail_to})
        lines.append(reply_text(obj, cleaned))
    elif action == "withdraw_request":
        lines.append(_("Closes the request as withdrawn by the requester."))
        lines.append(tells)
    lines.append(_("This cannot be undone."))
    return lines


ACTION_LABELS = {
    "verify_identity": gettext_lazy("Record the identity check / accept the power of attorney"),
    "start": gettext_lazy("Start work"),
    "assign_to_me": gettext_lazy("Assign to me"),
    "mark_gdpr": gettext_lazy("Mark as falling under the GDPR (or not)"),
    "extend": gettext_lazy("Extend the GDPR deadline (art. 12(3))"),
    "postpone": gettext_lazy("Postpone access on a statutory ground (PIPA art. 35(4))"),
    "build_package": gettext_lazy("Build the access package"),
    "release_package": gettext_lazy("Release the package to the requester"),
    "carry_out_deletion": gettext_lazy("Carry out the deletion"),
    "erase_now": gettext_lazy("Carry out the approved erasure"),
    "suspend": gettext_lazy("Suspend processing"),
    "lift_suspension": gettext_lazy("Lift the suspension (privacy officer)"),
    "withdraw_consents": gettext_lazy(
        "Withdraw the consents (those the person chose, or all) and destroy the data collected only on them"
    ),
    "record_correction": gettext_lazy("Record the correction and tell the requester"),
    "complete_no_data": gettext_lazy("Complete: no data held about this person"),
    "close": gettext_lazy("Close (all processor jobs done)"),
    "reject": gettext_lazy("Refuse the request on a statutory ground"),
    "withdraw_request": gettext_lazy("The requester withdrew the request"),
    "note": gettext_lazy("Add a note"),
    "approve": gettext_lazy("Approve (second person)"),
    "refuse_approval": gettext_lazy("Refuse (second person)"),
    "merge": gettext_lazy("Merge: close as a duplicate of another request"),
    "reply": gettext_lazy("Reply to the requester"),
}


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "request_type", "active"]
    list_filter = ["language", "request_type", "active"]
    search_fields = ["name", "body"]


def _assignee_search(request) -> bool:
    """The admin's autocomplete asking for a request's assignee."""
    return (
        request.path.endswith("/autocomplete/")
        and request.GET.get("app_label") == "dsar"
        and request.GET.get("model_name") == "datasubjectrequest"
        and request.GET.get("field_name") == "assignee"
    )


class StaffUserAdmin(UserAdmin):
    """Django's own user admin, which also answers the assignee's autocomplete for staff who may
    change requests (customer support may not read the user list itself): active staff only."""

    def has_view_permission(self, request, obj=None):
        if super().has_view_permission(request, obj):
            return True
        return obj is None and _assignee_search(request) and request.user.has_perm("dsar.change_datasubjectrequest")

    def get_search_results(self, request, queryset, search_term):
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if _assignee_search(request):
            queryset = queryset.filter(is_staff=True, is_active=True)
        return queryset, distinct


_user_admin = admin.site._registry.get(get_user_model())
if _user_admin is not None and type(_user_admin) is UserAdmin:
    admin.site.unregister(get_user_model())
    admin.site.register(get_user_model(), StaffUserAdmin)


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    """The timeline is a ledger: read only."""

    list_display = ["at", "request", "kind", "actor"]
    list_filter = ["kind"]
    list_select_related = ["request", "actor"]
    search_fields = ["=request__reference"]
    date_hierarchy = "at"
    raw_id_fields = ["request", "actor"]
