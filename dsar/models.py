"""Requests from data subjects to exercise their rights (PIPA art. 35-38), and their timeline.

A request is itself personal data (the requester's name and contact details): it is registered
in the personal-data registry under the rule "dsar_requests" (see apps.py) and destroyed with its
timeline once that period has run from closing. Until the requester proves control of the email
address (or staff check their identity), the request is not linked to any DataSubject and nothing
about the subject is looked up.
"""

from __future__ import annotations

import os
import secrets
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PrivateStorage(FileSystemStorage):
    """Uploads and export packages: under DSAR_PRIVATE_ROOT (MEDIA_ROOT/private/dsar), never
    under a public URL. No base_url, so `.url()` raises instead of producing a link: every file
    leaves through a view that checks a signed token or a staff permission and writes an
    access-log row. The location is read from settings on each use (tests move it)."""

    @property
    def base_location(self):
        return str(settings.DSAR_PRIVATE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def private_storage() -> FileSystemStorage:
    return PrivateStorage()


def _random_name(folder: str, filename: str) -> str:
    # The person's own file name may carry personal data; keep only the (checked) extension.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{folder}/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.{extension}"


def power_of_attorney_path(instance, filename: str) -> str:
    return _random_name("power-of-attorney", filename)


def original_document_path(instance, filename: str) -> str:
    return _random_name("originals", filename)


class RequestType(models.TextChoices):
    ACCESS = "access", _("Access and copy of my data")
    CORRECTION = "correction", _("Correction of my data")
    DELETION = "deletion", _("Deletion of my data")
    SUSPENSION = "suspension", _("Suspension of processing")
    WITHDRAWAL = "withdrawal", _("Withdrawal of consent")
    # DSAR-09: rights that bind only larger controllers; offered only when enabled in settings.
    PORTABILITY = "portability", _("Transmission of my data (portability)")
    AUTOMATED_DECISION = "automated_decision", _("Objection to an automated decision")


OPTIONAL_REQUEST_TYPES = (RequestType.PORTABILITY, RequestType.AUTOMATED_DECISION)


def enabled_request_types() -> list[tuple[str, str]]:
    enabled = set(settings.DSAR_OPTIONAL_REQUEST_TYPES)
    return [
        (value, label)
        for value, label in RequestType.choices
        if value not in OPTIONAL_REQUEST_TYPES or value in enabled
    ]


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted (identity not yet verified)")
    VERIFIED = "verified", _("Verified")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_VENDORS = "awaiting_vendors", _("Awaiting processors")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn by the requester")


OPEN_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.VERIFIED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.AWAITING_VENDORS,
)
CLOSED_STATUSES = (RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.WITHDRAWN)


class RequestChannel(models.TextChoices):
    """How the request reached the company (policy 1.2.1, PIPA Decree art. 41(2))."""

    WEB_FORM = "web_form", _("Web form")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    FAX = "fax", _("Fax")
    LETTER = "letter", _("Letter")
    IN_PERSON = "in_person", _("In person")
    EVENT = "event", _("At an offline event or seminar")


class VerificationMethod(models.TextChoices):
    EMAIL_LINK = "email_link", _("Confirmed through the emailed link")
    STAFF_CHECK = "staff_check", _("Identity checked by staff")
    POWER_OF_ATTORNEY = "power_of_attorney", _("Agent's power of attorney accepted by staff")


class StatutoryGround(models.TextChoices):
    """The grounds the Act gives for not doing (or not yet doing) what the person asked, worded as
    the Act words them. A refusal or postponement names one; there are no free-text grounds."""

    # PIPA art. 35(4): access may be limited or refused (or postponed, Decree art. 42(2)).
    ACCESS_BARRED_BY_LAW = "35-4-1", _("Access is prohibited or limited by an Act (PIPA art. 35(4) 1)")
    ACCESS_HARMS_OTHERS = (
        "35-4-2",
        _(
            "Access may harm the life or body of another person, or unfairly infringe the property or other "
            "interests of another person (PIPA art. 35(4) 2)"
        ),
    )
    ACCESS_PUBLIC_DUTY = (
        "35-4-3",
        _("Access would seriously hinder a public institution in performing its duties (PIPA art. 35(4) 3)"),
    )
    # PIPA art. 36(1) proviso: erasure may not be requested.
    ERASURE_COLLECTION_REQUIRED = (
        "36-1",
        _(
            "Another statute specifies this personal data as data to be collected, so its erasure cannot be "
            "requested (PIPA art. 36(1) proviso)"
        ),
    )
    # PIPA art. 37(2): a suspension (or a withdrawal's destruction) may be refused.
    SUSPENSION_LEGAL_DUTY = (
        "37-2-1",
        _(
            "An Act specially provides for it, or it is unavoidable to comply with a statutory obligation "
            "(PIPA art. 37(2) 1)"
        ),
    )
    SUSPENSION_HARMS_OTHERS = (
        "37-2-2",
        _(
            "Suspension may harm the life or body of another person, or unfairly infringe the property or other "
            "interests of another person (PIPA art. 37(2) 2)"
        ),
    )
    SUSPENSION_PUBLIC_DUTY = (
        "37-2-3",
        _(
            "A public institution cannot perform its duties under another Act without processing the data "
            "(PIPA art. 37(2) 3)"
        ),
    )
    SUSPENSION_CONTRACT = (
        "37-2-4",
        _(
            "Without processing the data the service agreed with the person cannot be provided, and the person has "
            "not clearly said they end the contract (PIPA art. 37(2) 4)"
        ),
    )
    # Any request: the requester is not shown to be the person or their agent (PIPA art. 38(1), Decree art. 46).
    IDENTITY_NOT_VERIFIED = (
        "38-1",
        _(
            "The requester could not be verified as the person or their authorised agent (PIPA art. 38(1), "
            "Decree art. 46)"
        ),
    )
    # Correction: the investigation of art. 36(2) found the recorded data correct.
    CORRECTION_UNFOUNDED = "36-2", _("Our investigation found the recorded data to be correct (PIPA art. 36(2))")


ACCESS_GROUNDS = (
    StatutoryGround.ACCESS_BARRED_BY_LAW,
    StatutoryGround.ACCESS_HARMS_OTHERS,
    StatutoryGround.ACCESS_PUBLIC_DUTY,
)
SUSPENSION_GROUNDS = (
    StatutoryGround.SUSPENSION_LEGAL_DUTY,
    StatutoryGround.SUSPENSION_HARMS_OTHERS,
    StatutoryGround.SUSPENSION_PUBLIC_DUTY,
    StatutoryGround.SUSPENSION_CONTRACT,
)


def grounds_for(request_type: str) -> tuple[str, ...]:
    """The grounds on which a request of this type may be refused."""
    specific = {
        RequestType.ACCESS: ACCESS_GROUNDS,
        RequestType.PORTABILITY: ACCESS_GROUNDS,
        RequestType.DELETION: (StatutoryGround.ERASURE_COLLECTION_REQUIRED,),
        RequestType.CORRECTION: (StatutoryGround.CORRECTION_UNFOUNDED,),
        RequestType.SUSPENSION: SUSPENSION_GROUNDS,
        # DSAR-07: the data collected on a withdrawn consent is kept only on a 37(2) ground.
        RequestType.WITHDRAWAL: SUSPENSION_GROUNDS,
    }.get(request_type, ())
    return (*specific, StatutoryGround.IDENTITY_NOT_VERIFIED)


# ANCHORS (c)7 thresholds, scaled to the 10-day statutory clock: AT_RISK_DAYS or more days left is
# on track, fewer is at risk, past the due date is a breach. The admin list and the desk both use it.
AT_RISK_DAYS = 5


def deadline_state(days_left: int) -> str:
    """ "overdue", "at_risk" or "on_track" for a request with this many days left."""
    if days_left < 0:
        return "overdue"
    return "at_risk" if days_left < AT_RISK_DAYS else "on_track"


class RequestQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def open_by_due(self):
        """Open requests, the nearest due date first."""
        return self.open().order_by("due_on", "pk")

    def by_deadline_state(self, state: str, today: date):
        """Open requests in one deadline_state on `today` (Seoul date)."""
        open_requests = self.open()
        at_risk_from = today + timedelta(days=AT_RISK_DAYS)
        if state == "overdue":
            return open_requests.filter(due_on__lt=today)
        if state == "at_risk":
            return open_requests.filter(due_on__gte=today, due_on__lt=at_risk_from)
        if state == "on_track":
            return open_requests.filter(due_on__gte=at_risk_from)
        raise ValueError(state)

    def in_work(self):
        """Verified and not yet closed: the requests staff must answer."""
        return self.filter(
            status__in=[RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS, RequestStatus.AWAITING_VENDORS]
        )

    def unverified_before(self, cutoff):
        return self.filter(status=RequestStatus.SUBMITTED, verified_at__isnull=True, received_at__lt=cutoff)


def new_reference() -> str:
    # Random, short, readable on the phone, and free of personal data: it goes into the
    # destruction ledger, vendor jobs and the audit log.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "DSAR-" + "".join(secrets.choice(alphabet) for _ in range(8))


def seoul_today() -> date:
    return timezone.localdate()


def due_date_for(received_at) -> date:
    """PIPA Decree art. 41(4): within 10 days of receipt; calendar days in Seoul time."""
    return timezone.localdate(received_at) + timedelta(days=settings.DSAR_DUE_DAYS)


GDPR_MONTHS = 1
GDPR_MAX_EXTENSION_MONTHS = 2


def gdpr_due_date_for(received_at, *, extension_months: int = 0) -> date:
    """GDPR art. 12(3): within one month of receipt, extendable by two further months."""
    return timezone.localdate(received_at) + relativedelta(months=GDPR_MONTHS + extension_months)


class DataSubjectRequest(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, default=new_reference, editable=False)
    request_type = models.CharField(_("request type"), max_length=24, choices=RequestType.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED, db_index=True
    )
    channel = models.CharField(_("channel"), max_length=16, choices=RequestChannel.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ko")

    # The data subject as the requester describes them.
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    details = models.TextField(_("details"), blank=True, max_length=5000)
    # DSAR-06/07: the purposes the person chose for a suspension or a withdrawal (empty: all).
    requested_purposes = models.JSONField(_("purposes chosen by the person"), default=list, blank=True)

    # An agent acting by written authorisation (PIPA art. 38(1), Decree art. 46).
    is_agent = models.BooleanField(_("made by an agent"), default=False)
    agent_name = models.CharField(_("agent's name"), max_length=200, blank=True)
    agent_email = models.EmailField(_("agent's email"), max_length=254, blank=True)
    agent_phone = models.CharField(_("agent's phone"), max_length=40, blank=True)
    agent_relationship = models.CharField(_("agent's relationship to the person"), max_length=100, blank=True)
    power_of_attorney = models.FileField(
        _("power of attorney"), storage=private_storage, upload_to=power_of_attorney_path, blank=True, max_length=200
    )
    original_document = models.FileField(
        _("original document"),
        storage=private_storage,
        upload_to=original_document_path,
        blank=True,
        max_length=200,
        help_text=_("The letter, fax, email or form as received (requests entered by staff)."),
    )

    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    due_on = models.DateField(_("due on"), db_index=True)
    original_due_on = models.DateField(_("originally due on"))

    # Verification: the token itself is never stored, only a hash of its random part.
    verification_nonce_hash = models.CharField(max_length=64, blank=True, editable=False)
    verification_sent_at = models.DateTimeField(_("verification email sent at"), null=True, blank=True)
    email_confirmed_at = models.DateTimeField(_("email confirmed at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("identity verified at"), null=True, blank=True)
    verification_method = models.CharField(
        _("verification method"), max_length=24, choices=VerificationMethod.choices, blank=True
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Linked only after verification (see module docstring).
    subject = models.ForeignKey(
        "subjects.DataSubject", verbose_name=_("data subject"), null=True, blank=True, on_delete=models.PROTECT
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_dsars",
    )

    # DSAR-10: staff mark a request the GDPR governs (an EU/UK user); only such a request has the
    # one-month clock and the extension by up to two months. Every other request runs on PIPA's 10 days.
    gdpr_applies = models.BooleanField(
        _("falls under the GDPR"),
        default=False,
        help_text=_("Set by the privacy officer for a request from an EU or UK user that the GDPR governs."),
    )
    gdpr_extension_months = models.PositiveSmallIntegerField(_("GDPR extension (months)"), default=0)

    # Reminders: the due date each was sent for, so an extension re-arms them.
    assignee_reminded_for = models.DateField(null=True, blank=True, editable=False)
    overdue_notified_on = models.DateField(null=True, blank=True, editable=False)

    # Access package (a ZIP in private storage), reviewed by staff before release.
    package_file = models.FileField(storage=private_storage, blank=True, max_length=200, editable=False)
    package_built_at = models.DateTimeField(_("package built at"), null=True, blank=True)
    package_released_at = models.DateTimeField(_("package released at"), null=True, blank=True)
    # The download link's random part, stored only as its SHA-256 (like the verification link's).
    package_nonce_hash = models.CharField(max_length=64, blank=True, editable=False)
    download_expires_at = models.DateTimeField(_("download link expires at"), null=True, blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)

    # What was done: counts, kept records with reasons and dates; no personal data.
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    # A refusal or postponement names its statutory ground; the note only adds to it.
    refusal_ground = models.CharField(_("statutory ground"), max_length=8, choices=StatutoryGround.choices, blank=True)
    refusal_reason = models.TextField(_("note on the ground"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("data subject request")
        verbose_name_plural = _("data subject requests")
        ordering = ["due_on", "received_at"]
        permissions = [("oversee_requests", _("Oversee data subject requests (privacy officer)"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_agent=False) | ~models.Q(agent_name=""), name="dsar_agent_has_name"
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | models.Q(status__in=CLOSED_STATUSES),
                name="dsar_closed_only_when_final",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        if not self.due_on:
            self.due_on = due_date_for(self.received_at)
        if not self.original_due_on:
            self.original_due_on = self.due_on
        super().save(*args, **kwargs)

    @property
    def contact_email(self) -> str:
        """Where notices go: the agent when an agent made the request."""
        return self.agent_email if self.is_agent else self.email

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def days_left(self, today: date | None = None) -> int:
        return (self.due_on - (today or seoul_today())).days

    def deadline_state(self, today: date | None = None) -> str:
        return deadline_state(self.days_left(today))


class EventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    EMAIL_CONFIRMED = "email_confirmed", _("Email address confirmed")
    VERIFIED = "verified", _("Identity verified")
    ASSIGNED = "assigned", _("Assigned")
    STATUS_CHANGED = "status_changed", _("Status changed")
    EXTENDED = "extended", _("Deadline extended")
    GDPR_MARKED = "gdpr_marked", _("Marked as falling under the GDPR")
    POSTPONED = "postponed", _("Access postponed")
    PACKAGE_BUILT = "package_built", _("Access package built")
    PACKAGE_RELEASED = "package_released", _("Access package released")
    PACKAGE_DOWNLOADED = "package_downloaded", _("Access package downloaded")
    PACKAGE_REVIEWED = "package_reviewed", _("Access package opened by staff")
    ERASED = "erased", _("Data erased")
    CONSENTS_WITHDRAWN = "consents_withdrawn", _("Consents withdrawn")
    VENDOR_JOBS_CREATED = "vendor_jobs_created", _("Processor jobs created")
    RESTRICTED = "restricted", _("Processing suspended")
    SUSPENSION_LIFTED = "suspension_lifted", _("Suspension lifted")
    CORRECTED = "corrected", _("Correction recorded")
    NOTICE_SENT = "notice_sent", _("Notice sent to the requester")
    REMINDER_SENT = "reminder_sent", _("Reminder sent to staff")
    NOTE = "note", _("Note")
    APPROVAL_REQUESTED = "approval_requested", _("Waiting for a second person's approval")
    APPROVED = "approved", _("Approved by a second person")
    APPROVAL_REFUSED = "approval_refused", _("Refused by a second person")
    CLOSED = "closed", _("Closed")


class RequestEvent(models.Model):
    """One entry of a request's timeline (DSAR-13): evidence for PIPC or the mediation committee."""

    request = models.ForeignKey(
        DataSubjectRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%Y-%m-%d %H:%M}"


class ReplyTemplate(models.Model):
    """A reply staff start from when writing to a requester, in Korean or English (the request's
    language picks which are offered). Edited in the admin; sent only through the workflow's
    "Reply to the requester" step, which shows the confirmation page first."""

    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ko")
    request_type = models.CharField(
        _("for requests of type"),
        max_length=32,
        choices=RequestType.choices,
        blank=True,
        help_text=_("Leave blank to offer it for every type."),
    )
    body = models.TextField(
        _("text"), help_text=_("{reference} and {due_on} are replaced by the request's reference and due date.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["language", "name"]

    def __str__(self) -> str:
        return self.name

    def render(self, request: DataSubjectRequest) -> str:
        return self.body.replace("{reference}", request.reference).replace("{due_on}", request.due_on.isoformat())
