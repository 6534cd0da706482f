"""The people the company holds data about, and the personal-data records of policy section 1.

Every model here that holds personal data is registered in `subjects/registry.py` (see apps.py).
Foreign keys to DataSubject are PROTECT: a subject row can only go after its records were
destroyed or anonymised through the registry, so no cascade can bypass a legal hold.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CollectionSource(models.TextChoices):
    """How the company came to hold the data (policy 1.1.1, 1.2.1-1.2.3, 1.3)."""

    CUSTOMER_SERVICE = "customer_service", _("Customer service (web page, email, fax, phone)")
    OFFLINE_EVENT = "offline_event", _("Offline events and seminars")
    AFFILIATE = "affiliate", _("Provided by an affiliated service or organisation")
    LINKED_SERVICE = "linked_service", _("Linked third-party service (SNS, advertising)")
    AUTOMATIC = "automatic", _("Collected automatically during service use")
    DATA_SUBJECT_REQUEST = "data_subject_request", _("A request made by the person")


def normalise_email(email: str | None) -> str | None:
    """The one spelling of an address: trimmed, lower case, None when empty. Every door that
    stores or looks up a subject's email goes through it (the model's clean() and save() too),
    so `ALICE@x` can never sit beside `alice@x` or be missed by a lookup."""
    email = (email or "").strip().lower()
    return email or None


class Affiliate(models.Model):
    """An affiliated third-party service or organisation that provides personal data (policy 1.2.3)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("affiliate")
        verbose_name_plural = _("affiliates")

    def __str__(self) -> str:
        return self.name


class DataSubject(models.Model):
    name = models.CharField(_("name"), max_length=200, blank=True)
    # Stored normalised (trimmed, lower case); NULL when unknown so the unique index allows many.
    email = models.EmailField(_("email"), max_length=254, null=True, blank=True, unique=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    source = models.CharField(_("collection source"), max_length=32, choices=CollectionSource.choices)
    source_affiliate = models.ForeignKey(
        Affiliate,
        verbose_name=_("source affiliate"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Set when an affiliated service or organisation provided this person's data."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    processing_restricted = models.BooleanField(
        _("processing restricted"),
        default=False,
        help_text=_("Processing is suspended at the person's request: no marketing, syncs or exports."),
    )

    class Meta:
        verbose_name = _("data subject")
        verbose_name_plural = _("data subjects")
        constraints = [
            # With the field's unique index this makes the normalised address unique: a write that
            # skips save() (update(), bulk_create, raw SQL) cannot store another spelling either.
            models.CheckConstraint(
                condition=models.Q(email=Lower(Trim("email"))) & ~models.Q(email=""),
                name="subjects_datasubject_email_normalised",
                violation_error_message=_("The email address must be stored trimmed and in lower case."),
            ),
        ]

    def __str__(self) -> str:
        # Ids only: a subject's name or email must not leak into logs through repr().
        return f"subject #{self.pk}"

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)

    def clean(self):
        # Runs before a model form checks uniqueness: `ALICE@x` typed in the admin is then found
        # to be the existing `alice@x` ("already exists"), not a second person or a 500.
        self.email = normalise_email(self.email)


class VisitLogQuerySet(models.QuerySet):
    def expired(self, cutoff):
        return self.filter(visited_at__lt=cutoff)


class VisitLog(models.Model):
    """One visit to the service, collected automatically (policy 1.3)."""

    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), null=True, blank=True, on_delete=models.PROTECT)
    visited_at = models.DateTimeField(_("visited at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    os = models.CharField(_("operating system"), max_length=100, blank=True)
    screen_size = models.CharField(_("screen size"), max_length=20, blank=True)
    device_id = models.CharField(_("device id"), max_length=200, blank=True)
    phone_model = models.CharField(_("phone model"), max_length=100, blank=True)
    cookie_id = models.CharField(_("cookie id"), max_length=200, blank=True)
    path = models.CharField(_("path"), max_length=2048, blank=True)
    abnormal = models.BooleanField(_("abnormal usage"), default=False)
    abnormal_reason = models.CharField(_("abnormal usage reason"), max_length=200, blank=True)
    # The sending website's own id for the visit: a retried call (single or batch) carrying the
    # same reference is answered with the visit recorded the first time instead of a second row.
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)

    objects = VisitLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit log")
        verbose_name_plural = _("visit logs")
        # The timestamp index carries the id (PostgreSQL; elsewhere a plain index): the scheduled
        # destruction's id bounds of the due rows are then read from the index alone (an
        # index-only scan), 2,000,000 due rows 364 -> 152 ms (docs/BENCHMARKS.md).
        indexes = [models.Index(fields=["visited_at"], include=["id"], name="visitlog_visited_at_id")]
        constraints = [
            models.UniqueConstraint(
                fields=["external_ref"], condition=~models.Q(external_ref=""), name="visitlog_external_ref_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"visit #{self.pk}"


class InquiryChannel(models.TextChoices):
    WEB = "web", _("Web page")
    EMAIL = "email", _("Email")
    FAX = "fax", _("Fax")
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")


class InquiryKind(models.TextChoices):
    QUESTION = "question", _("Question")
    COMPLAINT = "complaint", _("Consumer complaint")
    DISPUTE = "dispute", _("Dispute")


class InquiryQuerySet(models.QuerySet):
    def complaints_and_disputes(self):
        return self.filter(kind__in=[InquiryKind.COMPLAINT, InquiryKind.DISPUTE])

    def questions(self):
        return self.filter(kind=InquiryKind.QUESTION)


class Inquiry(models.Model):
    """A customer-service contact (policy 1.2.1); complaints and disputes are kept 3 years (4.1.1)."""

    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT)
    channel = models.CharField(_("channel"), max_length=16, choices=InquiryChannel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=InquiryKind.choices, default=InquiryKind.QUESTION)
    body = models.TextField(_("body"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)
    affiliate = models.ForeignKey(
        Affiliate, verbose_name=_("affiliate"), null=True, blank=True, on_delete=models.PROTECT
    )
    # The calling tool's own id, so a retried API call does not create a second inquiry.
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)

    objects = InquiryQuerySet.as_manager()

    class Meta:
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        constraints = [
            models.UniqueConstraint(
                fields=["external_ref"], condition=~models.Q(external_ref=""), name="inquiry_external_ref_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | models.Q(closed_at__gte=models.F("opened_at")),
                name="inquiry_closed_after_opened",
            ),
        ]

    def __str__(self) -> str:
        return f"inquiry #{self.pk}"


class EventKind(models.TextChoices):
    EVENT = "event", _("Offline event")
    SEMINAR = "seminar", _("Seminar")


class EventAttendance(models.Model):
    """A registration for an offline event or seminar (policy 1.2.2)."""

    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT)
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices, default=EventKind.EVENT)
    event_name = models.CharField(_("event name"), max_length=200)
    event_date = models.DateField(_("event date"))
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    attended = models.BooleanField(_("attended"), default=False)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    affiliate = models.ForeignKey(
        Affiliate, verbose_name=_("affiliate"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("event attendance")
        verbose_name_plural = _("event attendances")
        indexes = [models.Index(fields=["event_date"])]

    def __str__(self) -> str:
        return f"attendance #{self.pk}"


class SocialPlatform(models.TextChoices):
    YOUTUBE = "youtube", "YouTube"
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook"
    TIKTOK = "tiktok", "TikTok"
    X = "x", "X"
    OTHER = "other", _("Other")


class SocialAccount(models.Model):
    """An SNS account linked through a third-party service (policy 1.1.1)."""

    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT)
    platform = models.CharField(_("platform"), max_length=16, choices=SocialPlatform.choices)
    handle = models.CharField(_("handle"), max_length=200)
    external_id = models.CharField(_("platform account id"), max_length=200, blank=True)
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)
    unlinked_at = models.DateTimeField(_("unlinked at"), null=True, blank=True)
    affiliate = models.ForeignKey(
        Affiliate, verbose_name=_("affiliate"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("SNS account")
        verbose_name_plural = _("SNS accounts")
        constraints = [models.UniqueConstraint(fields=["platform", "handle"], name="social_account_platform_handle")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} account #{self.pk}"


class AdPerformanceRecord(models.Model):
    """Post and advertisement performance and ad execution data of an SNS account (policy 1.1.1).

    A child of SocialAccount: it goes with its account (CASCADE), so it needs no subject key.
    """

    account = models.ForeignKey(
        SocialAccount, verbose_name=_("SNS account"), on_delete=models.CASCADE, related_name="ad_records"
    )
    post_id = models.CharField(_("post id"), max_length=200, blank=True)
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    impressions = models.PositiveBigIntegerField(_("impressions"), default=0)
    clicks = models.PositiveBigIntegerField(_("clicks"), default=0)
    spend = models.DecimalField(_("spend"), max_digits=14, decimal_places=2, default=0)
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("ad performance record")
        verbose_name_plural = _("ad performance records")

    def __str__(self) -> str:
        return f"ad record #{self.pk}"
