"""Personal-data breaches (유출등) and the response the law requires (REQUIREMENTS SA-08).

An `Incident` is the register entry: when and how it was found, when the company became aware
(the start of both 72-hour clocks), what leaked, who is affected, what was done, and where the
response stands. Its deadlines are computed from `aware_at`, never typed (PIPA art. 34(1),
Enforcement Decree art. 39(1) and 40(1)). `AffectedPerson` is the list of people to notify: a
subject of the registry, or an address imported from a file for people the registry does not
hold. `IncidentEvent` is the timeline, append-only: every step, who took it and when.
docs/INCIDENTS.md explains the triggers and their sources.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyops.lib.ledger import AppendOnlyModel, AppendOnlyQuerySet
from subjects.models import DataSubject
from subjects.registry import DataCategory
from thirdparty.models import Processor

# PIPA art. 34(1) / Decree art. 39(1): notice within 72 hours of becoming aware;
# Decree art. 40(1): the report to the PIPC or KISA within the same 72 hours.
CLOCK_HOURS = 72
# Decree art. 40(1)1: 1,000 or more people make the report (and the website posting, art. 39(3)) mandatory.
REPORT_THRESHOLD = 1000
# Hours after aware_at at which the officer is reminded of the open clocks.
REMINDER_HOURS = (24, 48, 66)


class PrivateStorage(FileSystemStorage):
    """Processors' notices: under INCIDENTS_PRIVATE_ROOT (MEDIA_ROOT/private/incidents), never under a
    public URL (no base_url: every file leaves through an officer-only admin view)."""

    @property
    def base_location(self):
        return str(settings.INCIDENTS_PRIVATE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def private_storage() -> FileSystemStorage:
    return PrivateStorage()


def processor_notice_path(instance, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"processor-notices/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.{extension}"


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONTAINED = "contained", _("Contained")
    NOTIFIED = "notified", _("People notified")
    REPORTED = "reported", _("Reported to the regulator")
    CLOSED = "closed", _("Closed")


class DiscoveryMethod(models.TextChoices):
    MONITORING = "monitoring", _("Security monitoring or an alert")
    STAFF = "staff", _("Reported by staff")
    PROCESSOR = "processor", _("Notice from a processor")
    SUBJECT = "subject", _("Reported by an affected person")
    OUTSIDE = "outside", _("Reported from outside (researcher, press, authority)")
    OTHER = "other", _("Other")


class DelayReason(models.TextChoices):
    """Why a notice or report went out after its 72 hours (PIPA art. 34(1) "without justifiable
    reason"; Decree art. 39(1) proviso and 39(2)-(3), art. 40(1) proviso)."""

    URGENT_CONTAINMENT = (
        "urgent_containment",
        _("Urgent measures to stop the spread came first (blocking access, fixing the weakness, recovering data)"),
    )
    DETAILS_UNKNOWN = "details_unknown", _("What leaked, or when and how, was still being identified")
    NO_CONTACT_DETAILS = "no_contact_details", _("No contact details for the people affected (website posting)")


class RegulatorAuthority(models.TextChoices):
    PIPC = "pipc", _("Personal Information Protection Commission (PIPC)")
    KISA = "kisa", _("Korea Internet & Security Agency (KISA)")


class IncidentQuerySet(models.QuerySet):
    def with_listed_count(self):
        return self.annotate(listed_count=Count("affected_people"))

    def still_open(self):
        return self.exclude(status=IncidentStatus.CLOSED)

    def open_with_clocks(self, now: datetime | None = None):
        """Open incidents whose notice or report is still due, soonest first (the officer's desk)."""
        return (
            self.still_open()
            .filter(Q(notified_at__isnull=True) | Q(reported_at__isnull=True))
            .with_listed_count()
            .order_by("aware_at", "pk")
        )


class Incident(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200, help_text=_("A short name; no personal data."))
    discovered_at = models.DateTimeField(_("discovered at"))
    discovery_method = models.CharField(_("how it was discovered"), max_length=16, choices=DiscoveryMethod.choices)
    discovery_details = models.TextField(_("discovery details"), blank=True)
    aware_at = models.DateTimeField(
        _("aware at"),
        help_text=_(
            "When the company became aware that personal data leaked (PIPA art. 34): both 72-hour clocks start here."
        ),
    )
    occurred_at = models.DateTimeField(_("when it happened"), null=True, blank=True)
    description = models.TextField(_("what happened, and how"))
    data_categories = models.JSONField(
        _("data categories involved"),
        default=list,
        blank=True,
        help_text=_("Categories of the personal-data registry."),
    )
    leaked_items = models.TextField(
        _("items leaked"), blank=True, help_text=_("The personal data items, in words (Decree art. 39(1)1).")
    )
    sensitive_or_unique_ids = models.BooleanField(
        _("sensitive or unique identifying data involved"),
        default=False,
        help_text=_("Sensitive data (PIPA art. 23) or unique identifiers (art. 24): the report is mandatory."),
    )
    outside_unauthorised_access = models.BooleanField(
        _("outside unauthorised access"),
        default=False,
        help_text=_("Caused by hacking or other unlawful access from outside: the report is mandatory."),
    )
    processors = models.ManyToManyField(
        Processor, verbose_name=_("processors involved"), blank=True, related_name="incidents"
    )
    affected_count_estimate = models.PositiveIntegerField(
        _("affected people (estimate)"),
        null=True,
        blank=True,
        help_text=_("Enter when the number is known before the list; the larger of this and the list counts."),
    )
    containment_measures = models.TextField(_("containment measures"), blank=True)
    remedial_measures = models.TextField(_("remedial measures"), blank=True)
    # Decree art. 39(1)3, printed in the notices in the reader's language.
    what_person_can_do_ko = models.TextField(_("what the person can do to limit harm (Korean)"), blank=True)
    what_person_can_do_en = models.TextField(_("what the person can do to limit harm (English)"), blank=True)
    no_contact_reason = models.TextField(
        _("why some people cannot be contacted"),
        blank=True,
        help_text=_("Decree art. 39(3): people without contact details are told by a website posting."),
    )
    damage_relief = models.TextField(
        _("damage relief"), blank=True, help_text=_("How people can claim relief for damage (Decree art. 40(1)).")
    )
    # A breach at a processor (PIPA art. 26): the processor's own notice, kept in private storage.
    at_processor = models.ForeignKey(
        Processor,
        verbose_name=_("breach at processor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="breaches",
    )
    processor_notified_at = models.DateTimeField(_("processor's notice received at"), null=True, blank=True)
    processor_notice = models.FileField(
        _("processor's notice"), storage=private_storage, upload_to=processor_notice_path, blank=True, max_length=200
    )
    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    # Set only by the services (incidents.services), each with a timeline event.
    contained_at = models.DateTimeField(_("contained at"), null=True, blank=True, editable=False)
    notified_at = models.DateTimeField(_("people notified at"), null=True, blank=True, editable=False)
    notify_delay_reason = models.CharField(
        _("reason the notice was late"), max_length=32, choices=DelayReason.choices, blank=True, editable=False
    )
    notify_delay_note = models.TextField(_("notice delay, details"), blank=True, editable=False)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True, editable=False)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    report_authority = models.CharField(
        _("reported to"), max_length=8, choices=RegulatorAuthority.choices, blank=True, editable=False
    )
    report_reference = models.CharField(_("report reference number"), max_length=100, blank=True, editable=False)
    report_delay_reason = models.CharField(
        _("reason the report was late"), max_length=32, choices=DelayReason.choices, blank=True, editable=False
    )
    report_delay_note = models.TextField(_("report delay, details"), blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-aware_at", "-pk"]
        permissions = [("handle_incident", "Can handle personal-data breach incidents")]
        indexes = [models.Index(fields=["status", "aware_at"], name="incidents_status_aware")]
        constraints = [
            models.CheckConstraint(
                condition=Q(aware_at__gte=models.F("discovered_at")),
                name="incidents_aware_not_before_discovery",
                violation_error_message=_("The company cannot become aware before the incident was discovered."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def clean(self):
        unknown = sorted(set(self.data_categories or []) - set(DataCategory.values))
        if unknown:
            raise ValidationError({"data_categories": _("Unknown data category: %s") % ", ".join(unknown)})

    # --- the affected count --------------------------------------------------------------------
    @property
    def listed_count_value(self) -> int:
        annotated = getattr(self, "listed_count", None)
        if annotated is not None:
            return annotated
        return self.affected_people.count() if self.pk else 0

    @property
    def affected_count(self) -> int:
        """The larger of the listed people and the officer's estimate: a list still being built
        must not hide a trigger the estimate already shows."""
        return max(self.listed_count_value, self.affected_count_estimate or 0)

    @property
    def affected_count_source(self) -> str:
        if self.affected_count_estimate and self.affected_count_estimate > self.listed_count_value:
            return "estimate"
        return "list"

    # --- the clocks ----------------------------------------------------------------------------
    @property
    def report_triggers(self) -> list[str]:
        """Which of Decree art. 40(1) 1-3 hold (as keys of REPORT_TRIGGER_LABELS)."""
        triggers = []
        if self.affected_count >= REPORT_THRESHOLD:
            triggers.append("thousand_or_more")
        if self.sensitive_or_unique_ids:
            triggers.append("sensitive_or_unique_ids")
        if self.outside_unauthorised_access:
            triggers.append("outside_access")
        return triggers

    @property
    def report_required(self) -> bool:
        return bool(self.report_triggers)

    @property
    def notify_by(self) -> datetime:
        return self.aware_at + timedelta(hours=CLOCK_HOURS)

    @property
    def report_by(self) -> datetime | None:
        return self.aware_at + timedelta(hours=CLOCK_HOURS) if self.report_required else None

    @property
    def posting_required(self) -> bool:
        """Decree art. 39(3): 1,000 or more people get a website posting for at least 30 days as well."""
        return self.affected_count >= REPORT_THRESHOLD

    def notice_is_late(self, at: datetime) -> bool:
        return at > self.notify_by

    def report_is_late(self, at: datetime) -> bool:
        return self.report_by is not None and at > self.report_by


REPORT_TRIGGER_LABELS = {
    "thousand_or_more": _("1,000 or more people affected (Decree art. 40(1)1)"),
    "sensitive_or_unique_ids": _("Sensitive or unique identifying data (Decree art. 40(1)2)"),
    "outside_access": _("Unlawful access from outside (Decree art. 40(1)3)"),
}


class AffectedSource(models.TextChoices):
    QUERY = "query", _("Registry query")
    IMPORT = "import", _("Imported file")


class AffectedPerson(models.Model):
    """One person to notify: a registry subject, or an address from an imported file."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="affected_people"
    )
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("subject"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # The person's language where known (an optional column of the import), else Korean.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=AffectedSource.choices)
    added_at = models.DateTimeField(_("added at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("affected person")
        verbose_name_plural = _("affected people")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "subject"],
                condition=Q(subject__isnull=False),
                name="incidents_affected_subject_once",
            ),
            models.UniqueConstraint(
                fields=["incident", "email"], condition=~Q(email=""), name="incidents_affected_email_once"
            ),
            models.UniqueConstraint(
                fields=["incident", "phone"],
                condition=Q(email="") & ~Q(phone=""),
                name="incidents_affected_phone_once",
            ),
            models.CheckConstraint(
                condition=Q(subject__isnull=False) | ~Q(email="") | ~Q(phone=""),
                name="incidents_affected_reachable",
            ),
        ]

    def __str__(self) -> str:
        # Ids only, as DataSubject does: no address in logs through repr().
        return f"affected person #{self.pk}"


class AffectedQuery(models.Model):
    """A saved registry query: the subjects whose registered rows of these categories were
    created, collected or changed in the date range, or who were shared with these processors."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="queries")
    data_categories = models.JSONField(_("data categories"), default=list)
    rows_from = models.DateTimeField(_("rows from"), null=True, blank=True)
    rows_until = models.DateTimeField(_("rows until"), null=True, blank=True)
    processors = models.ManyToManyField(Processor, verbose_name=_("shared with processors"), blank=True)
    matched = models.PositiveIntegerField(_("people matched"), default=0)
    added = models.PositiveIntegerField(_("people added"), default=0)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("saved by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    saved_at = models.DateTimeField(_("saved at"), default=timezone.now)

    class Meta:
        verbose_name = _("affected-people query")
        verbose_name_plural = _("affected-people queries")
        ordering = ["-saved_at"]

    def __str__(self) -> str:
        return f"query #{self.pk}"


class EventKind(models.TextChoices):
    RECORDED = "recorded", _("Recorded")
    CHANGED = "changed", _("Changed")
    QUERY_SAVED = "query_saved", _("Affected-people query saved")
    PEOPLE_IMPORTED = "people_imported", _("Affected people imported")
    CONTAINED = "contained", _("Contained")
    PROCESSOR_NOTICE = "processor_notice", _("Processor's notice attached")
    REMINDER = "reminder", _("Reminder sent to the officer")
    NOTICES_SENT = "notices_sent", _("Notices sent to people")
    NOTIFIED = "notified", _("People notified")
    POSTED = "posted", _("Posted on the website")
    REPORTED = "reported", _("Reported to the regulator")
    CLOSED = "closed", _("Closed")
    NOTE = "note", _("Note")


class IncidentEvent(AppendOnlyModel):
    """One step of an incident's response: written once, never changed (GDPR art. 33(5): document
    every breach, its effects and the remedial action)."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # For a reminder: the hour after aware_at it stands for (24, 48 or 66).
    hours = models.PositiveSmallIntegerField(_("hours after awareness"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # No personal data of the affected people here: counts, references and the officer's words.
    note = models.TextField(_("note"), blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    deletion_note = "An incident's timeline is kept with the incident."

    class Meta:
        verbose_name = _("incident event")
        verbose_name_plural = _("incident timeline")
        ordering = ["at", "pk"]
        constraints = [
            # Each reminder once, even when two runs overlap.
            models.UniqueConstraint(
                fields=["incident", "hours"], condition=Q(kind="reminder"), name="incidents_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


# --- notices to people (PIPA art. 34(1), Decree art. 39) and the website posting (art. 39(3)) ------


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class IncidentNoticeQuerySet(models.QuerySet):
    def due(self, now: datetime, max_attempts: int):
        """Pending notices and failed ones still worth retrying whose time has come."""
        return self.filter(
            status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED],
            attempts__lt=max_attempts,
            next_attempt_at__lte=now,
        )


class IncidentNotice(models.Model):
    """The breach notice to one affected person, by one channel.

    The address is read from the person (or their subject) when sending, never copied here, and
    the text is kept only as its SHA-256: the incident's own fields and the templates rebuild it.
    """

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="notices")
    person = models.OneToOneField(
        AffectedPerson, verbose_name=_("affected person"), on_delete=models.CASCADE, related_name="notice"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=NoticeChannel.choices)
    language = models.CharField(_("language"), max_length=8, default="ko")
    status = models.CharField(
        _("notice status"), max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The exception's class name or the gateway's HTTP status only: servers can echo the address.
    error = models.CharField(_("last error"), max_length=100, blank=True)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("notice sent at"), null=True, blank=True)
    body_sha256 = models.CharField(_("text SHA-256"), max_length=64, blank=True)
    # Set by the sender that claimed the row, so two workers never send the same notice twice.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)

    objects = IncidentNoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("breach notice")
        verbose_name_plural = _("breach notices")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="incident_notice_due")]

    def __str__(self) -> str:
        return f"notice #{self.pk}"


class IncidentPosting(models.Model):
    """The notice on the website (Decree art. 39(3)): public, without anyone's personal data, up
    for at least INCIDENT_POSTING_MIN_DAYS days; `removable_after` is fixed when it is posted."""

    incident = models.OneToOneField(
        Incident, verbose_name=_("incident"), on_delete=models.PROTECT, related_name="posting"
    )
    slug = models.SlugField(_("address"), max_length=40, unique=True)
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    removable_after = models.DateTimeField(_("may be taken down after"))
    removed_at = models.DateTimeField(_("taken down at"), null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("posted by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken down by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("website posting")
        verbose_name_plural = _("website postings")
        ordering = ["-posted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gte=models.F("removable_after")),
                name="incidents_posting_up_30_days",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def live(self) -> bool:
        return self.removed_at is None
