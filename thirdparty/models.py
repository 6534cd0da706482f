"""Policy section 3: the processors personal data goes to, what went to them, erasure passed on to
them through their APIs, YouTube Data API grants, and disclosures to authorities.

`VendorErasureJob` outlives the subject row: it holds a plain subject id (no foreign key, so
erasure of the subject is never blocked by PROTECT) and the identifiers it needs, encrypted, which
it wipes as soon as the vendor has confirmed or staff closed the job.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyops.lib.crypto import EncryptedTextField, reveal
from subjects.models import DataSubject
from subjects.registry import DataCategory

DPA_MAX_BYTES = 10 * 1024 * 1024
CONTRACT_EXPIRY_WARNING_DAYS = 60
# PV-10: a processor job unresolved at day 8 leaves little margin in the 10-day answer window.
JOB_LATE_AFTER_DAYS = 8


def validate_dpa_size(file) -> None:
    if file.size > DPA_MAX_BYTES:
        raise ValidationError(_("The contract file is larger than 10 MB."))


def validate_pdf_header(file) -> None:
    # The extension alone is a claim; a PDF starts with "%PDF-".
    position = file.tell() if hasattr(file, "tell") else 0
    file.seek(0)
    head = file.read(5)
    file.seek(position)
    if head != b"%PDF-":
        raise ValidationError(_("The contract file must be a PDF document."))


class ProcessorKind(models.TextChoices):
    # PIPA art. 26 (entrustment: works on our behalf) vs art. 17 (provision: for its own purposes).
    ENTRUSTMENT = "entrustment", _("Entrustment of processing (PIPA art. 26)")
    PROVISION = "provision", _("Provision to a third party (PIPA art. 17)")


class ErasureChannel(models.TextChoices):
    API = "api", _("Vendor API")
    EMAIL = "email", _("Email to the processor's contact")
    MANUAL = "manual", _("Manual (staff act in the vendor's console)")
    NONE = "none", _("None (the processor holds nothing to erase)")


class Connector(models.TextChoices):
    NONE = "", _("None")
    GOOGLE_ANALYTICS = "google_analytics", "Google Analytics"
    META = "meta", "Meta"
    STIBEE = "stibee", "Stibee"


class RestrictedUse(models.TextChoices):
    """What the processor does with the data, as far as policy 3.1.2.1 cares."""

    NONE = "", _("None of the restricted uses")
    TARGETED_ADVERTISING = "targeted_advertising", _("Targeted advertising (behaviour, interests, demographics)")
    RETARGETING = "retargeting", _("Retargeting, personalised or user-specific ads")
    RESALE = "resale", _("Sale or resale of user data")
    CREDIT = "credit", _("Credit, collateral or lending")


class ProcessorQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def expiring_within(self, days: int = CONTRACT_EXPIRY_WARNING_DAYS):
        today = timezone.localdate()
        return self.filter(contract_end__isnull=False, contract_end__lte=today + timedelta(days=days))


class Processor(models.Model):
    """A trustee (수탁자) or third-party recipient listed in policy section 3."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(
        _("classification"),
        max_length=16,
        choices=ProcessorKind.choices,
        default=ProcessorKind.ENTRUSTMENT,
        help_text=_(
            "Entrustment (works on the Company's behalf) or provision (uses the data for its own purposes). "
            "The policy page follows it: section 3.1 or 3.2, and the wording of the overseas-transfer table."
        ),
    )
    kind_needs_legal_review = models.BooleanField(
        _("classification awaits legal review"),
        default=False,
        help_text=_("Shown on the privacy officer's desk until legal has confirmed the classification."),
    )
    kind_review_note = models.TextField(_("classification: note for legal review"), blank=True)
    entrusted_task = models.CharField(_("entrusted task"), max_length=300)
    # The public policy shows these in the reader's language (falls back to entrusted_task).
    entrusted_task_ko = models.CharField(_("entrusted task (Korean)"), max_length=300, blank=True)
    entrusted_task_en = models.CharField(_("entrusted task (English)"), max_length=300, blank=True)
    data_categories = models.JSONField(
        _("data categories shared"), default=list, blank=True, help_text=_("Keys of the personal-data categories.")
    )
    share_purpose = models.CharField(
        _("consent purpose of syncs"),
        max_length=64,
        blank=True,
        help_text=_("The consent purpose key a sync to this processor requires (e.g. marketing)."),
    )
    restricted_use = models.CharField(
        _("restricted use (policy 3.1.2.1)"), max_length=32, choices=RestrictedUse.choices, blank=True, default=""
    )
    retention_text = models.CharField(_("retention period"), max_length=200, default="Until end of service agreement")
    retention_text_ko = models.CharField(_("retention period (Korean)"), max_length=200, blank=True)
    retention_text_en = models.CharField(_("retention period (English)"), max_length=200, blank=True)
    re_entrustees = models.TextField(
        _("re-entrustees"), blank=True, help_text=_("Sub-processors, one a line (published with the processor).")
    )
    country = models.CharField(_("country"), max_length=100)
    transfers_overseas = models.BooleanField(_("data leaves Korea"), default=False)
    overseas_transfer_details = models.TextField(
        _("overseas transfer details"),
        blank=True,
        help_text=_("Items transferred, when and how, the recipient's contact (PIPA art. 28-8)."),
    )
    # The overseas-transfer table of the policy (PIPA art. 28-8(2), Decree art. 31(1)2): written
    # for the public in both languages; announcing a policy is refused while one is missing.
    transfer_contact = models.CharField(
        _("recipient's privacy contact (overseas transfer)"),
        max_length=200,
        blank=True,
        help_text=_("How a person reaches the recipient about their data: an email address or a web form."),
    )
    transfer_basis_ko = models.CharField(_("legal basis of the transfer (Korean)"), max_length=300, blank=True)
    transfer_basis_en = models.CharField(_("legal basis of the transfer (English)"), max_length=300, blank=True)
    transferred_items_ko = models.CharField(_("items actually transferred (Korean)"), max_length=300, blank=True)
    transferred_items_en = models.CharField(_("items actually transferred (English)"), max_length=300, blank=True)
    transfer_method_ko = models.CharField(_("time and method of transfer (Korean)"), max_length=300, blank=True)
    transfer_method_en = models.CharField(_("time and method of transfer (English)"), max_length=300, blank=True)
    contact_email = models.EmailField(_("privacy contact email"), blank=True)
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    contract_end = models.DateField(_("contract end"), null=True, blank=True)
    dpa_file = models.FileField(
        _("entrustment contract / DPA (PDF)"),
        upload_to="thirdparty/dpa/",
        blank=True,
        validators=[FileExtensionValidator(["pdf"]), validate_dpa_size, validate_pdf_header],
    )
    dpa_signed_at = models.DateField(_("DPA signed on"), null=True, blank=True)
    # PIPA art. 26(1) 1-2 and Decree art. 28(1) 1-5: what the written entrustment must state.
    clause_purpose_limitation = models.BooleanField(_("no processing beyond the entrusted purpose"), default=False)
    clause_safeguards = models.BooleanField(_("technical and managerial safeguards"), default=False)
    clause_purpose_and_scope = models.BooleanField(_("purpose and scope of the entrusted work"), default=False)
    clause_re_entrustment = models.BooleanField(_("limits on re-entrustment"), default=False)
    clause_access_restriction = models.BooleanField(_("access restriction and safety measures"), default=False)
    clause_supervision = models.BooleanField(_("supervision and inspection"), default=False)
    clause_liability = models.BooleanField(_("liability for damages"), default=False)
    next_inspection_due = models.DateField(_("next yearly inspection due"), null=True, blank=True)
    erasure_channel = models.CharField(
        _("erasure channel"), max_length=16, choices=ErasureChannel.choices, default=ErasureChannel.EMAIL
    )
    connector = models.CharField(_("API connector"), max_length=32, choices=Connector.choices, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ProcessorQuerySet.as_manager()

    CHECKLIST_FIELDS = (
        "clause_purpose_limitation",
        "clause_safeguards",
        "clause_purpose_and_scope",
        "clause_re_entrustment",
        "clause_access_restriction",
        "clause_supervision",
        "clause_liability",
    )

    class Meta:
        verbose_name = _("processor")
        verbose_name_plural = _("processors")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contract_end__isnull=True)
                | models.Q(contract_start__isnull=True)
                | models.Q(contract_end__gte=models.F("contract_start")),
                name="processor_contract_end_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(erasure_channel="api") | ~models.Q(connector=""),
                name="processor_api_channel_needs_connector",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Only keys of the registry's categories: the policy page lists them by their labels.
        known = {c.value for c in DataCategory}
        value = self.data_categories
        if not isinstance(value, list) or not all(isinstance(k, str) and k in known for k in value):
            raise ValidationError({"data_categories": _("Choose data categories from the registry's list.")})

    def missing_clauses(self) -> list[str]:
        return [
            str(self._meta.get_field(name).verbose_name) for name in self.CHECKLIST_FIELDS if not getattr(self, name)
        ]

    def contract_days_left(self) -> int | None:
        if self.contract_end is None:
            return None
        return (self.contract_end - timezone.localdate()).days

    def contract_expiring_soon(self) -> bool:
        days = self.contract_days_left()
        return days is not None and days <= CONTRACT_EXPIRY_WARNING_DAYS


class ProcessorInspection(models.Model):
    """A yearly inspection of a processor's handling of the entrusted data (PIPA art. 26(4))."""

    processor = models.ForeignKey(Processor, verbose_name=_("processor"), on_delete=models.PROTECT)
    inspected_on = models.DateField(_("inspected on"))
    inspector = models.CharField(_("inspector"), max_length=200)
    findings = models.TextField(_("findings"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("processor inspection")
        verbose_name_plural = _("processor inspections")
        ordering = ["-inspected_on"]

    def __str__(self) -> str:
        return f"inspection #{self.pk}"


class TransferBasis(models.TextChoices):
    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Entrustment contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    ERASURE = "erasure", _("Erasure or suppression request")


class DataTransfer(models.Model):
    """One sync to a processor: what went, for which purpose, on which basis, how many records.

    A ledger: counts only, no subject identifiers, so it survives every erasure.
    """

    processor = models.ForeignKey(Processor, verbose_name=_("processor"), on_delete=models.PROTECT)
    purpose = models.CharField(_("purpose"), max_length=64)
    basis = models.CharField(_("basis"), max_length=32, choices=TransferBasis.choices)
    consent_purpose = models.CharField(_("consent purpose checked"), max_length=64, blank=True)
    data_categories = models.JSONField(_("data categories"), default=list, blank=True)
    record_count = models.PositiveIntegerField(_("records sent"), default=0)
    refused_count = models.PositiveIntegerField(_("records refused by the gate"), default=0)
    refusal_reasons = models.JSONField(_("refusal reasons (counts)"), default=dict, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    transferred_at = models.DateTimeField(_("transferred at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("data transfer")
        verbose_name_plural = _("data transfers")
        ordering = ["-transferred_at"]

    def __str__(self) -> str:
        return f"transfer #{self.pk}"


class VendorName(models.TextChoices):
    GOOGLE_ANALYTICS = "google_analytics", "Google Analytics"
    META = "meta", "Meta"


class IdentityKind(models.TextChoices):
    CLIENT_ID = "client_id", _("Client id (cookie)")
    USER_ID = "user_id", _("User id")


class VendorIdentity(models.Model):
    """An identifier a vendor knows a person by, captured when it was collected, so an erasure
    can name it later (GA client_id / user_id, Meta app-scoped user id)."""

    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT)
    vendor = models.CharField(_("vendor"), max_length=32, choices=VendorName.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=200)
    collected_at = models.DateTimeField(_("first collected at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("vendor identity")
        verbose_name_plural = _("vendor identities")
        constraints = [
            models.UniqueConstraint(fields=["vendor", "kind", "value"], name="vendor_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"vendor identity #{self.pk}"


class JobKind(models.TextChoices):
    ERASE = "erase", _("Erase")
    SUPPRESS = "suppress", _("Suppress (marketing withdrawal)")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent, awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    FAILED = "failed", _("Failed")
    MANUAL = "manual", _("Manual")


class VendorErasureJobQuerySet(models.QuerySet):
    def due(self, now=None):
        now = now or timezone.now()
        return self.filter(
            status__in=[JobStatus.PENDING, JobStatus.FAILED], next_attempt_at__isnull=False, next_attempt_at__lte=now
        )

    def open(self):
        """Not confirmed, and not closed by staff with a note."""
        return self.exclude(status=JobStatus.CONFIRMED).exclude(status=JobStatus.MANUAL, manual_note__gt="")

    def late(self, now=None):
        """Open for more than JOB_LATE_AFTER_DAYS."""
        now = now or timezone.now()
        return self.open().filter(created_at__lt=now - timedelta(days=JOB_LATE_AFTER_DAYS))

    def stuck(self):
        """Failed with no attempt left: waiting for staff (the admin's filter and the desk)."""
        return self.filter(status=JobStatus.FAILED, next_attempt_at__isnull=True)


class VendorErasureJob(models.Model):
    processor = models.ForeignKey(Processor, verbose_name=_("processor"), on_delete=models.PROTECT)
    reference = models.CharField(_("request reference"), max_length=100, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=JobKind.choices, default=JobKind.ERASE)
    # Plain integer on purpose: the subject row is usually erased before the vendor answers.
    subject_id = models.PositiveBigIntegerField(_("subject id"), null=True, blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=ErasureChannel.choices)
    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_response_code = models.PositiveIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    receipt = models.JSONField(_("receipt"), default=dict, blank=True)
    # JSON {"email", "phone", "ga_client_ids", "ga_user_ids", "meta_user_ids"}, encrypted; "" once wiped.
    identifiers = EncryptedTextField(_("identifiers (encrypted)"), blank=True, default="")
    identifiers_wiped_at = models.DateTimeField(_("identifiers wiped at"), null=True, blank=True)
    manual_note = models.TextField(_("staff note"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    email_sent_at = models.DateTimeField(_("erasure email sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = VendorErasureJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("vendor erasure job")
        verbose_name_plural = _("vendor erasure jobs")
        ordering = ["-created_at"]
        permissions = [
            ("confirm_erasure_receipt", _("Can confirm a processor's erasure receipt (privacy officer)")),
        ]
        constraints = [
            # Idempotency: asking twice for the same request creates nothing new.
            models.UniqueConstraint(fields=["processor", "reference", "kind"], name="vendor_job_once_per_request"),
        ]

    def __str__(self) -> str:
        return f"vendor job #{self.pk}"

    def __repr__(self) -> str:
        return f"<VendorErasureJob #{self.pk} {self.status}>"

    def load_identifiers(self) -> dict:
        """Raises privacyops.lib.crypto.DecryptionError when no configured key decrypts them."""
        return json.loads(reveal(self.identifiers)) if self.identifiers else {}

    def store_identifiers(self, data: dict) -> None:
        self.identifiers = json.dumps(data, sort_keys=True) if data else ""


class VendorErasureAttempt(models.Model):
    """One call to a vendor for a job: when, the answer's status, how long; no identifiers."""

    job = models.ForeignKey(VendorErasureJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    response_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=32)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("vendor call")
        verbose_name_plural = _("vendor calls")
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"attempt #{self.pk}"


class RateLimitState(models.Model):
    """Shared pacing state for a vendor quota (one row per quota key, e.g. "ga:<property>"), locked
    with SELECT ... FOR UPDATE so several workers together never exceed it."""

    key = models.CharField(max_length=100, unique=True)
    quota_day = models.DateField(null=True, blank=True)
    sent_today = models.PositiveIntegerField(default=0)
    next_slot_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("vendor quota state")
        verbose_name_plural = _("vendor quota states")

    def __str__(self) -> str:
        return self.key


class MetaDeletionStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    REFUSED = "refused", _("Refused")


def _confirmation_code() -> str:
    return secrets.token_hex(8).upper()


class MetaDeletionRequest(models.Model):
    """A data-deletion request Meta forwarded from a Facebook user (signed_request callback)."""

    confirmation_code = models.CharField(_("confirmation code"), max_length=32, unique=True, default=_confirmation_code)
    # SHA-256 of the app-scoped user id: enough to match a second callback, useless to anyone else.
    meta_user_hash = models.CharField(_("Meta user (hashed)"), max_length=64, db_index=True)
    # SHA-256 of the signed request's user_id and issued_at: a signed request is accepted once,
    # a replay within its hour is refused (unique; NULL for rows received before this was kept).
    signed_request_hash = models.CharField(
        _("signed request (hashed)"), max_length=64, null=True, blank=True, unique=True, editable=False
    )
    status = models.CharField(
        _("status"), max_length=16, choices=MetaDeletionStatus.choices, default=MetaDeletionStatus.RECEIVED
    )
    refusal_reason = models.TextField(_("refusal reason"), blank=True)
    subject_found = models.BooleanField(_("a matching person was found"), default=False)
    reference = models.CharField(_("reference of the erasure jobs"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Meta data-deletion request")
        verbose_name_plural = _("Meta data-deletion requests")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"Meta deletion {self.confirmation_code}"


class RevokedBy(models.TextChoices):
    SUBJECT = "subject", _("The person")
    STAFF = "staff", _("Staff")
    DETECTED = "detected", _("Detected (token no longer valid)")
    ERASURE = "erasure", _("Erasure request")


class OAuthGrantQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def revoke_unconfirmed(self):
        """Disconnected here, not yet confirmed by Google's revoke endpoint (the token is kept)."""
        return self.filter(revoked_at__isnull=False, revoke_confirmed_at__isnull=True).exclude(
            refresh_token="", access_token=""
        )


class OAuthGrant(models.Model):
    """A person's authorisation for the YouTube Data API (policy 3.1.2.2); tokens encrypted at rest."""

    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT)
    provider = models.CharField(_("provider"), max_length=32, default="google")
    channel_id = models.CharField(_("YouTube channel id"), max_length=100, blank=True)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    access_token = EncryptedTextField(_("access token"), blank=True, default="")
    refresh_token = EncryptedTextField(_("refresh token"), blank=True, default="")
    access_token_expires_at = models.DateTimeField(_("access token expires at"), null=True, blank=True)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    last_refreshed_at = models.DateTimeField(_("last refreshed at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, db_index=True)
    revoked_by = models.CharField(_("revoked by"), max_length=16, choices=RevokedBy.choices, blank=True)
    revoke_response_code = models.PositiveIntegerField(_("revoke endpoint answer"), null=True, blank=True)
    # The encrypted token is kept until Google confirms the revocation; then it is wiped.
    revoke_confirmed_at = models.DateTimeField(_("revocation confirmed by Google at"), null=True, blank=True)
    revoke_attempts = models.PositiveIntegerField(_("revoke calls"), default=0)
    revoke_next_attempt_at = models.DateTimeField(_("next revoke call"), null=True, blank=True, db_index=True)
    revoke_error = models.CharField(_("last revoke error"), max_length=300, blank=True)
    last_checked_at = models.DateTimeField(_("last checked at Google"), null=True, blank=True)
    # Consent evidence: the notice the person saw and agreed to on the connect page, and when.
    consent_text = models.TextField(_("notice shown"), blank=True)
    consent_text_sha256 = models.CharField(_("notice hash (SHA-256)"), max_length=64, blank=True)
    consented_at = models.DateTimeField(_("consented at"), null=True, blank=True)
    consent_language = models.CharField(_("notice language"), max_length=8, blank=True)

    objects = OAuthGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("OAuth grant")
        verbose_name_plural = _("OAuth grants")
        permissions = [("revoke_oauthgrant", _("Can revoke an OAuth grant (privacy officer)"))]

    def __str__(self) -> str:
        return f"grant #{self.pk}"

    def __repr__(self) -> str:
        return f"<OAuthGrant #{self.pk}>"


class YouTubeResource(models.TextChoices):
    CHANNEL = "channel", _("Channel")
    VIDEO = "video", _("Video")


class YouTubeStatistics(models.Model):
    """Statistics fetched from the YouTube Data API; kept at most 30 days from `fetched_at`
    (YouTube API Services Developer Policies III.E.4), then refreshed or deleted."""

    # CASCADE: statistics exist only through their grant and go with it.
    grant = models.ForeignKey(OAuthGrant, verbose_name=_("grant"), on_delete=models.CASCADE, related_name="statistics")
    resource = models.CharField(_("resource"), max_length=16, choices=YouTubeResource.choices)
    resource_id = models.CharField(_("resource id"), max_length=100)
    view_count = models.PositiveBigIntegerField(_("views"), null=True, blank=True)
    like_count = models.PositiveBigIntegerField(_("likes"), null=True, blank=True)
    dislike_count = models.PositiveBigIntegerField(_("dislikes"), null=True, blank=True)
    comment_count = models.PositiveBigIntegerField(_("comments"), null=True, blank=True)
    subscriber_count = models.PositiveBigIntegerField(_("subscribers"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("YouTube statistics")
        verbose_name_plural = _("YouTube statistics")
        constraints = [
            models.UniqueConstraint(fields=["grant", "resource", "resource_id"], name="youtube_stats_unique"),
        ]

    def __str__(self) -> str:
        return f"YouTube statistics #{self.pk}"


class DisclosureGround(models.TextChoices):
    """Policy 3.2 and PIPA art. 17-18: why data may go to an authority without consent."""

    LEGAL_OBLIGATION = "legal_obligation", _("Required by law (statute or court warrant)")
    INVESTIGATION = "investigation", _("Criminal investigation, indictment or trial")
    EMERGENCY_LIFE = "emergency_life", _("Imminent danger to life or body")
    EMERGENCY_PROPERTY = "emergency_property", _("Urgent property loss")
    DISASTER = "disaster", _("Disaster or infectious disease")


class DisclosureStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved by the privacy officer")
    DISCLOSED = "disclosed", _("Disclosed")
    REJECTED = "rejected", _("Rejected")


class Disclosure(models.Model):
    """A provision of personal data to an authority or in an emergency (policy 3.2)."""

    authority = models.CharField(_("requesting authority"), max_length=200)
    ground = models.CharField(_("legal basis or emergency ground"), max_length=32, choices=DisclosureGround.choices)
    basis_detail = models.TextField(_("basis in detail"), help_text=_("Article, warrant or document number."))
    data_disclosed = models.TextField(_("data disclosed"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=16, choices=DisclosureStatus.choices, default=DisclosureStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    disclosed_at = models.DateTimeField(_("disclosed at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        ordering = ["-requested_at"]
        permissions = [
            ("approve_disclosure", _("Can approve a disclosure to an authority (policy 3.2)")),
            ("mark_disclosed", _("Can record that a disclosure was made (privacy officer)")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="disclosed")
                | models.Q(approved_by__isnull=False, disclosed_at__isnull=False),
                name="disclosure_disclosed_needs_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"disclosure #{self.pk}"


class DisclosedSubject(models.Model):
    """A person whose data a disclosure included, and whether and when they were told."""

    disclosure = models.ForeignKey(
        Disclosure, verbose_name=_("disclosure"), on_delete=models.CASCADE, related_name="subjects"
    )
    subject = models.ForeignKey(DataSubject, verbose_name=_("subject"), on_delete=models.PROTECT)
    notified_at = models.DateTimeField(_("told the person at"), null=True, blank=True)
    notice_withheld_reason = models.CharField(
        _("reason the person was not told"),
        max_length=300,
        blank=True,
        help_text=_("e.g. the investigating authority asked for secrecy."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("disclosed subject")
        verbose_name_plural = _("disclosed subjects")
        constraints = [models.UniqueConstraint(fields=["disclosure", "subject"], name="disclosed_subject_once")]

    def __str__(self) -> str:
        return f"disclosed subject #{self.pk}"
