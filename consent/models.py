"""Purposes (policy 2.1), the consent ledger and current state, cookie categories (policy 1.3).

The ledger (`ConsentEvent`) and the cookie consent records are append-only evidence
(`privacyops.lib.ledger`): the model and its QuerySet refuse updates and deletes. Two narrow,
named exceptions exist and nothing else writes to an existing row: `_stamp_ended()` (the service
marks when the answer an event recorded stopped being current; the proof period runs from there)
and the ledger's `_purge()` (`purge_cookie_consent_records`; the retention engine and DSAR
erasure remove a person's consent events through the registry with a raw DELETE instead).
`ConsentState` is the current answer per subject and purpose, written in the same transaction as
the event, and is what every send, sync and `may_process` call reads.
"""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyops.lib.i18n import pick
from privacyops.lib.ledger import AppendOnlyModel, AppendOnlyQuerySet
from subjects.models import DataSubject

MARKETING = "marketing"


class LegalBasis(models.TextChoices):
    """PIPA art. 15(1): the grounds on which personal data may be processed."""

    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Performance of a contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")


class BilingualText(models.Model):
    """Names and descriptions stored in English and Korean: database text cannot go through gettext."""

    name = models.CharField(_("name (English)"), max_length=200)
    name_ko = models.CharField(_("name (Korean)"), max_length=200)
    description = models.TextField(_("description (English)"), blank=True)
    description_ko = models.TextField(_("description (Korean)"), blank=True)

    class Meta:
        abstract = True

    # No fallback: a blank text in the active language is shown blank, not in the other language.
    @property
    def localized_name(self) -> str:
        return pick(self, "name", english_fallback=False, korean_fallback=False)

    @property
    def localized_description(self) -> str:
        return pick(self, "description", english_fallback=False, korean_fallback=False)


class Purpose(BilingualText):
    """A purpose of processing from policy 2.1, with its legal basis."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    policy_clause = models.CharField(_("policy clause"), max_length=20)
    legal_basis = models.CharField(_("legal basis"), max_length=32, choices=LegalBasis.choices)
    consent_required = models.BooleanField(_("consent required"), default=True)
    is_marketing = models.BooleanField(
        _("marketing"),
        default=False,
        help_text=_("Advertising or promotion: separate consent, result notices and 2-yearly re-confirmation."),
    )
    continues_when_restricted = models.BooleanField(
        _("continues when processing is restricted"),
        default=False,
        help_text=_("Processing continues for a person who asked to suspend processing (PIPA art. 37(2))."),
    )
    stops_on_gpc = models.BooleanField(
        _("stops on Global Privacy Control"),
        default=False,
        help_text=_("A Global Privacy Control signal is an opt-out of this purpose (sharing or targeted ads)."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.key


class ConsentAction(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REFUSED = "refused", _("Refused")
    # The same consent granted again within 30 days of its 2-year anniversary: restarts the clock.
    RECONFIRMED = "reconfirmed", _("Re-confirmed")


class ConsentChannel(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    COOKIE_BANNER = "cookie_banner", _("Cookie banner")
    PREFERENCE_PAGE = "preference_page", _("Preference page")
    EMAIL_LINK = "email_link", _("Link in an email")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    IMPORT = "import", _("Import")
    GPC_SIGNAL = "gpc_signal", _("Global Privacy Control signal")
    PROCESSOR_WEBHOOK = "processor_webhook", _("Processor webhook (e.g. an unsubscribe at the mail service)")


class SendChannel(models.TextChoices):
    """Media of advertising sends (Network Act art. 50); only email is exempt from the night rule."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PUSH = "push", _("App push")
    MESSENGER = "messenger", _("Messenger")


class ConsentEventQuerySet(AppendOnlyQuerySet):
    def _stamp_ended(self, at) -> int:
        """Record once when the answer these events recorded stopped being current."""
        return models.QuerySet.update(self.filter(ended_at__isnull=True), ended_at=at)

    def for_marketing(self):
        return self.filter(purpose__is_marketing=True)


class ConsentEvent(AppendOnlyModel):
    """One grant, refusal or withdrawal, with the evidence CM-12 asks for."""

    deletion_note = "Erasure and retention remove events through the personal-data registry."

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="consent_events"
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=16, choices=ConsentAction.choices)
    channel = models.CharField(_("channel"), max_length=32, choices=ConsentChannel.choices)
    policy_version = models.CharField(_("policy version"), max_length=50, blank=True)
    notice_sha256 = models.CharField(
        _("notice SHA-256"), max_length=64, blank=True, help_text=_("Hash of the exact notice text shown.")
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    night_time = models.BooleanField(
        _("night-time consent"), default=False, help_text=_("Separate consent to SMS/push ads between 21:00 and 08:00.")
    )
    gpc = models.BooleanField(_("GPC signal present"), default=False)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(
        _("ended at"),
        null=True,
        blank=True,
        help_text=_("When the answer recorded here stopped being current; the proof period runs from here."),
    )

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent ledger")
        indexes = [
            models.Index(fields=["subject", "purpose", "occurred_at"], name="consent_event_subject_purpose"),
            # The retention engine walks events whose proof period has started.
            models.Index(fields=["ended_at"], name="consent_event_ended", condition=Q(ended_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"consent event #{self.pk}"

    @staticmethod
    def hash_notice(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest() if text else ""


class ConsentState(models.Model):
    """The current answer of one subject for one purpose (the latest event)."""

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="consent_states"
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="states")
    granted = models.BooleanField(_("granted"), default=False)
    action = models.CharField(_("last action"), max_length=16, choices=ConsentAction.choices)
    channel = models.CharField(_("last channel"), max_length=32, choices=ConsentChannel.choices)
    night_time = models.BooleanField(_("night-time consent"), default=False)
    changed_at = models.DateTimeField(_("changed at"))
    # The 2-year clock of Network Act art. 50(8) runs from the consent date (or the last grant).
    confirmed_at = models.DateTimeField(_("consented at"), null=True, blank=True)
    reconfirm_due_at = models.DateTimeField(
        _("re-confirmation due"),
        null=True,
        blank=True,
        help_text=_("Marketing only: the anniversary by which the next re-confirmation notice must be sent."),
    )
    reconfirmation_sent_at = models.DateTimeField(_("last re-confirmation sent"), null=True, blank=True)
    ended_at = models.DateTimeField(
        _("ended at"), null=True, blank=True, help_text=_("When consent was withdrawn or refused.")
    )

    class Meta:
        verbose_name = _("consent state")
        verbose_name_plural = _("consent states")
        constraints = [models.UniqueConstraint(fields=["subject", "purpose"], name="consent_state_subject_purpose")]
        indexes = [
            # marketing_audience: equality on purpose, range on the anniversary, the rest read from
            # the index itself (PostgreSQL INCLUDE); only granted rows are indexed.
            models.Index(
                fields=["purpose", "reconfirm_due_at"],
                include=["subject", "night_time"],
                condition=Q(granted=True),
                name="consent_state_audience",
            ),
        ]

    def __str__(self) -> str:
        return f"consent state #{self.pk}"


class PurposeSuspension(models.Model):
    """The person asked to stop processing their data for one purpose (PIPA art. 37(1), DSAR-06):
    `may_process` answers no for it from the moment this row is committed, whatever the purpose's
    legal basis. A suspension of all processing is DataSubject.processing_restricted instead."""

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="purpose_suspensions"
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="+")
    suspended_at = models.DateTimeField(_("suspended at"), default=timezone.now)
    reference = models.CharField(_("request reference"), max_length=100, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("suspended purpose")
        verbose_name_plural = _("suspended purposes")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "purpose"],
                condition=Q(lifted_at__isnull=True),
                name="purpose_suspension_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_id} / {self.purpose_id}"


class NoticeKind(models.TextChoices):
    RESULT = "result", _("Result notice (within 14 days)")
    RECONFIRMATION = "reconfirmation", _("Re-confirmation (every 2 years)")


class MarketingNotice(models.Model):
    """Proof that a statutory marketing notice was sent (Network Act art. 50(7), 50(8))."""

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT, related_name="marketing_notices"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    # No database constraint: the event may be destroyed at the end of its proof period while
    # the record that its notice went out is kept for its own.
    event = models.ForeignKey(
        ConsentEvent,
        verbose_name=_("consent event"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="notices",
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT)
    anniversary_at = models.DateTimeField(_("anniversary"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("marketing notice")
        verbose_name_plural = _("marketing notices")
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=Q(kind="result"), name="marketing_notice_one_result_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"marketing notice #{self.pk}"


class VendorTag(models.TextChoices):
    NONE = "", _("None")
    GOOGLE_ANALYTICS = "google_analytics", "Google Analytics"
    META_PIXEL = "meta_pixel", "Meta Pixel"


class CookieCategory(BilingualText):
    """A group of cookies the banner asks about (CM-10)."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    always_on = models.BooleanField(_("always on"), default=False, help_text=_("Strictly necessary: no choice."))
    off_under_gpc = models.BooleanField(
        _("off under Global Privacy Control"),
        default=False,
        help_text=_("A browser sending Global Privacy Control gets this category off by default."),
    )
    vendor_tag = models.CharField(_("vendor tag"), max_length=32, choices=VendorTag.choices, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("cookie category")
        verbose_name_plural = _("cookie categories")
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.key


class CookieChoice(models.TextChoices):
    ALLOW_ALL = "allow_all", _("Allow all")
    CUSTOM = "custom", _("Chosen per category")
    REJECT_ALL = "reject_all", _("Reject all")


class CookieConsentRecord(AppendOnlyModel):
    """One choice made in the cookie banner by a (usually anonymous) visitor.

    Linked to no DataSubject on purpose: the banner carries no identity, so it cannot prove who
    the visitor is. The visitor id is the random value of the first-party cookie, and the IP is
    truncated (IPv4 to /24, IPv6 to /48) rather than hashed: a hash of an IPv4 address is
    reversible by trying all 2^32 of them, a truncated one is not the visitor's address at all.
    Kept for the cookie's lifetime plus the proof period, then purged
    (`purge_cookie_consent_records`).
    """

    deletion_note = "purge_cookie_consent_records removes them."

    visitor_id = models.CharField(_("visitor id"), max_length=32, db_index=True)
    banner_version = models.CharField(_("banner version"), max_length=32)
    language = models.CharField(_("language"), max_length=8)
    choice = models.CharField(_("choice"), max_length=16, choices=CookieChoice.choices)
    categories = models.JSONField(_("categories allowed"), default=list)
    gpc = models.BooleanField(_("GPC signal present"), default=False)
    gpc_honoured = models.BooleanField(_("GPC honoured"), default=False)
    notice_sha256 = models.CharField(_("notice SHA-256"), max_length=64)
    # The browser's clock when the visitor chose: with the visitor id, it names one choice, so a
    # choice the banner posts again (its first post was refused or lost) is recorded once.
    # created_at is this server's clock when the record was made, which is later for a re-post.
    chosen_at = models.DateTimeField(_("chosen at (browser clock)"), null=True, blank=True)
    ip_truncated = models.GenericIPAddressField(_("IP address (truncated)"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("cookie consent record")
        verbose_name_plural = _("cookie consent records")

    def __str__(self) -> str:
        return f"cookie consent #{self.pk}"


class RefusedOriginQuerySet(models.QuerySet):
    def seen_since(self, since):
        return self.filter(last_seen_at__gte=since).order_by("-last_seen_at", "origin")


class RefusedOrigin(models.Model):
    """A website whose cookie choices the API refused: its origin is not in
    CONSENT_ALLOWED_ORIGINS. One row per origin with a count and when it was first and last
    refused, and nothing about the visitors: a page that embeds the banner from a website left
    out of the setting would otherwise lose every choice without anyone noticing."""

    origin = models.CharField(_("origin"), max_length=255, unique=True)
    refused = models.PositiveBigIntegerField(_("refused posts"), default=0)
    first_seen_at = models.DateTimeField(_("first refused at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last refused at"), default=timezone.now, db_index=True)

    objects = RefusedOriginQuerySet.as_manager()

    class Meta:
        verbose_name = _("refused website origin")
        verbose_name_plural = _("refused website origins")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.origin


class MarketingSuppression(models.Model):
    """An address that withdrew or refused marketing, kept as a keyed hash (HMAC-SHA256 with
    SECRET_KEY) and nothing else: no link to the person, so it survives their erasure, and a later
    import of the same address cannot consent for it. The person's own new consent removes it.
    Kept 5 years from the last withdrawal or refusal (retention rule "marketing_suppression")."""

    address_hash = models.CharField(_("address hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("suppressed since"), default=timezone.now)
    # Each later withdrawal or refusal of the same address moves it: the retention period runs from here.
    last_refused_at = models.DateTimeField(_("last withdrawal or refusal"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("marketing suppression")
        verbose_name_plural = _("marketing suppressions")

    def __str__(self) -> str:
        return f"suppression #{self.pk}"
