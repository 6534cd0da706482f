"""Writes to the personal-data records of policy section 1."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import CollectionSource, DataSubject, Inquiry, VisitLog, normalise_email
from .partitions import lock_refs


class SubjectError(Exception):
    """A domain rule refused the write; the message is safe to show to the caller."""


class RecordNotFound(SubjectError):
    pass


def find_or_create_subject(*, email: str | None, name: str = "", phone: str = "", source: str) -> DataSubject:
    """The subject with this email, created if new. Contact details fill blanks, never overwrite."""
    email = normalise_email(email)
    if email is None:
        return DataSubject.objects.create(name=name, phone=phone, source=source)
    try:
        with transaction.atomic():
            subject, created = DataSubject.objects.get_or_create(
                email=email, defaults={"name": name, "phone": phone, "source": source}
            )
    except IntegrityError:
        # Another request created the same subject between our SELECT and INSERT.
        subject, created = DataSubject.objects.get(email=email), False
    if not created and ((name and not subject.name) or (phone and not subject.phone)):
        subject.name = subject.name or name
        subject.phone = subject.phone or phone
        subject.save(update_fields=["name", "phone", "updated_at"])
    return subject


def record_visit(
    *,
    visited_at: datetime | None = None,
    subject_email: str | None = None,
    ip: str | None = None,
    user_agent: str = "",
    os: str = "",
    screen_size: str = "",
    device_id: str = "",
    phone_model: str = "",
    cookie_id: str = "",
    path: str = "",
    abnormal: bool = False,
    abnormal_reason: str = "",
    external_ref: str = "",
) -> tuple[VisitLog, bool]:
    """Record one visit. Returns (visit, created); a repeated external_ref returns the visit
    recorded the first time, so a retried call is harmless."""
    fields = {
        "visited_at": visited_at,
        "ip": ip,
        "user_agent": user_agent,
        "os": os,
        "screen_size": screen_size,
        "device_id": device_id,
        "phone_model": phone_model,
        "cookie_id": cookie_id,
        "path": path,
        "abnormal": abnormal,
        "abnormal_reason": abnormal_reason,
        "external_ref": external_ref,
    }
    if not (external_ref and connection.vendor == "postgresql"):
        return _record_visit(fields, subject_email, external_ref)
    # The partitioned table cannot hold a unique index on the reference alone: the visit goes in,
    # then the reference is checked under its advisory lock (_claim_refs, as record_visits does).
    for attempt in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                visit, created = _record_visit(fields, subject_email, external_ref)
                if created:
                    _claim_refs([external_ref], [visit.pk])
                return visit, created
        except _RefRaced:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _record_visit(fields: dict, subject_email: str | None, external_ref: str) -> tuple[VisitLog, bool]:
    if external_ref:
        existing = VisitLog.objects.filter(external_ref=external_ref).first()
        if existing is not None:
            return existing, False
    subject = None
    if subject_email:
        subject = find_or_create_subject(email=subject_email, source=CollectionSource.AUTOMATIC)
    fields = _visit_fields(fields, subject.pk if subject else None, timezone.now())
    if not external_ref:
        return VisitLog.objects.create(**fields), True
    try:
        with transaction.atomic():
            visit = VisitLog.objects.create(**fields)
    except IntegrityError:
        # The same reference arrived twice at once: the other request recorded it.
        existing = VisitLog.objects.filter(external_ref=external_ref).first()
        if existing is None:
            raise
        return existing, False
    return visit, True


VISIT_FIELDS = (
    "visited_at",
    "ip",
    "user_agent",
    "os",
    "screen_size",
    "device_id",
    "phone_model",
    "cookie_id",
    "path",
    "abnormal",
    "abnormal_reason",
    "external_ref",
)
VISIT_BATCH_MAX = 1000


_VISIT_COLUMNS = ("subject_id", *VISIT_FIELDS)


def _visit_row(visit: dict, subject_id: int | None, now: datetime) -> tuple:
    """The visit's values in _VISIT_COLUMNS order (a tuple: a batch builds a thousand)."""
    get = visit.get
    abnormal = bool(get("abnormal"))
    return (
        subject_id,
        get("visited_at") or now,
        get("ip") or None,
        get("user_agent", ""),
        get("os", ""),
        get("screen_size", ""),
        get("device_id", ""),
        get("phone_model", ""),
        get("cookie_id", ""),
        get("path", ""),
        abnormal,
        get("abnormal_reason", "") if abnormal else "",
        get("external_ref", ""),
    )


def _visit_fields(visit: dict, subject_id: int | None, now: datetime) -> dict:
    return dict(zip(_VISIT_COLUMNS, _visit_row(visit, subject_id, now), strict=True))


class BatchError(SubjectError):
    """Some items of a batch were refused; `errors` lists them by index (nothing was written)."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(f"item {e['index']}: {e['message']}" for e in errors))


def record_visits(visits: list[dict]) -> list[tuple[int, bool]]:
    """Record up to VISIT_BATCH_MAX visits (dicts with record_visit's arguments) in one
    transaction, the rows in one statement. Returns (id, created) per item, in order: an item
    whose external_ref is already recorded gets that visit's id and writes nothing, as with
    record_visit. A reference repeated within the batch is refused (BatchError), and then nothing
    is written."""
    if len(visits) > VISIT_BATCH_MAX:
        raise SubjectError(f"A batch holds at most {VISIT_BATCH_MAX} visits.")
    first_at: dict[str, int] = {}
    errors = []
    for index, visit in enumerate(visits):
        ref = visit.get("external_ref") or ""
        if ref and ref in first_at:
            errors.append(
                {
                    "index": index,
                    "field": f"visits.{index}.external_ref",
                    "message": f"repeats the external_ref of item {first_at[ref]}",
                }
            )
        first_at.setdefault(ref, index)
    if errors:
        raise BatchError(errors)
    for attempt in range(_ATTEMPTS):
        try:
            return _record_visits(visits)
        except IntegrityError:
            # A concurrent call recorded some of the same references (or created the same subject)
            # between our read and our commit; everything was rolled back. Read again: those items
            # are now "already recorded".
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# How many times a write that lost a race on a reference is tried again (each try after the first
# finds the winner's visits recorded; a third loss takes a third concurrent writer of the same refs).
_ATTEMPTS = 3


class _RefRaced(IntegrityError):
    """Another transaction committed a visit under one of our references after our first read."""


@transaction.atomic
def _record_visits(visits: list[dict]) -> list[tuple[int, bool]]:
    refs = [v["external_ref"] for v in visits if v.get("external_ref")]
    # Read without a lock first: a resent batch stops here, writing nothing. The references of the
    # new items are checked again under their locks once the rows are in (_claim_refs).
    recorded = _recorded_refs(refs) if refs else {}
    new = [v for v in visits if not (v.get("external_ref") and v["external_ref"] in recorded)]
    # The schema already trimmed and lowered the addresses; normalise_email keeps other callers honest.
    emails = {v["subject_email"]: normalise_email(v["subject_email"]) for v in new if v.get("subject_email")}
    subject_ids = _subject_ids(set(emails.values()))
    now = timezone.now()
    rows = [
        _visit_row(v, subject_ids[emails[v["subject_email"]]] if v.get("subject_email") else None, now) for v in new
    ]
    ids = _insert_visits(rows)
    new_refs = [v["external_ref"] for v in new if v.get("external_ref")]
    if new_refs and connection.vendor == "postgresql":
        _claim_refs(new_refs, [pk for pk, v in zip(ids, new, strict=True) if v.get("external_ref")])
    new_ids = iter(ids)
    return [
        (recorded[v["external_ref"]], False) if v.get("external_ref") in recorded else (next(new_ids), True)
        for v in visits
    ]


def _recorded_refs(refs: list[str]) -> dict[str, int]:
    """The visits already recorded under these references (reference -> id)."""
    if connection.vendor != "postgresql":
        known = VisitLog.objects.filter(external_ref__in=refs).exclude(external_ref="")
        return dict(known.values_list("external_ref", "pk"))
    with connection.cursor() as cursor:
        cursor.execute(_REF_PROBE.format(table=VisitLog._meta.db_table), [refs])
        return dict(cursor.fetchall())


# One index probe per reference into each month's (external_ref, visited_at) index, whatever the
# statistics say: `external_ref = ANY(array)` was planned as a sequential scan of the month
# whenever the partition had no statistics yet (a new month; autovacuum behind or off), and read
# every row of it for each batch (bench/visits_batch.py: 190 ms of a 300 ms batch at 330,000 rows).
# ORDER BY the index's columns with LIMIT 1 leaves the planner no cheaper plan than the probe. The
# references go as one array, not a thousand parameters; `<> ''` matches the partial index.
_REF_PROBE = (
    "SELECT r.ref, v.id FROM unnest(%s::text[]) AS r(ref) CROSS JOIN LATERAL ("
    "SELECT id FROM {table} WHERE external_ref = r.ref AND external_ref <> '' "
    "ORDER BY external_ref, visited_at LIMIT 1) AS v"
)
# The same probe for another transaction's visit: each reference paired with its own visit's id
# (unnest of two arrays); `id <> ALL(ids)` compared every row found with every id of the batch, a
# million comparisons a batch.
_REF_RACE_PROBE = (
    "SELECT r.ref, v.id FROM unnest(%s::text[], %s::bigint[]) AS r(ref, own) CROSS JOIN LATERAL ("
    "SELECT id FROM {table} WHERE external_ref = r.ref AND external_ref <> '' AND id <> r.own "
    "ORDER BY external_ref, visited_at LIMIT 1) AS v"
)


def _claim_refs(refs: list[str], own_ids: list[int]) -> None:
    """PostgreSQL, after our visits under `refs` went in (ids `own_ids`, not yet committed): take
    the references' advisory locks (subjects.partitions.lock_refs), held until the transaction
    ends, then look for a visit of another transaction under any of them. Two writers of one
    reference run this check and their commit one after the other, so the second sees the
    first's visit and raises _RefRaced: its transaction rolls back and the caller tries again,
    finding the visit recorded. The unique index cannot do this on the partitioned table (it holds
    (external_ref, visited_at): the same reference in two months is two keys). The locks cover
    only this check and the commit, not the writes, so concurrent batches do not queue behind each
    other's COPY (with 64 buckets, any two batches of 1,000 references share a bucket)."""
    lock_refs(refs)
    with connection.cursor() as cursor:
        cursor.execute(_REF_RACE_PROBE.format(table=VisitLog._meta.db_table), [refs, own_ids])
        if cursor.fetchone() is not None:
            raise _RefRaced("another transaction recorded one of these references first")


def _subject_ids(emails: set[str]) -> dict[str, int]:
    """The subject of each email (normalised), those not known yet created in one statement."""
    if not emails:
        return {}
    known = dict(DataSubject.objects.filter(email__in=emails).values_list("email", "pk"))
    missing = emails - known.keys()
    if missing:
        DataSubject.objects.bulk_create(
            [DataSubject(email=email, source=CollectionSource.AUTOMATIC) for email in sorted(missing)]
        )
        known.update(DataSubject.objects.filter(email__in=missing).values_list("email", "pk"))
    return known


def _insert_visits(rows: list[tuple]) -> list[int]:
    """Insert the rows in one statement and return their ids in order. On PostgreSQL: the ids
    are drawn from the table's sequence in one query, then the rows go in by COPY (about five
    times faster than a multi-row INSERT built by the ORM); elsewhere one bulk_create."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        visits = [VisitLog(**dict(zip(_VISIT_COLUMNS, row, strict=True))) for row in rows]
        return [visit.pk for visit in VisitLog.objects.bulk_create(visits)]
    table = VisitLog._meta.db_table
    with connection.cursor() as cursor:
        # The sequence looked up once (MATERIALIZED): pg_get_serial_sequence() in the select list
        # ran its catalogue lookups once per row (7 of 9 ms for 1,000 ids).
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
            "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(("id", *_VISIT_COLUMNS))
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *row))
    return ids


@transaction.atomic
def record_inquiry(
    *,
    email: str,
    channel: str,
    kind: str,
    body: str,
    name: str = "",
    phone: str = "",
    opened_at: datetime | None = None,
    closed_at: datetime | None = None,
    external_ref: str = "",
) -> tuple[Inquiry, bool]:
    """Record a customer-service contact. Returns (inquiry, created); a repeated external_ref
    returns the inquiry recorded the first time, so a retried call is harmless."""
    if external_ref:
        existing = Inquiry.objects.filter(external_ref=external_ref).first()
        if existing is not None:
            return existing, False
    opened_at = opened_at or timezone.now()
    if closed_at is not None and closed_at < opened_at:
        raise SubjectError("closed_at cannot be earlier than opened_at.")
    subject = find_or_create_subject(email=email, name=name, phone=phone, source=CollectionSource.CUSTOMER_SERVICE)
    inquiry = Inquiry.objects.create(
        subject=subject,
        channel=channel,
        kind=kind,
        body=body,
        opened_at=opened_at,
        closed_at=closed_at,
        external_ref=external_ref,
    )
    return inquiry, True


def close_inquiry(*, inquiry_id: int, closed_at: datetime | None = None) -> Inquiry:
    """Close an inquiry; the retention period of a complaint or dispute runs from this moment."""
    inquiry = Inquiry.objects.filter(pk=inquiry_id).first()
    if inquiry is None:
        raise RecordNotFound("No inquiry with this id.")
    if inquiry.closed_at is not None:
        raise SubjectError("This inquiry is already closed.")
    closed_at = closed_at or timezone.now()
    if closed_at < inquiry.opened_at:
        raise SubjectError("closed_at cannot be earlier than opened_at.")
    inquiry.closed_at = closed_at
    inquiry.save(update_fields=["closed_at"])
    return inquiry
