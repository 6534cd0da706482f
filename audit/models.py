"""Protection measures of policy section 5: API clients, the staff access log (접속기록, SA-06),
the access-rights log (SA-02c) and the monthly access review (SA-06c).

The two logs are append-only (`privacyops.lib.ledger`): the model and its queryset refuse
updates, and refuse deletes of rows younger than their legal period (SA-06b: 2 years; SA-02c:
3 years); on PostgreSQL a trigger refuses the same below the ORM (migration 0004). The access log
is also chained with HMAC-SHA256 under ACCESS_LOG_CHAIN_KEY (from the environment, never in the
database), so an edit made behind the ORM's back shows up in `manage.py verify_access_log`, and a
re-chained or truncated log against a daily signed anchor kept outside the database.
They hold subject ids as plain integers, never foreign keys: the record of who saw a person's
data outlives the person's erasure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacyops.lib.ledger import AppendOnlyError, AppendOnlyModel


class ApiScope(models.TextChoices):
    VISITS_WRITE = "visits:write", _("Record visits")
    INQUIRIES_WRITE = "inquiries:write", _("Record customer-service inquiries")
    CONSENT_READ = "consent:read", _("Read consent state")
    CONSENT_WRITE = "consent:write", _("Record consent")


def hash_api_key(raw_key: str) -> str:
    # Keys are long random strings, so a fast unsalted hash is enough and allows an indexed lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


LAST_USED_PRECISION = timedelta(minutes=5)

# Recently authenticated keys, per server process: {key hash: (client, time the entry expires)}.
# Looking a key up through the ORM cost more CPU than the rest of a visit request together
# (bench/load_public.py), so a key is looked up at most once per API_KEY_CACHE_SECONDS in each
# process. Saving or deleting a client empties this process's entries at once (audit/signals.py);
# the other processes follow within API_KEY_CACHE_SECONDS, which is therefore how long a revoked
# key may still be accepted. Unknown keys are never remembered.
_recent_keys: dict[str, tuple[ApiClient, float]] = {}


def forget_recent_keys(**_signal_kwargs) -> None:
    _recent_keys.clear()


class ApiClientQuerySet(models.QuerySet):
    def authenticate(self, raw_key: str) -> ApiClient | None:
        if not raw_key or len(raw_key) > 200:
            return None
        key_hash = hash_api_key(raw_key)
        now = timezone.now()
        client, expires = _recent_keys.get(key_hash, (None, 0.0))
        if client is None or expires <= now.timestamp():
            client = self.filter(key_hash=key_hash, active=True).first()
            if client is None:
                _recent_keys.pop(key_hash, None)
                return None
            _recent_keys[key_hash] = (client, now.timestamp() + settings.API_KEY_CACHE_SECONDS)
        if client.last_used_at is None or now - client.last_used_at > LAST_USED_PRECISION:
            # Last use tells staff which keys are dead and can be revoked. Written at most once per
            # LAST_USED_PRECISION, so a busy client does not pay a write (and a commit) per call.
            type(client).objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now
        return client


class ApiClient(models.Model):
    """Another company service that calls the JSON API with its own key (stored hashed)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def issue_key(self) -> str:
        """Give the client a new key; the raw key is returned once and never stored."""
        raw_key = "po_" + secrets.token_urlsafe(32)
        self.key_prefix = raw_key[:10]
        self.key_hash = hash_api_key(raw_key)
        return raw_key

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


# --- append-only logs ---------------------------------------------------------------------------


class RetainedLog(AppendOnlyModel):
    """A log whose rows may be deleted once older than their legal period, never before."""

    class Meta:
        abstract = True

    @classmethod
    def retention_days(cls) -> int:
        raise NotImplementedError

    @classmethod
    def refuse_delete(cls, queryset) -> None:
        cutoff = timezone.now() - timedelta(days=cls.retention_days())
        if queryset.filter(at__gte=cutoff).exists():
            raise AppendOnlyError(
                f"{cls._meta.label} rows are kept {cls.retention_days()} days; younger rows cannot be deleted."
            )


class AccessAction(models.TextChoices):
    # SA-06(a): view, change, input, delete, print, download; list and export are views and
    # downloads of many subjects at once, kept apart so the monthly review can single them out.
    VIEW = "view", _("View")
    LIST = "list", _("List")
    CHANGE = "change", _("Change")
    CREATE = "create", _("Create")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    DOWNLOAD = "download", _("Download")
    PRINT = "print", _("Print")


GENESIS_HASH = "0" * 64


class AccessLog(RetainedLog):
    """One handling of personal data by a member of staff or an API client (접속기록)."""

    seq = models.PositiveBigIntegerField(_("sequence number"), unique=True, editable=False)
    at = models.DateTimeField(_("time"), db_index=True, editable=False)
    # No constraint and DO_NOTHING: the account id stays in the log after the account is deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        editable=False,
    )
    username = models.CharField(_("account name"), max_length=150, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=16, choices=AccessAction.choices, editable=False)
    object_repr = models.CharField(_("object"), max_length=200, blank=True, editable=False)
    reason = models.CharField(_("reason"), max_length=500, blank=True, editable=False)
    path = models.CharField(_("path"), max_length=2048, blank=True, editable=False)
    subject_count = models.PositiveIntegerField(_("number of subjects"), default=0, editable=False)
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    hash = models.CharField(_("hash"), max_length=64, editable=False)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [models.Index(fields=["user", "at"]), models.Index(fields=["action", "at"])]
        permissions = [("export_personal_data", _("Can export personal data in bulk (with a reason)"))]

    def __str__(self) -> str:
        return f"access #{self.seq}"

    @classmethod
    def retention_days(cls) -> int:
        return settings.AUDIT_ACCESS_LOG_RETENTION_DAYS

    @classmethod
    def before_purge(cls, queryset) -> None:
        # Only the oldest rows may go, and the chain head remembers the last purged hash, so the
        # remaining chain still verifies from a known anchor.
        last = queryset.order_by("-seq").values("seq", "hash", "at").first()
        if last is None:
            return
        if cls._default_manager.filter(seq__lte=last["seq"]).exclude(pk__in=queryset.values("pk")).exists():
            raise AppendOnlyError("Only the oldest access-log rows can be purged, without gaps.")
        # The purge marker is signed with the chain key: one written by hand (to pass off deleted
        # young rows as purged) does not verify, and its time says the rows were past their period.
        AccessLogChainHead.objects.filter(pk=AccessLogChainHead.SINGLETON).update(
            purged_through_seq=last["seq"],
            purged_hash=last["hash"],
            purged_at=last["at"],
            purged_mac=purge_mac(seq=last["seq"], hash=last["hash"], at=last["at"]),
        )

    def compute_hash(self, subject_ids: list[int]) -> str:
        return chain_hash(
            seq=self.seq,
            at=self.at,
            user_id=self.user_id,
            username=self.username,
            ip=self.ip,
            action=self.action,
            object_repr=self.object_repr,
            reason=self.reason,
            path=self.path,
            subject_ids=subject_ids,
            prev_hash=self.prev_hash,
        )


def chain_hash(
    *, seq, at, user_id, username, ip, action, object_repr, reason, path, subject_ids, prev_hash, key=None
) -> str:
    """The row's MAC: HMAC-SHA256 under the chain key (or `key`) of its fields, subjects and the previous MAC."""
    payload = {
        "seq": seq,
        # UTC with microseconds: both databases keep microseconds, so the value round-trips.
        "at": at.astimezone(UTC).isoformat(),
        "user_id": user_id,
        "username": username,
        "ip": ip,
        "action": action,
        "object_repr": object_repr,
        "reason": reason,
        "path": path,
        "subject_ids": sorted(subject_ids),
        "prev_hash": prev_hash,
    }
    return keyed_mac(json.dumps(payload, sort_keys=True, separators=(",", ":")), key)


def keyed_mac(message: str, key: str | None = None) -> str:
    """HMAC-SHA256 of `message` under ACCESS_LOG_CHAIN_KEY: the chain, the purge marker, the anchors."""
    key = settings.ACCESS_LOG_CHAIN_KEY if key is None else key
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def purge_mac(*, seq: int, hash: str, at) -> str:
    # `at` is None for a purge made before the chain was keyed (migration 0004 signs those as they were).
    stamp = at.astimezone(UTC).isoformat() if at is not None else ""
    return keyed_mac(f"purge|{seq}|{hash}|{stamp}")


class AccessLogSubject(AppendOnlyModel):
    """One data subject touched by one access: a child row per subject, so "who saw subject N"
    and "how many subjects did account A read" are plain indexed queries on both databases."""

    # Children go only with their parent row (the collector's cascade deletes them directly).
    deletion_note = "Its rows go only with their access-log row."

    log = models.ForeignKey(AccessLog, on_delete=models.CASCADE, related_name="subjects")
    subject_id = models.BigIntegerField(_("subject id"))

    class Meta:
        verbose_name = _("subject accessed")
        verbose_name_plural = _("subjects accessed")
        constraints = [models.UniqueConstraint(fields=["log", "subject_id"], name="accesslogsubject_unique")]
        indexes = [models.Index(fields=["subject_id", "log"])]

    def __str__(self) -> str:
        return f"subject #{self.subject_id}"


class AccessLogChainHead(models.Model):
    """The end of the access-log hash chain. Writers lock this row, so the chain never forks;
    verification compares the last row with it, so a deleted tail is detected too."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    purged_through_seq = models.PositiveBigIntegerField(default=0)
    purged_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # The time of the last purged row and the marker's MAC (`purge_mac`); see AccessLog.before_purge.
    purged_at = models.DateTimeField(null=True, blank=True)
    purged_mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("access log chain head")
        verbose_name_plural = _("access log chain head")

    def __str__(self) -> str:
        return f"chain head at #{self.last_seq}"


class RightsChange(models.TextChoices):
    ACCOUNT_CREATED = "account_created", _("Account created")
    ACCOUNT_DELETED = "account_deleted", _("Account deleted")
    GROUP_ADDED = "group_added", _("Role granted")
    GROUP_REMOVED = "group_removed", _("Role removed")
    PERMISSION_ADDED = "permission_added", _("Permission granted")
    PERMISSION_REMOVED = "permission_removed", _("Permission removed")
    STAFF_GRANTED = "staff_granted", _("Staff status granted")
    STAFF_REVOKED = "staff_revoked", _("Staff status revoked")
    SUPERUSER_GRANTED = "superuser_granted", _("Superuser status granted")
    SUPERUSER_REVOKED = "superuser_revoked", _("Superuser status revoked")
    ACTIVATED = "activated", _("Account activated")
    DEACTIVATED = "deactivated", _("Account deactivated")
    ROLE_PERMISSION_ADDED = "role_permission_added", _("Permission added to a role")
    ROLE_PERMISSION_REMOVED = "role_permission_removed", _("Permission removed from a role")


class AccessRightsLog(RetainedLog):
    """A grant, change or revocation of a staff account's rights, and who made it (SA-02c)."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True, editable=False)
    actor_id = models.IntegerField(_("changed by (account id)"), null=True, blank=True, editable=False)
    actor_username = models.CharField(_("changed by"), max_length=150, blank=True, editable=False)
    # Plain ids and names, no foreign keys: the record outlives the accounts it names.
    user_id = models.IntegerField(_("account id"), null=True, blank=True, editable=False)
    username = models.CharField(_("account"), max_length=150, blank=True, editable=False)
    group_name = models.CharField(_("role"), max_length=150, blank=True, editable=False)
    change = models.CharField(_("change"), max_length=32, choices=RightsChange.choices, editable=False)
    detail = models.CharField(_("detail"), max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name = _("access-rights log entry")
        verbose_name_plural = _("access-rights log")
        indexes = [models.Index(fields=["user_id", "at"])]

    def __str__(self) -> str:
        return f"{self.get_change_display()} #{self.pk}"

    @classmethod
    def retention_days(cls) -> int:
        return settings.AUDIT_RIGHTS_LOG_RETENTION_DAYS


# --- monthly review -------------------------------------------------------------------------------


class AccessReview(models.Model):
    """The monthly review of the access log (SA-06c), signed off by the privacy officer."""

    period_start = models.DateField(_("period start"), unique=True)
    period_end = models.DateField(_("period end"), help_text=_("Exclusive: the first day after the period."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    access_count = models.PositiveIntegerField(_("accesses in the period"), default=0)
    finding_count = models.PositiveIntegerField(_("findings"), default=0)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed off by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    signed_off_at = models.DateTimeField(_("signed off at"), null=True, blank=True)
    sign_off_note = models.TextField(_("sign-off note"), blank=True)

    class Meta:
        verbose_name = _("monthly access review")
        verbose_name_plural = _("monthly access reviews")
        ordering = ["-period_start"]
        permissions = [("sign_off_accessreview", _("Can sign off a monthly access review"))]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m}"

    @property
    def is_signed_off(self) -> bool:
        return self.signed_off_at is not None


class FindingKind(models.TextChoices):
    BULK_EXPORT = "bulk_export", _("Bulk export")
    UNMATCHED_DOWNLOAD = "unmatched_download", _("Download without a matching request")
    OFF_HOURS = "off_hours", _("Access outside working hours")
    MANY_SUBJECTS = "many_subjects", _("One account read many subjects")
    UNREGISTERED_RECIPIENT = "unregistered_recipient", _("Access package sent to an unregistered address")


class AccessReviewFinding(models.Model):
    review = models.ForeignKey(
        AccessReview, verbose_name=_("review"), on_delete=models.CASCADE, related_name="findings"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=FindingKind.choices)
    user_id = models.IntegerField(_("account id"), null=True, blank=True)
    username = models.CharField(_("account"), max_length=150, blank=True)
    # The log row that triggered it (one export, one download); empty for per-account counts.
    log_seq = models.PositiveBigIntegerField(_("access log entry"), null=True, blank=True)
    access_count = models.PositiveIntegerField(_("accesses"), default=0)
    subject_count = models.PositiveIntegerField(_("subjects"), default=0)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("review finding")
        verbose_name_plural = _("review findings")
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.username})"


# --- four eyes ----------------------------------------------------------------------------------


class ApprovalKind(models.TextChoices):
    """The steps where a person's data leaves or dies: one prepares, a second approves."""

    IDENTITY = "dsar.identity", _("Identity checked by staff")
    LINK_SUBJECT = "dsar.link_subject", _("Link to a person whose contact details differ")
    RELEASE_PACKAGE = "dsar.release_package", _("Release of an access package")
    ERASURE = "dsar.erasure", _("Carrying out an erasure")
    HOLD_RELEASE = "retention.hold_release", _("Release of a legal hold")


class ApprovalDecision(models.TextChoices):
    PENDING = "pending", _("Waiting for a second person")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class ApprovalQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(decision=ApprovalDecision.PENDING)

    def for_object(self, obj: models.Model):
        from django.contrib.contenttypes.models import ContentType

        return self.filter(
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True), object_id=obj.pk
        )


class Approval(models.Model):
    """Four eyes (issue 15): what was prepared, on which object, by whom, and who decided.

    The object is named by content type and id, so this ground-floor app knows no other; the app
    that owns the object carries out the approved step. `data` holds ids and flags, never
    personal data.
    """

    kind = models.CharField(_("what"), max_length=32, choices=ApprovalKind.choices)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", verbose_name=_("record type"), on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(_("record id"))
    object_repr = models.CharField(_("record"), max_length=100)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prepared by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    decision = models.CharField(
        _("decision"), max_length=16, choices=ApprovalDecision.choices, default=ApprovalDecision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, db_index=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    objects = ApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "content_type", "object_id"],
                condition=models.Q(decision="pending"),
                name="approval_one_pending_per_step",
            ),
            # The one who prepared never decides, whatever door the write came through.
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("prepared_by")),
                name="approval_four_eyes",
            ),
            models.CheckConstraint(
                condition=models.Q(decision="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (~models.Q(decision="pending") & models.Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="approval_decision_names_who",
            ),
        ]

    def __str__(self) -> str:
        return f"approval #{self.pk} ({self.kind} {self.object_repr})"

    @property
    def is_pending(self) -> bool:
        return self.decision == ApprovalDecision.PENDING


class JobRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class JobRun(models.Model):
    """One run of a periodic job (audit/jobruns.py writes it around every task in the beat
    schedule): when, how long, what it did in a line, and the failure. Holds counts and ids only."""

    task = models.CharField(_("job"), max_length=200, db_index=True)
    started_at = models.DateTimeField(_("started at"), db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    status = models.CharField(_("outcome"), max_length=16, choices=JobRunStatus.choices, default=JobRunStatus.RUNNING)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("failure"), blank=True)

    class Meta:
        verbose_name = _("periodic job run")
        verbose_name_plural = _("periodic job runs")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["task", "-started_at"], name="jobrun_task_started")]

    def __str__(self) -> str:
        return f"{self.task} {self.started_at:%Y-%m-%d %H:%M}"
