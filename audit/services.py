"""Every write of the audit app: the access log, the rights log, roles, the monthly review."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, ExpressionWrapper, F, Min, Q
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext as _

from privacyops.lib import crypto, hooks
from privacyops.lib.crypto import EncryptedTextField

from . import anchors, roles
from .approvals import approval_findings
from .models import (
    GENESIS_HASH,
    AccessAction,
    AccessLog,
    AccessLogChainHead,
    AccessLogSubject,
    AccessReview,
    AccessReviewFinding,
    AccessRightsLog,
    ApiClient,
    FindingKind,
    RightsChange,
    purge_mac,
)


class AuditError(Exception):
    """A refused audit operation; the message is safe to show to staff."""


# --- the access log ---------------------------------------------------------------------------


def _actor_fields(user: Any) -> tuple[int | None, str]:
    if user is None:
        return None, ""
    if isinstance(user, ApiClient):
        # API reads are logged under the calling service's name; it has no staff account.
        return None, f"api:{user.name}"[:150]
    if not getattr(user, "is_authenticated", False):
        return None, ""
    return user.pk, user.get_username()[:150]


def log_access(
    *,
    user: Any,
    ip: str | None,
    action: str,
    subject_ids: Iterable[int],
    object_repr: str = "",
    reason: str = "",
    path: str = "",
) -> AccessLog:
    """Append one row to the access log (SA-06): who, when, from where, which subjects, what.

    `user` is a staff account, an ApiClient (API reads) or None (a system job). The row is
    chained to the previous one; writers are serialised on the chain head so the chain never forks.
    """
    action = AccessAction(action).value
    ids = sorted({int(i) for i in subject_ids if i is not None})
    user_id, username = _actor_fields(user)
    with transaction.atomic():
        head = _lock_chain_head()
        log = AccessLog(
            seq=head.last_seq + 1,
            at=timezone.now(),
            user_id=user_id,
            username=username,
            ip=ip or None,
            action=action,
            object_repr=(object_repr or "")[:200],
            reason=(reason or "").strip()[:500],
            path=(path or "")[:2048],
            subject_count=len(ids),
            prev_hash=head.last_hash,
        )
        log.hash = log.compute_hash(ids)
        log.save()
        AccessLogSubject.objects.bulk_create(
            [AccessLogSubject(log=log, subject_id=subject_id) for subject_id in ids], batch_size=2000
        )
        AccessLogChainHead.objects.filter(pk=AccessLogChainHead.SINGLETON).update(last_seq=log.seq, last_hash=log.hash)
    return log


def _lock_chain_head() -> AccessLogChainHead:
    """Lock the chain head for this transaction (creating it once, the first time)."""
    heads = AccessLogChainHead.objects.filter(pk=AccessLogChainHead.SINGLETON)
    if connection.vendor == "sqlite":
        # SQLite ignores FOR UPDATE; a write takes the database's write lock before the read,
        # so two writers cannot both read the same head.
        if not heads.update(last_seq=F("last_seq")):
            try:
                with transaction.atomic():
                    AccessLogChainHead.objects.create(pk=AccessLogChainHead.SINGLETON)
            except IntegrityError:
                heads.update(last_seq=F("last_seq"))
        return heads.get()
    head = heads.select_for_update().first()
    if head is None:
        # The very first row: create the head in a savepoint; a writer that lost the race waits on it.
        try:
            with transaction.atomic():
                AccessLogChainHead.objects.create(pk=AccessLogChainHead.SINGLETON)
        except IntegrityError:
            pass
        head = heads.select_for_update().get()
    return head


@dataclass
class ChainReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_access_log(*, batch_size: int = 2000, against: Iterable[anchors.Anchor] = ()) -> ChainReport:
    """Recompute every row's MAC (HMAC-SHA256 under ACCESS_LOG_CHAIN_KEY) and follow the chain;
    name each row that was changed, removed or inserted. `against`: signed anchors kept outside the
    database (anchors.read_anchors); each says whether the log was truncated or re-chained since. Reads in keyset
    batches, so memory stays flat on a long log."""
    report = ChainReport()
    head = AccessLogChainHead.objects.filter(pk=AccessLogChainHead.SINGLETON).first()
    if head is not None and head.purged_through_seq:
        report.problems += _purge_marker_problems(head)
    expected_prev = head.purged_hash if head else GENESIS_HASH
    expected_seq = (head.purged_through_seq if head else 0) + 1
    after = 0
    while True:
        rows = list(AccessLog.objects.filter(seq__gt=after).order_by("seq")[:batch_size])
        if not rows:
            break
        subjects: dict[int, list[int]] = {row.pk: [] for row in rows}
        for log_id, subject_id in AccessLogSubject.objects.filter(log_id__in=subjects).values_list(
            "log_id", "subject_id"
        ):
            subjects[log_id].append(subject_id)
        for row in rows:
            report.checked += 1
            if row.seq < expected_seq:
                report.problems.append(
                    _("Row #%(seq)d lies inside the purged part of the log: it was inserted.") % {"seq": row.seq}
                )
            elif row.seq > expected_seq:
                missing = f"#{expected_seq}" if row.seq == expected_seq + 1 else f"#{expected_seq}-#{row.seq - 1}"
                report.problems.append(_("Row(s) %(rows)s are missing: deleted.") % {"rows": missing})
            if row.compute_hash(subjects[row.pk]) != row.hash:
                report.problems.append(_("Row #%(seq)d does not match its hash: it was edited.") % {"seq": row.seq})
            if row.prev_hash != expected_prev and row.seq >= expected_seq:
                report.problems.append(
                    _(
                        "Row #%(seq)d does not follow the row before it: a row before it was edited, "
                        "deleted or inserted."
                    )
                    % {"seq": row.seq}
                )
            expected_prev = row.hash
            expected_seq = max(expected_seq, row.seq + 1)
        after = rows[-1].seq
    last_seq = expected_seq - 1
    if head is None:
        if report.checked:
            report.problems.append(_("The chain head is missing: the log's end cannot be checked."))
        return report
    if head.last_seq > last_seq:
        missing = f"#{last_seq + 1}" if head.last_seq == last_seq + 1 else f"#{last_seq + 1}-#{head.last_seq}"
        report.problems.append(_("Row(s) %(rows)s at the end are missing: deleted.") % {"rows": missing})
    elif head.last_seq < last_seq:
        report.problems.append(
            _("Row(s) after #%(seq)d were added behind the chain head: inserted.") % {"seq": head.last_seq}
        )
    elif head.last_hash != expected_prev:
        report.problems.append(_("The last row #%(seq)d differs from the chain head: edited.") % {"seq": last_seq})
    for anchor in against:
        report.problems += anchors.check_anchor(anchor, head=head)
    return report


def _purge_marker_problems(head: AccessLogChainHead) -> list[str]:
    # Rows before the marker are gone; only the key makes a marker, and only for rows past their period.
    if head.purged_mac != purge_mac(seq=head.purged_through_seq, hash=head.purged_hash, at=head.purged_at):
        return [
            _("The log's start (rows up to #%(seq)d purged) is not signed with the chain key: rows were deleted.")
            % {"seq": head.purged_through_seq}
        ]
    keep = timedelta(days=AccessLog.retention_days())
    if head.purged_at is not None and head.purged_at >= timezone.now() - keep:
        return [
            _("Rows up to #%(seq)d were deleted before their keep period ended.") % {"seq": head.purged_through_seq}
        ]
    return []


def accesses_of_subject(subject_id: int):
    """Every recorded handling of one person's data, newest first (for a DSAR access report)."""
    return AccessLog.objects.filter(subjects__subject_id=subject_id).order_by("-seq")


def access_counts(*, since: datetime, until: datetime | None = None) -> list[dict]:
    """Per account: accesses, distinct subjects, exports and downloads in [since, until)."""
    logs = AccessLog.objects.filter(at__gte=since)
    if until is not None:
        logs = logs.filter(at__lt=until)
    rows = {
        (row["user_id"], row["username"]): {
            **row,
            "subjects": 0,
        }
        for row in logs.values("user_id", "username")
        .annotate(
            accesses=Count("id"),
            exports=Count("id", filter=Q(action=AccessAction.EXPORT)),
            downloads=Count("id", filter=Q(action=AccessAction.DOWNLOAD)),
        )
        .order_by("username")
    }
    subject_counts = (
        AccessLogSubject.objects.filter(log__in=logs)
        .values("log__user_id", "log__username")
        .annotate(n=Count("subject_id", distinct=True))
    )
    for row in subject_counts:
        key = (row["log__user_id"], row["log__username"])
        if key in rows:
            rows[key]["subjects"] = row["n"]
    return list(rows.values())


# --- the access-rights log --------------------------------------------------------------------


def record_rights_changes(*, actor: Any, changes: Iterable[tuple[str, Any, str, str]]) -> list[AccessRightsLog]:
    """Append rights-log rows. `changes`: (RightsChange, user or None, group name, detail)."""
    actor_id, actor_username = _actor_fields(actor)
    rows = [
        AccessRightsLog(
            at=timezone.now(),
            actor_id=actor_id,
            actor_username=actor_username or "system",
            user_id=user.pk if user is not None else None,
            username=user.get_username()[:150] if user is not None else "",
            group_name=(group_name or "")[:150],
            change=RightsChange(change).value,
            detail=(detail or "")[:255],
        )
        for change, user, group_name, detail in changes
    ]
    return AccessRightsLog.objects.bulk_create(rows)


# --- roles --------------------------------------------------------------------------------------


def _matches(label: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(label, pattern) for pattern in patterns)


def role_permissions(role: str, available: Iterable[Permission]) -> list[Permission]:
    include, exclude = roles.ROLES[role]
    chosen = []
    for permission in available:
        label = f"{permission.content_type.app_label}.{permission.codename}"
        if not _matches(label, include) or _matches(label, exclude):
            continue
        if role != roles.PRIVACY_OFFICER and label in roles.OFFICER_ONLY:
            continue
        chosen.append(permission)
    return chosen


def sync_roles() -> dict[str, int]:
    """Create the role groups and set each one's permissions to exactly what the table says.
    Permissions of apps not installed yet are simply absent; a later migrate adds them."""
    available = list(Permission.objects.select_related("content_type"))
    counts = {}
    with transaction.atomic():
        for role in roles.ROLES:
            group, _created = Group.objects.get_or_create(name=role)
            wanted = {p.pk for p in role_permissions(role, available)}
            current = set(group.permissions.values_list("pk", flat=True))
            # add/remove rather than set(): only real changes reach the rights log.
            if wanted - current:
                group.permissions.add(*(wanted - current))
            if current - wanted:
                group.permissions.remove(*(current - wanted))
            counts[role] = len(wanted)
    return counts


def officer_group_members():
    return get_user_model().objects.filter(groups__name=roles.PRIVACY_OFFICER, is_active=True).order_by("pk")


# --- the monthly review -------------------------------------------------------------------------


def download_reason_matches(reason: str) -> bool:
    """Whether a download's reason names a real request (a hook the DSAR app provides)."""
    return bool(hooks.download_reason_names_a_request(reason or ""))


def _month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def previous_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def review_findings(*, start: date, end: date) -> list[AccessReviewFinding]:
    """What the officer should look at in [start, end) (Seoul days); unsaved rows."""
    tz = ZoneInfo(settings.TIME_ZONE)
    logs = AccessLog.objects.filter(
        at__gte=datetime.combine(start, time.min, tzinfo=tz), at__lt=datetime.combine(end, time.min, tzinfo=tz)
    )
    findings: list[AccessReviewFinding] = []
    bulk = settings.AUDIT_BULK_EXPORT_SUBJECTS
    for row in logs.filter(action=AccessAction.EXPORT, subject_count__gte=bulk).order_by("seq"):
        findings.append(
            AccessReviewFinding(
                kind=FindingKind.BULK_EXPORT,
                user_id=row.user_id,
                username=row.username,
                log_seq=row.seq,
                access_count=1,
                subject_count=row.subject_count,
                detail=_("%(n)d subjects exported from %(object)s; reason: %(reason)s")
                % {"n": row.subject_count, "object": row.object_repr, "reason": row.reason},
            )
        )
    for row in logs.filter(action=AccessAction.DOWNLOAD).order_by("seq"):
        if download_reason_matches(row.reason):
            continue
        findings.append(
            AccessReviewFinding(
                kind=FindingKind.UNMATCHED_DOWNLOAD,
                user_id=row.user_id,
                username=row.username,
                log_seq=row.seq,
                access_count=1,
                subject_count=row.subject_count,
                detail=_("Download of %(object)s; reason given: %(reason)s")
                % {"object": row.object_repr, "reason": row.reason or "-"},
            )
        )
    start_hour, end_hour = settings.AUDIT_WORKDAY_START_HOUR, settings.AUDIT_WORKDAY_END_HOUR
    off_hours = (
        logs.annotate(hour=ExtractHour("at", tzinfo=tz))
        .filter(Q(hour__lt=start_hour) | Q(hour__gte=end_hour))
        .values("user_id", "username")
        .annotate(n=Count("id"), first=Min("at"))
        .order_by("username")
    )
    for row in off_hours:
        findings.append(
            AccessReviewFinding(
                kind=FindingKind.OFF_HOURS,
                user_id=row["user_id"],
                username=row["username"],
                access_count=row["n"],
                detail=_("%(n)d accesses outside %(start)02d:00-%(end)02d:00, the first at %(first)s")
                % {
                    "n": row["n"],
                    "start": start_hour,
                    "end": end_hour,
                    "first": timezone.localtime(row["first"], tz).strftime("%Y-%m-%d %H:%M"),
                },
            )
        )
    many = settings.AUDIT_MANY_SUBJECTS_PER_MONTH
    readers = (
        AccessLogSubject.objects.filter(log__in=logs)
        .values("log__user_id", "log__username")
        .annotate(n=Count("subject_id", distinct=True), accesses=Count("log_id", distinct=True))
        .filter(n__gte=many)
        .order_by("log__username")
    )
    for row in readers:
        findings.append(
            AccessReviewFinding(
                kind=FindingKind.MANY_SUBJECTS,
                user_id=row["log__user_id"],
                username=row["log__username"],
                access_count=row["accesses"],
                subject_count=row["n"],
                detail=_("%(n)d distinct subjects in %(accesses)d accesses (threshold %(threshold)d)")
                % {"n": row["n"], "accesses": row["accesses"], "threshold": many},
            )
        )
    findings += approval_findings(start=start, end=end)
    return findings


def create_access_review(*, month: date | None = None) -> tuple[AccessReview, bool]:
    """Create the review of `month` (default: the previous month, Seoul time) with its findings,
    assigned to the privacy officer. Idempotent: returns (existing review, False) when it exists."""
    start, end = _month_bounds(month or previous_month())
    existing = AccessReview.objects.filter(period_start=start).first()
    if existing is not None:
        return existing, False
    tz = ZoneInfo(settings.TIME_ZONE)
    findings = review_findings(start=start, end=end)
    assignee = (
        officer_group_members().first()
        or get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    )
    try:
        with transaction.atomic():
            review = AccessReview.objects.create(
                period_start=start,
                period_end=end,
                assignee=assignee,
                access_count=AccessLog.objects.filter(
                    at__gte=datetime.combine(start, time.min, tzinfo=tz),
                    at__lt=datetime.combine(end, time.min, tzinfo=tz),
                ).count(),
                finding_count=len(findings),
            )
            for finding in findings:
                finding.review = review
            AccessReviewFinding.objects.bulk_create(findings)
    except IntegrityError:
        # Another worker created it first.
        return AccessReview.objects.get(period_start=start), False
    return review, True


def sign_off_review(*, review: AccessReview, user: Any, note: str) -> AccessReview:
    if not user.has_perm("audit.sign_off_accessreview"):
        raise AuditError(_("Only the privacy officer can sign off an access review."))
    note = (note or "").strip()
    if not note:
        raise AuditError(_("Write a note on what was checked before signing off."))
    with transaction.atomic():
        locked = AccessReview.objects.select_for_update().get(pk=review.pk)
        if locked.is_signed_off:
            raise AuditError(_("This review was already signed off."))
        locked.signed_off_by = user
        locked.signed_off_at = timezone.now()
        locked.sign_off_note = note
        locked.save(update_fields=["signed_off_by", "signed_off_at", "sign_off_note"])
    return locked


def pending_reviews():
    """Reviews not signed off yet, oldest first (for the officer's dashboard)."""
    return AccessReview.objects.filter(signed_off_at__isnull=True).order_by("period_start")


# --- encryption keys (encryption at rest, policy 5) ---------------------------------------------


def encrypted_fields() -> dict[type[models.Model], list[EncryptedTextField]]:
    """Every model with an EncryptedTextField, in any app, and those fields (proxies share a table)."""
    found = {}
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields and not model._meta.proxy:
            found[model] = fields
    return found


@dataclass
class KeyRotationReport:
    dry_run: bool
    # Per model label: rows read; values re-encrypted (or that would be), already under the newest
    # key, and that no configured key decrypts. Values, not rows: a row may hold several.
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    # (model label, pk, field name) of each value no configured key decrypts. Never the values.
    undecryptable: list[tuple[str, Any, str]] = field(default_factory=list)
    # (model label, pk): rows rewritten by someone else on every try; a second run takes them.
    contended: list[tuple[str, Any]] = field(default_factory=list)
    longest_batch_ms: int = 0

    def total(self, key: str) -> int:
        return sum(counts[key] for counts in self.by_model.values())


def _raw(attname: str) -> ExpressionWrapper:
    # A plain text column reads and compares the stored ciphertext, skipping EncryptedTextField's
    # decryption on read and encryption of lookup values.
    return ExpressionWrapper(F(attname), output_field=models.TextField())


def _swap_tokens(model, field_: EncryptedTextField, swaps: dict[Any, tuple[str, str]]) -> None:
    """One UPDATE for a batch's values of one column. Compare-and-set: CASE replaces a value only
    where the column still holds the token that was read (tokens are unique: each encryption has
    its own IV), so a write made meanwhile (a refreshed token) is never overwritten with the older
    value. Plain SQL: the ORM's Case/When costs more than the database does here."""
    quote = connection.ops.quote_name
    table, column, pk = quote(model._meta.db_table), quote(field_.column), quote(model._meta.pk.column)
    whens = " ".join(["WHEN %s THEN %s"] * len(swaps))
    ids = ", ".join(["%s"] * len(swaps))
    params = [token for old_new in swaps.values() for token in old_new] + list(swaps)
    sql = f"UPDATE {table} SET {column} = CASE {column} {whens} ELSE {column} END WHERE {pk} IN ({ids})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rotate_batch(model, fields, rows: list[dict], *, dry_run: bool, report: KeyRotationReport) -> None:
    """Re-encrypt one batch's values, one compare-and-set UPDATE per encrypted column; values that
    changed meanwhile are read again and tried twice more."""
    label = model._meta.label
    counts = report.by_model[label]
    manager = model._base_manager
    raw = {f"raw_{f.attname}": _raw(f.attname) for f in fields}
    pending = [(row, fields) for row in rows]
    for _attempt in range(3):
        planned: dict[Any, dict[str, tuple[str, str]]] = {}
        for row, to_check in pending:
            for f in to_check:
                token = row[f"raw_{f.attname}"]
                if not token:
                    continue
                try:
                    rotated = crypto.rotate(token)
                except crypto.DecryptionError:
                    counts["undecryptable"] += 1
                    report.undecryptable.append((label, row["pk"], f.name))
                    continue
                if rotated is None:
                    counts["current"] += 1
                else:
                    planned.setdefault(row["pk"], {})[f.attname] = (token, rotated)
        if dry_run or not planned:
            counts["rotated"] += sum(len(plan) for plan in planned.values())
            return
        for f in fields:
            swaps = {pk: plan[f.attname] for pk, plan in planned.items() if f.attname in plan}
            if swaps:
                _swap_tokens(model, f, swaps)
        now = {row["pk"]: row for row in manager.filter(pk__in=list(planned)).values("pk", **raw)}
        pending = []
        for pk, plan in planned.items():
            row = now.get(pk)
            if row is None:
                continue  # deleted meanwhile: nothing left to re-encrypt
            missed = [f for f in fields if f.attname in plan and row[f"raw_{f.attname}"] != plan[f.attname][1]]
            counts["rotated"] += len(plan) - len(missed)
            if missed:
                pending.append((row, missed))
        if not pending:
            return
    report.contended += [(label, row["pk"]) for row, _missed in pending]


def rotate_encryption_key(
    *,
    batch_size: int = 500,
    dry_run: bool = False,
    on_progress: Callable[[str, int, int, KeyRotationReport], None] | None = None,
) -> KeyRotationReport:
    """Re-encrypt every EncryptedTextField value under the newest key of FIELD_ENCRYPTION_KEYS
    (the first), in every model. Walks each table by primary key in batches, each its own short
    transaction, and UPDATEs only the encrypted columns of rows that need it. Values no configured
    key decrypts are left as they are and reported by model, pk and field. With dry_run, counts
    what would be re-encrypted and writes nothing. `on_progress(model label, rows done, rows total,
    report)` is called after each batch."""
    if batch_size < 1:
        raise AuditError(_("The batch size must be at least 1."))
    report = KeyRotationReport(dry_run=dry_run)
    for model, fields in encrypted_fields().items():
        label = model._meta.label
        manager = model._base_manager
        counts = report.by_model.setdefault(label, {"rows": 0, "rotated": 0, "current": 0, "undecryptable": 0})
        total = manager.count()
        raw = {f"raw_{f.attname}": _raw(f.attname) for f in fields}
        after = None
        while True:
            batch = manager.order_by("pk")
            if after is not None:
                batch = batch.filter(pk__gt=after)
            started = monotonic()
            with transaction.atomic():
                rows = list(batch.values("pk", **raw)[:batch_size])
                _rotate_batch(model, fields, rows, dry_run=dry_run, report=report)
            report.longest_batch_ms = max(report.longest_batch_ms, int((monotonic() - started) * 1000))
            if not rows:
                break
            after = rows[-1]["pk"]
            counts["rows"] += len(rows)
            if on_progress:
                on_progress(label, counts["rows"], total, report)
        if on_progress and not counts["rows"]:
            on_progress(label, 0, 0, report)
    return report
