"""Admin for policy section 4: rules (with what is due and overdue), holds, the destruction register
and its certificates, and the record of physical destruction."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.approvals import can_approve, pending_approval_for
from audit.models import ApprovalKind
from privacyops.lib.admin import ReadOnlyAdmin, confirm_first
from privacyops.lib.i18n import counted, language, pick
from subjects.models import DataSubject
from subjects.registry import EraseMethod, registry

from . import approvals, services
from .models import (
    DestructionRun,
    HoldScope,
    LegalHold,
    PhysicalDestruction,
    RetentionRule,
    RuleAction,
    RunStatus,
    Trigger,
)
from .tasks import destroy_expired


def progress_bar(run: DestructionRun) -> str:
    percent = run.progress_percent
    return format_html(
        '<progress value="{}" max="100" style="width:12em" aria-label="{}"></progress> {}%',
        percent,
        gettext("progress"),
        percent,
    )


# --- rules -------------------------------------------------------------------------------------


class RetentionRuleForm(forms.ModelForm):
    class Meta:
        model = RetentionRule
        fields = [
            "key",
            "name",
            "active",
            "period_value",
            "period_unit",
            "runs_from",
            "action",
            "legal_basis",
            "law_article",
            "set_by_company",
        ]

    def clean(self):
        cleaned = super().clean()
        key = cleaned.get("key") or (self.instance.key if self.instance.pk else None)
        if cleaned.get("action") == RuleAction.ANONYMISE and key:
            cannot = [e.label for e, _r in registry.bindings_for_rule(key) if e.erase.method != EraseMethod.ANONYMISE]
            if cannot:
                raise ValidationError(
                    _("These models name no fields to anonymise in the registry, so this rule can only delete: %(m)s"),
                    params={"m": ", ".join(cannot)},
                )
        return cleaned


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    form = RetentionRuleForm
    list_display = [
        "key",
        "name",
        "period_display",
        "action",
        "set_by_company",
        "active",
        "due_now",
        "overdue",
        "covers",
    ]
    list_filter = ["active", "set_by_company", "action"]
    search_fields = ["key", "name", "law_article"]
    readonly_fields = ["covers", "created_at", "updated_at"]
    actions = ["preview", "run_now"]
    fieldsets = [
        (None, {"fields": ["key", "name", "covers", "active"]}),
        (_("Period"), {"fields": ["period_value", "period_unit", "runs_from", "action"]}),
        (_("Legal basis"), {"fields": ["legal_basis", "law_article", "set_by_company"]}),
        (
            _("On the public policy"),
            {"fields": ["public_name_ko", "public_name_en", "public_runs_from_ko", "public_runs_from_en"]},
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The key ties the rule to the registry: renaming it would orphan the data it governs.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # A rule is referenced by its destruction register; switch it off instead.
        return False

    @admin.display(description=_("covers"))
    def covers(self, obj: RetentionRule) -> str:
        bindings = registry.bindings_for_rule(obj.key)
        if not bindings:
            return gettext("nothing (no registered model uses this key)")
        return ", ".join(f"{e.verbose_name} ({r.runs_from})" for e, r in bindings)

    @admin.display(description=_("due now"))
    def due_now(self, obj: RetentionRule) -> int | str:
        try:
            return sum(services.due_counts(rule=obj).values())
        except services.RetentionError:
            return "-"  # a misconfigured rule; its runs fail with the reason

    @admin.display(description=_("overdue (> 5 days)"))
    def overdue(self, obj: RetentionRule) -> str:
        # RD-01: destroyed within 5 days of becoming due; anything older is a breach to act on.
        try:
            n = sum(services.due_counts(rule=obj, grace_days=settings.RETENTION_OVERDUE_GRACE_DAYS).values())
        except services.RetentionError:
            return "-"
        if n:
            return format_html('<strong style="color:#ba2121">{}</strong>', n)
        return "0"

    # A preview deletes nothing but writes a dry-run row to the destruction register: not for
    # the read-only auditor, who sees the same counts in the "due now" column.
    @admin.action(description=_("Preview: count what would be destroyed (dry run)"), permissions=["change"])
    def preview(self, request, queryset):
        for rule in queryset.filter(active=True):
            # The rule's own run first, then one per table of the company's other databases under it.
            result, *external = services.destroy_expired(
                rule_key=rule.key, dry_run=True, trigger=Trigger.ADMIN, actor=request.user
            )
            counts = {**result.counts}
            for table in external:
                if not table.error:
                    counts.update(table.counts)
            parts = ", ".join(
                counted(
                    sum(v for k, v in c.items() if k not in ("with_parent", "kept") and isinstance(v, int)),
                    model_name(label),
                )
                for label, c in sorted(counts.items())
            )
            for table in external:
                if table.error:
                    self.message_user(request, table.error, messages.ERROR)
            self.message_user(
                request,
                gettext("%(rule)s: would destroy %(parts)s (cutoff %(cutoff)s).")
                % {
                    "rule": rule_name(rule),
                    "parts": parts or gettext("nothing"),
                    "cutoff": f"{timezone.localtime(result.cutoff):%Y-%m-%d %H:%M}",
                },
            )
        skipped = queryset.filter(active=False).count()
        if skipped:
            self.message_user(request, gettext("Inactive rules were not previewed."), messages.WARNING)

    def has_run_destruction_permission(self, request, obj=None):
        return request.user.has_perm(services.RUN_DESTRUCTION_PERMISSION)

    @admin.action(description=_("Run now: destroy what is due (in the background)"), permissions=["run_destruction"])
    @confirm_first(
        title=_("Destroy what is due now?"),
        consequences=lambda admin, request, queryset: run_now_consequences(queryset),
        confirm_label=_("Yes, destroy it now"),
        describe=lambda rule: rule_name(rule),
    )
    def run_now(self, request, queryset):
        # The task checks again when it runs; refusing here tells the user at once.
        if not self.has_run_destruction_permission(request):
            self.message_user(request, gettext("Only the privacy officer may run destruction now."), messages.ERROR)
            return
        rules = list(queryset.filter(active=True).values_list("key", flat=True))
        for key in rules:
            destroy_expired.delay_on_commit(rule_key=key, trigger=Trigger.ADMIN, user_id=request.user.pk)
        self.message_user(
            request,
            gettext("Rules queued for destruction: %(n)d. Their runs appear under Destruction runs.")
            % {"n": len(rules)},
        )


def model_name(label: str) -> str:
    """A registered model's plural name for people ("visit logs"), from its label."""
    entry = registry.entry_by_label(label)
    return entry.verbose_name if entry else label


def count_key(key: str) -> str:
    """The words for a key of a run's counts."""
    return str(
        {
            "destroyed": _("destroyed"),
            "erased": _("erased"),
            "anonymised": _("anonymised"),
            "kept": _("kept"),
            "held": _("kept under a legal hold"),
            "method": _("method"),
            "with_parent": _("destroyed with the record they belong to"),
            "partitions_dropped": _("month partitions dropped whole"),
            "dropped_months": _("months dropped whole"),
        }.get(key, key)
    )


def rule_name(rule: RetentionRule) -> str:
    """The rule's name for people, in the active language (the policy's wording), else staff's name."""
    return pick(rule, "public_name") or rule.name


def run_now_consequences(queryset) -> list[str]:
    """What "Run now" will do, rule by rule: the rows due now per model, with the cutoff."""
    lines = []
    now = timezone.now()
    for rule in queryset.order_by("key"):
        if not rule.active:
            lines.append(gettext("%(rule)s: inactive, nothing is destroyed.") % {"rule": rule_name(rule)})
            continue
        try:
            counts = services.due_counts(rule=rule, now=now)
        except services.RetentionError as exc:
            lines.append(f"{rule_name(rule)}: {exc}")
            continue
        parts = []
        for label, count in sorted(counts.items()):
            parts.append(counted(count, model_name(label)))
        what = ", ".join(parts) if any(counts.values()) else gettext("nothing (no row is due)")
        verb = (
            gettext("%(rule)s: anonymises %(what)s older than %(cutoff)s; held rows are kept.")
            if rule.action == RuleAction.ANONYMISE
            else gettext("%(rule)s: destroys %(what)s older than %(cutoff)s; held rows are kept.")
        )
        lines.append(
            verb % {"rule": rule_name(rule), "what": what, "cutoff": f"{timezone.localtime(rule.cutoff(now)):%Y-%m-%d}"}
        )
    lines.append(gettext("The runs happen in the background and are written to the destruction register."))
    return lines


# --- holds -------------------------------------------------------------------------------------


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["scope", "subject_id", "content_type", "object_id", "rule", "reason", "reference", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "content_type" in self.fields:
            registered = [ContentType.objects.get_for_model(m) for m in registry.models()]
            self.fields["content_type"].queryset = ContentType.objects.filter(pk__in=[ct.pk for ct in registered])

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        targets = {
            HoldScope.SUBJECT: ["subject_id"],
            HoldScope.RECORD: ["content_type", "object_id"],
            HoldScope.RULE: ["rule"],
        }
        if scope not in targets:
            return cleaned
        for name in targets[scope]:
            if cleaned.get(name) in (None, ""):
                self.add_error(name, _("Required for this scope."))
        for other_scope, names in targets.items():
            if other_scope != scope:
                for name in names:
                    cleaned[name] = None
        if scope == HoldScope.SUBJECT and cleaned.get("subject_id"):
            if not DataSubject.objects.filter(pk=cleaned["subject_id"]).exists():
                self.add_error("subject_id", _("No data subject with this id."))
        if scope == HoldScope.RECORD and cleaned.get("content_type") and cleaned.get("object_id"):
            model = cleaned["content_type"].model_class()
            if model is None or not model._default_manager.filter(pk=cleaned["object_id"]).exists():
                self.add_error("object_id", _("No record of this type with this id."))
        expires_at = cleaned.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", _("The expiry must be in the future."))
        return cleaned


class ActiveHoldFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("ended", _("Released or expired"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "ended":
            return queryset.exclude(pk__in=LegalHold.objects.active().values("pk"))
        return queryset


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    form = LegalHoldForm
    list_display = ["id", "scope", "target", "reference", "placed_by", "placed_at", "expires_at", "state"]
    list_display_links = ["id", "target"]
    list_filter = [ActiveHoldFilter, "scope"]
    list_select_related = ["placed_by", "released_by", "rule", "content_type"]
    search_fields = ["reference", "=subject_id", "=object_id"]
    raw_id_fields = ["rule"]
    actions = ["release", "approve_release", "refuse_release"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A placed hold is evidence: only its release changes it (the "release" action).
        return [
            "scope",
            "subject_id",
            "content_type",
            "object_id",
            "rule",
            "reason",
            "reference",
            "placed_by",
            "placed_at",
            "expires_at",
            "released_by",
            "released_at",
            "release_note",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        return self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.placed_by = request.user
            obj.placed_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.display(description=_("protects"))
    def target(self, obj: LegalHold) -> str:
        if obj.scope == HoldScope.SUBJECT:
            return gettext("subject #%(id)s") % {"id": obj.subject_id}
        if obj.scope == HoldScope.RECORD:
            return f"{obj.content_type.name if obj.content_type_id else '?'} #{obj.object_id}"
        return gettext("rule %(key)s") % {"key": obj.rule.key if obj.rule_id else "?"}

    @admin.display(description=_("state"))
    def state(self, obj: LegalHold) -> str:
        if obj.released_at:
            return gettext("released %(when)s by %(who)s") % {
                "when": f"{timezone.localtime(obj.released_at):%Y-%m-%d %H:%M}",
                "who": obj.released_by,
            }
        if obj.expires_at and obj.expires_at <= timezone.now():
            return gettext("expired")
        pending = pending_approval_for(ApprovalKind.HOLD_RELEASE, obj)
        if pending is not None:
            return gettext("active; release asked by %(who)s, waiting for a second person") % {
                "who": pending.prepared_by
            }
        return gettext("active")

    def has_release_permission(self, request, obj=None):
        return request.user.has_perm(services.RELEASE_HOLD_PERMISSION)

    # Four eyes (retention.approvals): "release" only asks; a second person approves or refuses.
    @admin.action(description=_("Ask for the release of the selected holds"), permissions=["release"])
    def release(self, request, queryset):
        asked = 0
        for hold_id in queryset.filter(released_at__isnull=True).values_list("pk", flat=True):
            try:
                approvals.request_hold_release(hold_id=hold_id, requested_by=request.user)
                asked += 1
            except services.RetentionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(
            request, gettext("Release asked for %(n)d hold(s): a second person must approve it.") % {"n": asked}
        )

    def has_approve_release_permission(self, request, obj=None):
        return can_approve(request.user)

    @admin.action(description=_("Approve the asked release of the selected holds"), permissions=["approve_release"])
    @confirm_first(
        title=_("Release these legal holds?"),
        consequences=lambda admin, request, queryset: [
            gettext(
                "Releases %(n)d legal hold(s): the rows they protect are destroyed by the next run once their "
                "period is over."
            )
            % {"n": queryset.filter(released_at__isnull=True).count()}
        ],
        confirm_label=_("Yes, release them"),
    )
    def approve_release(self, request, queryset):
        self._decide_release(request, queryset, approve=True)

    @admin.action(description=_("Refuse the asked release of the selected holds"), permissions=["approve_release"])
    def refuse_release(self, request, queryset):
        self._decide_release(request, queryset, approve=False)

    def _decide_release(self, request, queryset, *, approve: bool) -> None:
        decided = 0
        for hold_id in queryset.filter(released_at__isnull=True).values_list("pk", flat=True):
            try:
                approvals.decide_hold_release(
                    hold_id=hold_id,
                    decided_by=request.user,
                    approve=approve,
                    note="" if approve else gettext("Refused from the list of legal holds."),
                )
                decided += 1
            except services.RetentionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        message = gettext("Holds released: %(n)d.") if approve else gettext("Releases refused: %(n)d.")
        self.message_user(request, message % {"n": decided})


# --- runs (the destruction register) -----------------------------------------------------------


@admin.register(DestructionRun)
class DestructionRunAdmin(ReadOnlyAdmin):
    # The destruction register is kept (RD-06); it holds no personal data.
    list_display = [
        "id",
        "rule_key",
        "trigger",
        "status",
        "progress",
        "destroyed",
        "started_at",
        "finished_at",
        "approved_by",
        "certificate_link",
    ]
    list_filter = ["status", "trigger", "rule_key"]
    list_select_related = ["approved_by", "triggered_by_user"]
    search_fields = ["rule_key", "reference"]
    date_hierarchy = "started_at"
    actions = ["approve"]
    fields = [
        "rule_key",
        "legal_basis",
        "period",
        "reference",
        "trigger",
        "triggered_by_user",
        "status",
        "progress",
        "method",
        "cutoff",
        "started_at",
        "finished_at",
        "counts_table",
        "batches",
        "batch_size",
        "longest_batch_ms",
        "error",
        "approved_by",
        "approved_at",
        "certificate_link",
    ]
    readonly_fields = fields

    def get_urls(self):
        return [
            path(
                "<int:run_id>/certificate/",
                self.admin_site.admin_view(self.certificate_view),
                name="retention_destructionrun_certificate",
            ),
            *super().get_urls(),
        ]

    # No-op runs (the nightly run of a rule that destroyed nothing) are folded into one line per
    # night above the list; "?noop=all" lists them too. The ledger itself is written as before.
    NOOP_PARAM = "noop"
    FOLDED_NIGHTS = 14

    def _noop_runs(self) -> list[DestructionRun]:
        rows = DestructionRun.objects.filter(status=RunStatus.SUCCEEDED, trigger=Trigger.BEAT, reference="").only(
            "pk", "started_at", "counts", "rule_key"
        )
        return [run for run in rows if not (run.total_destroyed or run.total_anonymised)]

    def changelist_view(self, request, extra_context=None):
        show_all = request.GET.get(self.NOOP_PARAM) == "all"
        if self.NOOP_PARAM in request.GET:
            params = request.GET.copy()
            del params[self.NOOP_PARAM]
            request.GET = params
            request.META["QUERY_STRING"] = params.urlencode()
        noop = self._noop_runs()
        request._noop_pks = set() if show_all else {run.pk for run in noop}
        nights: dict = {}
        for run in noop:
            nights.setdefault(timezone.localdate(run.started_at), []).append(run)
        folded = [
            {
                "night": night,
                "rules": len(runs),
                "at": min(timezone.localtime(r.started_at) for r in runs),
                "url": "?"
                + f"{self.NOOP_PARAM}=all&started_at__year={night.year}&started_at__month={night.month}"
                + f"&started_at__day={night.day}",
            }
            for night, runs in sorted(nights.items(), reverse=True)[: self.FOLDED_NIGHTS]
        ]
        extra_context = {
            **(extra_context or {}),
            "folded_nights": folded,
            "noop_total": len(noop),
            "noop_shown": show_all,
            "noop_param": self.NOOP_PARAM,
        }
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        hidden = getattr(request, "_noop_pks", None)
        return queryset.exclude(pk__in=hidden) if hidden else queryset

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = DestructionRun.objects.filter(pk=object_id).only("status").first()
        extra_context = {**(extra_context or {}), "auto_refresh": run is not None and run.status == RunStatus.RUNNING}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("progress"))
    def progress(self, obj: DestructionRun) -> str:
        return progress_bar(obj)

    @admin.display(description=_("destroyed"))
    def destroyed(self, obj: DestructionRun) -> int:
        return obj.total_destroyed + obj.total_anonymised

    @admin.display(description=_("counts per model"))
    def counts_table(self, obj: DestructionRun) -> str:
        if not obj.counts:
            return "-"
        return format_html(
            "<table><tr><th>{}</th><th>{}</th></tr>{}</table>",
            gettext("model"),
            gettext("count"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td></tr>",
                (
                    (model_name(label), ", ".join(f"{count_key(k)}: {v}" for k, v in sorted(c.items())))
                    for label, c in sorted(obj.counts.items())
                ),
            ),
        )

    @admin.display(description=_("certificate"))
    def certificate_link(self, obj: DestructionRun) -> str:
        if obj.status not in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:retention_destructionrun_certificate", args=[obj.pk]),
            gettext("certificate"),
        )

    def has_approve_permission(self, request, obj=None):
        return request.user.has_perm(services.APPROVE_RUN_PERMISSION)

    @admin.action(description=_("Approve the selected runs (privacy officer)"), permissions=["approve"])
    def approve(self, request, queryset):
        if not self.has_approve_permission(request):
            self.message_user(
                request, gettext("Only the privacy officer may approve destruction runs."), messages.ERROR
            )
            return
        approved = 0
        for run_id in queryset.values_list("pk", flat=True):
            try:
                services.approve_run(run_id=run_id, approver=request.user)
                approved += 1
            except services.RetentionError as exc:
                self.message_user(request, f"#{run_id}: {exc}", messages.WARNING)
        self.message_user(request, gettext("Runs approved: %(n)d.") % {"n": approved})

    def certificate_view(self, request, run_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(DestructionRun.objects.select_related("approved_by", "triggered_by_user"), pk=run_id)
        counts = [
            {
                "label": label,
                "verbose_name": _verbose_name(label),
                "destroyed": c.get("destroyed", 0) + c.get("erased", 0),
                "anonymised": c.get("anonymised", 0),
                "kept": c.get("kept", 0),
                "with_parent": c.get("with_parent", ""),
            }
            for label, c in sorted(run.counts.items())
        ]
        rule = run.rule
        name = (pick(rule, "public_name") or rule.name) if rule else run.rule_key
        if language() == "ko" and rule is not None:
            basis = gettext(
                "Kept under the retention rule “%(rule)s” for %(period)s, as section 4.1 of the privacy policy states."
            ) % {
                "rule": name,
                "period": period_words(rule),
            }
        else:
            basis = INTERNAL_IDS.sub("", run.legal_basis).strip()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Destruction certificate"),
            "rule_name": name,
            "legal_basis": basis,
            "law_article": rule.law_article if rule else "",
            "period": period_words(rule) if rule else run.period,
            "run": run,
            "counts": counts,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "retention/certificate.html", context)


# Requirement ids ("RD-04") in staff's wording are for the project, not for a certificate.
INTERNAL_IDS = re.compile(r"\s*\((?:[A-Z]{2,4}-\d+(?:[/,] ?[A-Z]{0,4}-?\d+)*)\)")


def period_words(rule: RetentionRule) -> str:
    unit = {"years": gettext("%(n)d years"), "months": gettext("%(n)d months"), "days": gettext("%(n)d days")}
    return unit.get(rule.period_unit, "%(n)d " + rule.period_unit) % {"n": rule.period_value}


def _verbose_name(label: str) -> str:
    # A run's counts are keyed by the label of a registered model; an old run may name one since removed.
    entry = registry.entry_by_label(label)
    return entry.verbose_name if entry is not None else label


# --- physical destruction ----------------------------------------------------------------------

CERTIFICATE_TYPES = {
    "pdf": b"%PDF-",
    "png": b"\x89PNG\r\n\x1a\n",
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
}


class PhysicalDestructionForm(forms.ModelForm):
    class Meta:
        model = PhysicalDestruction
        fields = ["description", "items", "method", "performed_on", "performed_by", "witnessed_by", "certificate"]

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        if not upload or not hasattr(upload, "content_type"):
            return upload  # nothing new uploaded
        if upload.size > settings.RETENTION_CERTIFICATE_MAX_BYTES:
            raise ValidationError(
                _("The certificate is too large (at most %(mb)d MB)."),
                params={"mb": settings.RETENTION_CERTIFICATE_MAX_BYTES // (1024 * 1024)},
            )
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        magic = CERTIFICATE_TYPES.get(extension)
        head = upload.read(8)
        upload.seek(0)
        if magic is None or not head.startswith(magic):
            raise ValidationError(_("Upload the certificate as a PDF, PNG or JPEG file."))
        return upload

    def clean_performed_on(self):
        performed_on = self.cleaned_data["performed_on"]
        if performed_on > timezone.localdate():
            raise ValidationError(_("The destruction cannot have happened in the future."))
        return performed_on


@admin.register(PhysicalDestruction)
class PhysicalDestructionAdmin(admin.ModelAdmin):
    form = PhysicalDestructionForm
    list_display = ["performed_on", "description", "items", "method", "performed_by", "witnessed_by", "has_certificate"]
    list_filter = ["method"]
    list_select_related = ["recorded_by"]
    search_fields = ["description", "performed_by"]
    date_hierarchy = "performed_on"
    readonly_fields = ["recorded_by", "recorded_at"]

    def has_change_permission(self, request, obj=None):
        # A record of destruction is evidence: entered once, then only read.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("certificate"), boolean=True)
    def has_certificate(self, obj: PhysicalDestruction) -> bool:
        return bool(obj.certificate)
