"""Retention rules, legal holds and the destruction ledger (policy section 4).

A `RetentionRule` is the row behind every rule key of the personal-data registry
(`subjects.registry`): how long, from which timestamp, on what legal basis, and whether the
expired rows are deleted or anonymised. A `LegalHold` protects a subject, one record or a
whole rule from every deletion path. `DestructionRun` is the destruction register of PIPA
art. 21 / RD-06: one row per run, counts per model, no personal data. `PhysicalDestruction`
records paper and other media destroyed by hand (policy 4.2).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PeriodUnit(models.TextChoices):
    DAYS = "days", _("days")
    MONTHS = "months", _("months")
    YEARS = "years", _("years")


class RuleAction(models.TextChoices):
    DELETE = "delete", _("Delete")
    ANONYMISE = "anonymise", _("Anonymise")


class DestructionMethod(models.TextChoices):
    """RD-02: how data was destroyed (Decree art. 16(1); Safety Measures Standard art. 13)."""

    DELETE_OVERWRITE = "delete_overwrite", _("Permanent deletion (delete / overwrite)")
    CRYPTO_SHRED = "crypto_shred", _("Crypto-shredding")
    ANONYMISE = "anonymise", _("Anonymisation")
    SHRED = "shred", _("Shredding")
    INCINERATE = "incinerate", _("Incineration")
    DEGAUSS = "degauss", _("Degaussing")


PHYSICAL_METHODS = (DestructionMethod.SHRED, DestructionMethod.INCINERATE, DestructionMethod.DEGAUSS)


class RetentionRuleQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class RetentionRule(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=64,
        unique=True,
        help_text=_(
            "The rule key used in the personal-data registry; the rule covers every model registered under it."
        ),
    )
    name = models.CharField(_("name"), max_length=200)
    period_value = models.PositiveIntegerField(_("period"))
    period_unit = models.CharField(_("period unit"), max_length=8, choices=PeriodUnit.choices)
    runs_from = models.CharField(
        _("runs from"),
        max_length=200,
        help_text=_("The moment the period starts, in words; the field per model is named in the registry."),
    )
    action = models.CharField(_("action"), max_length=16, choices=RuleAction.choices, default=RuleAction.DELETE)
    legal_basis = models.TextField(_("legal basis"), help_text=_("Why the data is kept this long, in words."))
    law_article = models.CharField(_("law and article"), max_length=300, blank=True)
    # What the public policy says (section 4), written for people in both languages: `name` and
    # `runs_from` are staff's wording and may name fields. Announcing a policy is refused while
    # an active rule lacks one of these (PC-02).
    public_name_ko = models.CharField(_("name on the policy (Korean)"), max_length=200, blank=True)
    public_name_en = models.CharField(_("name on the policy (English)"), max_length=200, blank=True)
    public_runs_from_ko = models.CharField(_("period runs from, on the policy (Korean)"), max_length=300, blank=True)
    public_runs_from_en = models.CharField(_("period runs from, on the policy (English)"), max_length=300, blank=True)
    set_by_company = models.BooleanField(
        _("set by the company, not the policy"),
        default=False,
        help_text=_("The privacy policy names no period for this data; the company chose it (a policy gap)."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The SQLite stand-in for PostgreSQL's advisory lock: a run claims the rule with a conditional
    # UPDATE and refreshes the heartbeat after every batch, so a killed run blocks only until stale.
    lock_owner = models.CharField(max_length=64, blank=True, default="", editable=False)
    lock_heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = RetentionRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["key"]
        permissions = [("run_destruction", _("Can run destruction now (privacy officer)"))]
        constraints = [models.CheckConstraint(condition=Q(period_value__gt=0), name="retention_rule_period_positive")]

    def __str__(self) -> str:
        return self.key

    @property
    def period(self) -> relativedelta:
        return relativedelta(**{self.period_unit: self.period_value})

    def period_display(self) -> str:
        return f"{self.period_value} {self.get_period_unit_display()}"

    period_display.short_description = _("period")

    def cutoff(self, now: datetime | None = None) -> datetime:
        """Rows whose period start is strictly before this moment are due."""
        return (now or timezone.now()) - self.period

    def due_on(self, start: datetime | date | None) -> date | None:
        """The day a row whose period started at `start` becomes due (None: no start yet, never due)."""
        if start is None:
            return None
        if isinstance(start, datetime):
            start = timezone.localtime(start)
        return (start + self.period).date() if isinstance(start, datetime) else start + self.period


class HoldScope(models.TextChoices):
    SUBJECT = "subject", _("Everything of one data subject")
    RECORD = "record", _("One record")
    RULE = "rule", _("Everything under one retention rule")


HOLD_EXPIRY_WARNING_DAYS = 30


class LegalHoldQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None):
        now = now or timezone.now()
        return self.filter(released_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def expiring(self, now: datetime | None = None, days: int = HOLD_EXPIRY_WARNING_DAYS):
        """Active holds that end within `days`, the soonest first."""
        now = now or timezone.now()
        return (
            self.active(now)
            .filter(expires_at__isnull=False, expires_at__lte=now + timedelta(days=days))
            .order_by("expires_at")
        )


class LegalHold(models.Model):
    """Keeps data from every deletion path (litigation, an investigation, a regulator's request).

    The subject is a plain id, not a foreign key: a key to DataSubject would make this a
    personal-data model in the registry's eyes, and a hold must not be erasable by the erasure
    it blocks.
    """

    scope = models.CharField(_("scope"), max_length=8, choices=HoldScope.choices)
    subject_id = models.PositiveBigIntegerField(_("data subject id"), null=True, blank=True, db_index=True)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), null=True, blank=True, on_delete=models.PROTECT
    )
    object_id = models.PositiveBigIntegerField(_("record id"), null=True, blank=True)
    rule = models.ForeignKey(
        RetentionRule, verbose_name=_("retention rule"), null=True, blank=True, on_delete=models.PROTECT
    )
    reason = models.TextField(_("reason"), help_text=_("Why the data must be kept; no personal details."))
    reference = models.CharField(_("case reference"), max_length=100, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("placed by"), on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    release_note = models.CharField(_("release note"), max_length=300, blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-placed_at"]
        permissions = [("release_legalhold", _("Can release a legal hold (privacy officer)"))]
        indexes = [models.Index(fields=["content_type", "object_id"], name="legalhold_record")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="subject", subject_id__isnull=False, object_id__isnull=True, rule__isnull=True)
                    | Q(
                        scope="record",
                        subject_id__isnull=True,
                        content_type__isnull=False,
                        object_id__isnull=False,
                        rule__isnull=True,
                    )
                    | Q(scope="rule", subject_id__isnull=True, object_id__isnull=True, rule__isnull=False)
                ),
                name="legalhold_target_matches_scope",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(released_by__isnull=False),
                name="legalhold_release_names_who",
            ),
        ]

    def __str__(self) -> str:
        if self.scope == HoldScope.SUBJECT:
            target = f"subject #{self.subject_id}"
        elif self.scope == HoldScope.RECORD:
            target = f"{self.content_type.model if self.content_type_id else '?'} #{self.object_id}"
        else:
            target = f"rule {self.rule.key if self.rule_id else '?'}"
        return f"hold #{self.pk} on {target}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class Trigger(models.TextChoices):
    BEAT = "beat", _("Schedule (Celery beat)")
    ADMIN = "admin", _("Admin")
    COMMAND = "command", _("Management command")
    DSAR = "dsar", _("Erasure request (DSAR)")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    DRY_RUN = "dry_run", _("Dry run")
    SKIPPED = "skipped", _("Skipped (another run of the rule was in progress)")


class DestructionRun(models.Model):
    """The destruction register (PIPA art. 21, RD-06/07): what went, when, how, on whose authority.

    `counts` maps a model label to {"destroyed": n, "method": ..., ...}; DSAR runs use
    {"erased", "anonymised", "kept"}. Never ids of subjects, never field values.
    """

    rule = models.ForeignKey(
        RetentionRule, verbose_name=_("retention rule"), null=True, blank=True, on_delete=models.PROTECT
    )
    # Copies taken at the start, so the certificate still says what applied if the rule changes later.
    rule_key = models.CharField(_("rule key"), max_length=64, blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    period = models.CharField(_("period"), max_length=50, blank=True)
    trigger = models.CharField(_("triggered by"), max_length=8, choices=Trigger.choices)
    triggered_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("The erasure request this run carried out (DSAR).")
    )
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    method = models.CharField(_("method"), max_length=16, choices=DestructionMethod.choices)
    cutoff = models.DateTimeField(_("cutoff"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("counts per model"), default=dict, blank=True)
    batches = models.PositiveIntegerField(_("batches"), default=0)
    batch_size = models.PositiveIntegerField(_("batch size"), default=0)
    longest_batch_ms = models.PositiveIntegerField(_("longest batch (ms)"), default=0)
    # Progress in primary-key span: how much of the ranges to walk has been walked.
    progress_done = models.PositiveBigIntegerField(default=0)
    progress_total = models.PositiveBigIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("destruction run")
        verbose_name_plural = _("destruction runs")
        ordering = ["-started_at", "-id"]
        permissions = [("approve_destructionrun", _("Can approve destruction runs (privacy officer)"))]
        indexes = [models.Index(fields=["rule", "status"], name="destructionrun_rule_status")]

    def __str__(self) -> str:
        return f"run #{self.pk} {self.rule_key or self.trigger}"

    @property
    def total_destroyed(self) -> int:
        return sum(int(c.get("destroyed", 0)) + int(c.get("erased", 0)) for c in self.counts.values())

    @property
    def total_anonymised(self) -> int:
        return sum(int(c.get("anonymised", 0)) for c in self.counts.values())

    @property
    def progress_percent(self) -> int:
        if self.status in (RunStatus.SUCCEEDED, RunStatus.DRY_RUN):
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))


def certificate_upload_to(instance: PhysicalDestruction, filename: str) -> str:
    # The uploaded name may carry a person's name; keep only the extension.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    stamp = f"{instance.performed_on:%Y%m%d}-{uuid.uuid4().hex[:12]}"
    return f"retention/certificates/{timezone.now():%Y/%m}/{stamp}.{extension}"


class PhysicalDestruction(models.Model):
    """Paper and other media destroyed by hand (policy 4.2: shredding, incineration)."""

    description = models.CharField(
        _("what was destroyed"),
        max_length=300,
        help_text=_("E.g. 'seminar sign-in sheets, 2022'. No personal details."),
    )
    items = models.PositiveIntegerField(_("items or pages"))
    method = models.CharField(
        _("method"),
        max_length=16,
        choices=[(m.value, m.label) for m in PHYSICAL_METHODS],
    )
    performed_on = models.DateField(_("performed on"))
    performed_by = models.CharField(_("performed by"), max_length=200, help_text=_("Staff member or contractor."))
    witnessed_by = models.CharField(_("witnessed by"), max_length=200, blank=True)
    certificate = models.FileField(_("certificate"), upload_to=certificate_upload_to, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("physical destruction")
        verbose_name_plural = _("physical destructions")
        ordering = ["-performed_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(items__gt=0), name="physical_destruction_items_positive")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.performed_on:%Y-%m-%d} ({self.items})"
