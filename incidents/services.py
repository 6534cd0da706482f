"""Breach response (REQUIREMENTS SA-08): recording an incident, finding the people affected,
the 72-hour clocks and their reminders, containment, the report to the regulator.

Every write goes through here and leaves a timeline event (`IncidentEvent`). Deadlines are
properties of the incident computed from `aware_at`; nothing here lets anyone type one. Mail is
sent after the transaction that records it has committed, never inside it.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from audit.services import officer_group_members
from policy.contacts import privacy_officer
from privacyops.lib.korean import resolve_particles
from privacyops.lib.urls import absolute_url
from subjects.models import DataSubject, normalise_email
from subjects.registry import DataCategory, registry
from thirdparty.models import Processor, VendorIdentity

from .models import (
    REMINDER_HOURS,
    AffectedPerson,
    AffectedQuery,
    AffectedSource,
    DelayReason,
    EventKind,
    Incident,
    IncidentEvent,
    IncidentStatus,
    RegulatorAuthority,
)

log = logging.getLogger(__name__)

PERMISSION = "incidents.handle_incident"


class IncidentError(Exception):
    """A step the law or the record does not allow; the message is for the officer."""


def record_event(
    *,
    incident: Incident,
    kind: str,
    actor=None,
    note: str = "",
    reference: str = "",
    hours: int | None = None,
    at: datetime | None = None,
) -> IncidentEvent:
    """Append one step to the incident's timeline. `note` must carry no affected person's data."""
    return IncidentEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note,
        reference=reference[:100],
        hours=hours,
        at=at or timezone.now(),
    )


def _new_reference(at: datetime) -> str:
    return f"INC-{timezone.localtime(at):%Y%m%d}-{secrets.token_hex(2).upper()}"


def record_incident(*, actor, incident: Incident, processors=()) -> Incident:
    """Save a new incident (built by the admin form) with its reference and first event."""
    incident.full_clean(exclude=["reference"])
    with transaction.atomic():
        for _attempt in range(5):
            incident.reference = _new_reference(incident.aware_at)
            if not Incident.objects.filter(reference=incident.reference).exists():
                break
        incident.created_by = actor if getattr(actor, "pk", None) else None
        incident.save()
        if processors:
            incident.processors.set(processors)
        record_event(incident=incident, kind=EventKind.RECORDED, actor=actor)
    return incident


def record_change(*, actor, incident: Incident, changed: list[str]) -> IncidentEvent | None:
    """A timeline event naming the fields the officer changed (names, not values)."""
    if not changed:
        return None
    return record_event(incident=incident, kind=EventKind.CHANGED, actor=actor, note=", ".join(changed))


# --- the people affected --------------------------------------------------------------------------


def _timestamp_field(model) -> str | None:
    """The registered model's first date-time among its exported fields (visited_at, opened_at, ...):
    the moment a row was collected, which a query's date range is compared with."""
    entry = registry.entry(model)
    for name in entry.export_fields:
        try:
            internal_type = model._meta.get_field(name).get_internal_type()
        except FieldDoesNotExist:  # a computed export name
            continue
        if internal_type == "DateTimeField":
            return name
    return None


def find_affected_subjects(
    *,
    data_categories: list[str],
    rows_from: datetime | None = None,
    rows_until: datetime | None = None,
    processors=(),
) -> set[int]:
    """The subjects whose registered rows of these categories were collected in the range, and the
    subjects a chosen processor holds (its vendor identities, or else rows of the categories it is
    given, policy 3), over the personal-data registry: no model is listed by hand."""
    unknown = set(data_categories) - set(DataCategory.values)
    if unknown:
        raise IncidentError(_("Unknown data category: %s") % ", ".join(sorted(unknown)))
    wanted = set(data_categories)
    subject_ids: set[int] = set()
    processor_categories: set[str] = set()
    for processor in processors:
        if processor.connector in {"google_analytics", "meta"}:
            identities = VendorIdentity.objects.filter(vendor=processor.connector)
            if rows_from:
                identities = identities.filter(last_seen_at__gte=rows_from)
            if rows_until:
                identities = identities.filter(collected_at__lte=rows_until)
            subject_ids.update(identities.values_list("subject_id", flat=True))
        else:
            processor_categories.update(processor.data_categories or [])
    for entry in registry.entries():
        if entry.category not in wanted | processor_categories or entry.model is AffectedPerson:
            continue
        if not entry.linked_to_subject:
            continue  # held about no one we can name (a keyed hash): nobody to notify through it
        rows = entry.model._default_manager.all()
        stamp = _timestamp_field(entry.model)
        if stamp and rows_from:
            rows = rows.filter(**{f"{stamp}__gte": rows_from})
        if stamp and rows_until:
            rows = rows.filter(**{f"{stamp}__lte": rows_until})
        subject_ids.update(i for i in rows.values_list(entry.subject_field, flat=True).distinct() if i is not None)
    return subject_ids


def _add_subjects(incident: Incident, subject_ids, source: str) -> int:
    before = incident.affected_people.count()
    AffectedPerson.objects.bulk_create(
        [AffectedPerson(incident=incident, subject_id=i, source=source) for i in sorted(subject_ids)],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return incident.affected_people.count() - before


def save_affected_query(
    *,
    actor,
    incident: Incident,
    data_categories: list[str],
    rows_from: datetime | None = None,
    rows_until: datetime | None = None,
    processors=(),
) -> AffectedQuery:
    """Save the query, add the subjects it finds to the incident, and record both."""
    if not data_categories and not processors:
        raise IncidentError(_("Choose at least one data category or processor."))
    if rows_from and rows_until and rows_from > rows_until:
        raise IncidentError(_("The range ends before it starts."))
    with transaction.atomic():
        found = find_affected_subjects(
            data_categories=data_categories, rows_from=rows_from, rows_until=rows_until, processors=processors
        )
        query = AffectedQuery.objects.create(
            incident=incident,
            data_categories=sorted(data_categories),
            rows_from=rows_from,
            rows_until=rows_until,
            matched=len(found),
            saved_by=actor if getattr(actor, "pk", None) else None,
        )
        query.processors.set(processors)
        query.added = _add_subjects(incident, found, AffectedSource.QUERY)
        query.save(update_fields=["added"])
        record_event(
            incident=incident,
            kind=EventKind.QUERY_SAVED,
            actor=actor,
            reference=f"query #{query.pk}",
            note=_("%(matched)d people matched, %(added)d added") % {"matched": query.matched, "added": query.added},
        )
    return query


PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{6,18}[0-9]$")


@dataclass
class ImportRow:
    email: str = ""
    phone: str = ""
    language: str = ""
    subject_id: int | None = None


@dataclass
class ImportPreview:
    """What an import would add: counts and line numbers only, so the preview page shows no address."""

    rows: list[ImportRow] = field(default_factory=list)
    invalid_lines: list[int] = field(default_factory=list)
    duplicates: int = 0
    already_listed: int = 0

    @property
    def matched_subjects(self) -> int:
        return sum(1 for r in self.rows if r.subject_id)

    @property
    def to_add(self) -> int:
        return len(self.rows)


def _normalise_phone(value: str) -> str:
    return re.sub(r"[ \-]", "", value)


def preview_affected_import(*, incident: Incident, text: str) -> ImportPreview:
    """Read a CSV or plain list (one person a line: an email, a phone, or both, and optionally a
    language code ko/en) and say what importing it would add. Writes nothing."""
    preview = ImportPreview()
    seen: set[str] = set()
    languages = {code for code, _name in settings.LANGUAGES}
    listed_emails = set(incident.affected_people.exclude(email="").values_list("email", flat=True))
    listed_phones = set(incident.affected_people.exclude(phone="").values_list("phone", flat=True))
    listed_subjects = set(incident.affected_people.exclude(subject=None).values_list("subject_id", flat=True))
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in cells if c.strip()]
        if not cells:
            continue
        row = ImportRow()
        ok = True
        for cell in cells:
            if "@" in cell:
                try:
                    validate_email(cell)
                except ValidationError:
                    ok = False
                    break
                row.email = normalise_email(cell)
            elif cell.lower() in languages:
                row.language = cell.lower()
            elif PHONE_RE.match(cell):
                row.phone = _normalise_phone(cell)
            elif cell.lower() in {"email", "phone", "language", "이메일", "전화번호", "언어"}:
                ok = None  # a header line
                break
            else:
                ok = False
                break
        if ok is None:
            continue
        if not ok or not (row.email or row.phone):
            preview.invalid_lines.append(number)
            continue
        key = row.email or row.phone
        if key in seen:
            preview.duplicates += 1
            continue
        seen.add(key)
        if row.email:
            row.subject_id = DataSubject.objects.filter(email=row.email).values_list("pk", flat=True).first()
        elif row.phone:
            row.subject_id = DataSubject.objects.filter(phone=row.phone).values_list("pk", flat=True).first()
        if (
            (row.email and row.email in listed_emails)
            or (not row.email and row.phone in listed_phones)
            or (row.subject_id and row.subject_id in listed_subjects)
        ):
            preview.already_listed += 1
            continue
        preview.rows.append(row)
    return preview


def import_affected_people(*, actor, incident: Incident, text: str) -> ImportPreview:
    """Add the people of the file (as the preview showed them) and record the import."""
    preview = preview_affected_import(incident=incident, text=text)
    if preview.invalid_lines:
        raise IncidentError(
            _("Lines that are neither an email nor a phone number: %s")
            % ", ".join(map(str, preview.invalid_lines[:20]))
        )
    with transaction.atomic():
        before = incident.affected_people.count()
        AffectedPerson.objects.bulk_create(
            [
                AffectedPerson(
                    incident=incident,
                    subject_id=r.subject_id,
                    email=r.email,
                    phone="" if r.email else r.phone,
                    language=r.language,
                    source=AffectedSource.IMPORT,
                )
                for r in preview.rows
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        added = incident.affected_people.count() - before
        record_event(
            incident=incident,
            kind=EventKind.PEOPLE_IMPORTED,
            actor=actor,
            note=_("%(added)d people added (%(subjects)d known in the registry)")
            % {"added": added, "subjects": preview.matched_subjects},
        )
    return preview


# --- steps of the response -------------------------------------------------------------------------


def _check_delay(*, late: bool, reason: str, note: str, what: str) -> None:
    if reason and reason not in DelayReason.values:
        raise IncidentError(_("Unknown delay reason."))
    if late and not reason:
        raise IncidentError(
            resolve_particles(
                _("The %(what)s is after its 72-hour deadline: choose the reason for the delay (Decree art. 39-40).")
                % {"what": what}
            )
        )


def mark_contained(*, actor, incident: Incident, at: datetime | None = None, note: str = "") -> Incident:
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.contained_at:
            raise IncidentError(_("The incident is already recorded as contained."))
        incident.contained_at = at
        if incident.status == IncidentStatus.OPEN:
            incident.status = IncidentStatus.CONTAINED
        incident.save(update_fields=["contained_at", "status"])
        record_event(incident=incident, kind=EventKind.CONTAINED, actor=actor, at=at, note=note)
    return incident


def mark_notified(
    *, actor, incident: Incident, at: datetime | None = None, delay_reason: str = "", delay_note: str = ""
) -> Incident:
    """Every affected person has been told (by notice, or by the posting where contact is missing)."""
    at = at or timezone.now()
    _check_delay(late=incident.notice_is_late(at), reason=delay_reason, note=delay_note, what=_("notice"))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.notified_at:
            raise IncidentError(_("The people affected are already recorded as notified."))
        incident.notified_at = at
        incident.notify_delay_reason = delay_reason if incident.notice_is_late(at) else ""
        incident.notify_delay_note = delay_note.strip() if incident.notice_is_late(at) else ""
        if incident.status in (IncidentStatus.OPEN, IncidentStatus.CONTAINED):
            incident.status = IncidentStatus.NOTIFIED
        incident.save(update_fields=["notified_at", "notify_delay_reason", "notify_delay_note", "status"])
        record_event(
            incident=incident,
            kind=EventKind.NOTIFIED,
            actor=actor,
            at=at,
            note=incident.get_notify_delay_reason_display() if incident.notify_delay_reason else "",
        )
    return incident


def record_report_submission(
    *,
    actor,
    incident: Incident,
    authority: str,
    reference: str,
    submitted_at: datetime | None = None,
    delay_reason: str = "",
    delay_note: str = "",
) -> Incident:
    """The report went to the PIPC or KISA (Decree art. 40): who, when, its reference number."""
    submitted_at = submitted_at or timezone.now()
    if authority not in RegulatorAuthority.values:
        raise IncidentError(_("Choose the PIPC or KISA."))
    reference = (reference or "").strip()
    if not reference:
        raise IncidentError(_("Enter the reference number the regulator gave the report."))
    if submitted_at > timezone.now() + timedelta(minutes=5):
        raise IncidentError(_("The submission cannot be in the future."))
    late = submitted_at > incident.notify_by  # the report's clock is the same 72 hours
    _check_delay(late=late, reason=delay_reason, note=delay_note, what=_("report"))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.reported_at:
            raise IncidentError(_("The report is already recorded."))
        incident.reported_at = submitted_at
        incident.reported_by = actor if getattr(actor, "pk", None) else None
        incident.report_authority = authority
        incident.report_reference = reference[:100]
        incident.report_delay_reason = delay_reason if late else ""
        incident.report_delay_note = delay_note.strip() if late else ""
        if incident.status != IncidentStatus.CLOSED:
            incident.status = IncidentStatus.REPORTED
        incident.save(
            update_fields=[
                "reported_at",
                "reported_by",
                "report_authority",
                "report_reference",
                "report_delay_reason",
                "report_delay_note",
                "status",
            ]
        )
        record_event(
            incident=incident,
            kind=EventKind.REPORTED,
            actor=actor,
            at=submitted_at,
            reference=reference,
            note=incident.get_report_authority_display(),
        )
    return incident


def attach_processor_notice(
    *, actor, incident: Incident, processor: Processor, notice_file, received_at: datetime | None = None
) -> Incident:
    """A breach at a processor (PIPA art. 26): keep the processor's own notice with the incident."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        incident.at_processor = processor
        incident.processor_notified_at = received_at or timezone.now()
        incident.processor_notice.save(notice_file.name, notice_file, save=False)
        incident.save(update_fields=["at_processor", "processor_notified_at", "processor_notice"])
        incident.processors.add(processor)
        record_event(incident=incident, kind=EventKind.PROCESSOR_NOTICE, actor=actor, note=processor.name)
    return incident


def close_incident(*, actor, incident: Incident, note: str = "") -> Incident:
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == IncidentStatus.CLOSED:
            raise IncidentError(_("The incident is already closed."))
        if not incident.notified_at:
            raise IncidentError(_("The people affected have not been notified yet."))
        if incident.report_required and not incident.reported_at:
            raise IncidentError(_("The report to the regulator is required and not recorded yet."))
        incident.status = IncidentStatus.CLOSED
        incident.closed_at = timezone.now()
        incident.save(update_fields=["status", "closed_at"])
        record_event(incident=incident, kind=EventKind.CLOSED, actor=actor, note=note)
    return incident


# --- reminders -----------------------------------------------------------------------------------


@dataclass
class ReminderRun:
    incidents: int = 0
    reminders: int = 0
    mails: int = 0
    failed: int = 0


def _officer_addresses() -> list[str]:
    addresses = [u.email for u in officer_group_members() if u.email]
    contact = privacy_officer()
    if contact and contact.email:
        addresses.append(contact.email)
    return sorted({a.strip().lower() for a in addresses if a.strip()})


def _due_hours(incident: Incident, now: datetime) -> list[int]:
    return [h for h in REMINDER_HOURS if incident.aware_at + timedelta(hours=h) <= now]


def send_incident_reminders(*, now: datetime | None = None, dry_run: bool = False) -> ReminderRun:
    """Remind the officer at 24, 48 and 66 hours after aware_at of each incident whose notice or
    report is still due. Each reminder is recorded once (a unique constraint holds it even when two
    runs overlap); the mail goes out after that record has committed. A run that starts late sends
    one mail for the hours it catches up on."""
    now = now or timezone.now()
    run = ReminderRun()
    recipients = _officer_addresses()
    earliest = now - timedelta(hours=max(REMINDER_HOURS) + 72)
    for incident in Incident.objects.open_with_clocks(now).filter(aware_at__gte=earliest):
        pending_notice = incident.notified_at is None
        pending_report = incident.report_required and incident.reported_at is None
        if not (pending_notice or pending_report):
            continue
        sent = set(incident.events.filter(kind=EventKind.REMINDER).values_list("hours", flat=True))
        due = [h for h in _due_hours(incident, now) if h not in sent]
        if not due:
            continue
        run.incidents += 1
        if dry_run:
            run.reminders += len(due)
            continue
        claimed = []
        for hours in due:
            try:
                with transaction.atomic():
                    record_event(
                        incident=incident,
                        kind=EventKind.REMINDER,
                        hours=hours,
                        at=now,
                        note=_("%(n)d recipients") % {"n": len(recipients)},
                    )
                claimed.append(hours)
            except IntegrityError:
                continue  # another run recorded it first
        if not claimed:
            continue
        run.reminders += len(claimed)
        # After commit (each claim above is its own committed transaction): never mail inside one.
        if recipients and _mail_reminder(incident, max(claimed), recipients, pending_notice, pending_report):
            run.mails += 1
        elif recipients:
            run.failed += 1
    log.info("incident reminders: %d incidents, %d reminders, %d mails", run.incidents, run.reminders, run.mails)
    return run


def _mail_reminder(incident: Incident, hours: int, recipients, pending_notice: bool, pending_report: bool) -> bool:
    url = absolute_url(reverse("admin:incidents_incident_change", args=[incident.pk]))
    parts = []
    for language in ("ko", "en"):
        with override(language):
            lines = [
                _("Incident %(ref)s: %(hours)d hours since the company became aware.")
                % {"ref": incident.reference, "hours": hours}
            ]
            if pending_notice:
                lines.append(
                    _("Notice to the people affected due by %(at)s.")
                    % {"at": timezone.localtime(incident.notify_by).strftime("%Y-%m-%d %H:%M")}
                )
            if pending_report:
                lines.append(
                    _("Report to the PIPC or KISA due by %(at)s.")
                    % {"at": timezone.localtime(incident.report_by).strftime("%Y-%m-%d %H:%M")}
                )
            lines.append(url)
            parts.append("\n".join(lines))
    with override("ko"):
        subject = _("[Breach] %(ref)s: %(hours)d hours of 72") % {"ref": incident.reference, "hours": hours}
    try:
        send_mail(subject, "\n\n---\n\n".join(parts), None, recipients)
    except Exception:  # noqa: BLE001  (the reminder is recorded; the desk still shows the countdown)
        log.exception("incident reminder mail failed for incident %s", incident.pk)
        return False
    return True


def open_clocks(*, now: datetime | None = None, limit: int = 20) -> list[dict]:
    """The desk's countdown rows: reference, the two deadlines and the time left, with a colour."""
    now = now or timezone.now()
    rows = []
    for incident in Incident.objects.open_with_clocks(now)[:limit]:
        clocks = []
        if incident.notified_at is None:
            clocks.append(("notice", incident.notify_by))
        if incident.report_required and incident.reported_at is None:
            clocks.append(("report", incident.report_by))
        if not clocks:
            continue
        rows.append(
            {
                "pk": incident.pk,
                "reference": incident.reference,
                "affected": incident.affected_count,
                "clocks": [
                    {"kind": kind, "due": due, "hours_left": _hours_left(due, now), "colour": _colour(due, now)}
                    for kind, due in clocks
                ],
            }
        )
    return rows


def _hours_left(due: datetime, now: datetime) -> int:
    # Whole hours, rounded towards the past: 0 in the last hour, -1 in the first hour overdue.
    return math.floor((due - now).total_seconds() / 3600)


def _colour(due: datetime, now: datetime) -> str:
    left = due - now
    if left <= timedelta(0):
        return "overdue"
    if left <= timedelta(hours=24):
        return "soon"
    return "fine"
