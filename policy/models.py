"""The published policy (policy 6, 7): the privacy officer, the complaint institutions, the
versions of the policy with their announcement and effective dates, and the change notices
sent to data subjects.

The page itself is rendered from the records the other apps enforce (see content.py); a
version freezes that rendering when it is announced.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyops.lib.i18n import pick
from subjects.registry import DataCategory

# Policy section 7 promises these notice periods; changing them is itself a policy change, so
# they are constants rather than settings (REQUIREMENTS PC-04).
NOTICE_DAYS = 7
SIGNIFICANT_NOTICE_DAYS = 30

LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def notice_period_error(*, announced_at: datetime, effective_at: datetime, is_significant: bool) -> str | None:
    """Why a version announced at `announced_at` may not take effect at `effective_at`, or None.

    Counted in Seoul calendar days: announced on 1 March, a version may take effect on 8 March
    (30 March when significant), whatever the hour of the announcement.
    """
    required = SIGNIFICANT_NOTICE_DAYS if is_significant else NOTICE_DAYS
    days = (timezone.localdate(effective_at) - timezone.localdate(announced_at)).days
    if days >= required:
        return None
    if is_significant:
        return str(
            _(
                "A significant change must be announced at least %(required)d days before it takes effect "
                "(policy 7); this one gives %(days)d."
            )
        ) % {"required": required, "days": days}
    return str(
        _(
            "A change must be announced at least %(required)d days before it takes effect (policy 7); "
            "this one gives %(days)d."
        )
    ) % {"required": required, "days": days}


class PrivacyOfficer(models.Model):
    """The person responsible for personal information and their department (policy 6.1)."""

    name_ko = models.CharField(_("name (Korean)"), max_length=100, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    position_ko = models.CharField(_("position (Korean)"), max_length=100, blank=True)
    position_en = models.CharField(_("position (English)"), max_length=100)
    department_ko = models.CharField(_("department (Korean)"), max_length=100, blank=True)
    department_en = models.CharField(_("department (English)"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40)
    email = models.EmailField(_("email"))
    sort_order = models.PositiveSmallIntegerField(_("order on the page"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("privacy officer")
        verbose_name_plural = _("privacy officers")
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.position_en})"


class ComplaintInstitution(models.Model):
    """An institution a person can report to or consult about an infringement (policy 6.2)."""

    name_ko = models.CharField(_("name (Korean)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    phone = models.CharField(_("phone"), max_length=40)
    url = models.URLField(_("web address"))
    sort_order = models.PositiveSmallIntegerField(_("order on the page"), default=0)
    active = models.BooleanField(_("listed on the page"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("complaint institution")
        verbose_name_plural = _("complaint institutions")
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.name_en


class CollectedItem(models.Model):
    """What the policy says is collected for one purpose, from one of the registry's categories,
    in words written for the public (policy 1.1; issue 17 point 4).

    Whether the items are required or optional is not stored: it follows the purpose. Items
    collected for a purpose that needs consent are optional (the person may refuse and still use
    the service); items for a purpose with another legal basis, or for the records the law makes
    the Company keep (no purpose), are required.
    """

    purpose = models.ForeignKey(
        "consent.Purpose",
        verbose_name=_("purpose"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: records the law requires the Company to keep (consent and request records)."),
    )
    category = models.CharField(_("data category"), max_length=32, choices=DataCategory.choices)
    items_ko = models.CharField(_("items collected (Korean)"), max_length=400)
    items_en = models.CharField(_("items collected (English)"), max_length=400)
    position = models.PositiveSmallIntegerField(_("order on the page"), default=0)
    active = models.BooleanField(_("listed on the page"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("item collected")
        verbose_name_plural = _("items collected")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.items_en


class PolicyVersionQuerySet(models.QuerySet):
    def announced(self):
        return self.filter(announced_at__isnull=False)

    def in_force(self, now: datetime | None = None):
        """Announced versions that have taken effect, newest first."""
        return self.announced().filter(effective_at__lte=now or timezone.now()).order_by("-effective_at", "-pk")

    def upcoming(self, now: datetime | None = None):
        return self.announced().filter(effective_at__gt=now or timezone.now()).order_by("effective_at", "pk")


# Fields that may not change once a version is announced: what was published stays as published.
FROZEN_FIELDS = (
    "label",
    "summary_ko",
    "summary_en",
    "is_significant",
    "announced_at",
    "effective_at",
    "published_by_id",
    "frozen_html_ko",
    "frozen_html_en",
    "fingerprint",
    "facts",
    "reconsent_purpose_keys",
)


class VersionFrozen(Exception):
    """An announced version was about to be edited."""


class PolicyVersion(models.Model):
    """One version of the privacy policy. A draft until announced; frozen from then on."""

    label = models.CharField(
        _("version"),
        max_length=40,
        unique=True,
        help_text=_("Shown on the page and in the address of the archived text, e.g. 2025-03-01."),
    )
    summary_ko = models.TextField(_("summary of changes (Korean)"), blank=True)
    summary_en = models.TextField(_("summary of changes (English)"), blank=True)
    is_significant = models.BooleanField(
        _("significant change"),
        default=False,
        help_text=_(
            "A change to the types or purposes of collected data, the processors, or overseas transfers: "
            "needs 30 days' notice instead of 7."
        ),
    )
    reconsent_purpose_keys = models.JSONField(
        _("purposes needing new consent"),
        default=list,
        blank=True,
        help_text=_(
            "Keys of purposes whose existing consents must be collected again. Purposes the change adds are "
            "included automatically when the version is announced."
        ),
    )
    effective_at = models.DateTimeField(_("effective at"))
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    frozen_html_ko = models.TextField(_("published text (Korean)"), blank=True, editable=False)
    frozen_html_en = models.TextField(_("published text (English)"), blank=True, editable=False)
    # What the text was rendered from, and its hash: the "out of date" check compares it with now.
    facts = models.JSONField(_("published facts"), default=dict, blank=True, editable=False)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True, editable=False)
    notices_queued_at = models.DateTimeField(_("notices queued at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-effective_at", "-pk"]
        permissions = [("publish_policyversion", _("Can announce (publish) a policy version"))]

    def __str__(self) -> str:
        return self.label

    def save(self, *args, **kwargs):
        # Not a side effect but a refusal: a published version is evidence of what was promised.
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values(*FROZEN_FIELDS).first()
            if stored and stored["announced_at"] is not None:
                changed = [f for f in FROZEN_FIELDS if stored[f] != getattr(self, f)]
                if changed:
                    raise VersionFrozen(f"Policy version {self.pk} is announced; refused to change {changed}.")
        super().save(*args, **kwargs)

    @property
    def is_announced(self) -> bool:
        return self.announced_at is not None

    def frozen_html(self, language: str) -> str:
        return pick(self, "frozen_html", language, english_fallback=False, korean_fallback=False)

    def clean(self) -> None:
        if self.label and not LABEL_PATTERN.match(self.label):
            raise ValidationError(
                {"label": _("Use letters, digits, dots, dashes and underscores only (up to 40 characters).")}
            )
        if not isinstance(self.reconsent_purpose_keys, list) or not all(
            isinstance(k, str) for k in self.reconsent_purpose_keys
        ):
            raise ValidationError({"reconsent_purpose_keys": _("Give a list of purpose keys.")})
        if self.effective_at is None:
            return
        # A draft is checked as if it were announced now: a date too close to announce is no use.
        error = notice_period_error(
            announced_at=self.announced_at or timezone.now(),
            effective_at=self.effective_at,
            is_significant=self.is_significant,
        )
        if error:
            raise ValidationError({"effective_at": error})


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class PolicyNoticeDeliveryQuerySet(models.QuerySet):
    def due(self, now: datetime, max_attempts: int):
        """Pending deliveries and failed ones still worth retrying whose time has come."""
        return self.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            attempts__lt=max_attempts,
            next_attempt_at__lte=now,
        )


class PolicyNoticeDelivery(models.Model):
    """The notice of one policy version to one data subject.

    The address is read from the subject when sending, never copied here, so an erased or
    corrected email is not kept in a second place.
    """

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("policy version"), on_delete=models.PROTECT, related_name="deliveries"
    )
    subject = models.ForeignKey(
        "subjects.DataSubject", verbose_name=_("subject"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("policy notice status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The exception's class name only: messages from mail servers can echo the address.
    last_error = models.CharField(_("last error"), max_length=100, blank=True)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("policy notice sent at"), null=True, blank=True)
    # Set by the sender that claimed the row, so two workers never send the same notice twice.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)

    objects = PolicyNoticeDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("policy notice delivery")
        verbose_name_plural = _("policy notice deliveries")
        constraints = [
            models.UniqueConstraint(fields=["version", "subject"], name="policy_notice_once_per_subject"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="policy_notice_due")]

    def __str__(self) -> str:
        return f"notice #{self.pk}"
