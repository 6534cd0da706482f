"""Discovery: which columns of a declared system look like personal data, and which of those no
declared table covers (data map drift, shown on the officer's desk).

`scan_system(system)` reflects every table of the system and reads a sample of each text column's
values (the first SAMPLE_ROWS non-empty ones). The values are matched in memory and dropped: only
the column's name, what it looks like and the counts are stored (DiscoveredColumn). Names are
found by the column's name alone (a name has no shape to test).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import sqlalchemy as sa
from django.db import transaction
from django.utils import timezone

from .connect import DatastoreDown, connect, safe_error, table_names
from .models import ColumnKind, DiscoveredColumn, ExternalSystem, ExternalTable

SAMPLE_ROWS = 200
# A column is flagged when at least this share of its sampled non-empty values match.
MATCH_SHARE = 0.5

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
KOREAN_MOBILE = re.compile(r"^(?:\+?82[-\s]?1|01)[016789][-\s.]?\d{3,4}[-\s.]?\d{4}$")
RRN = re.compile(r"^\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-?[1-8]\d{6}$")
CARD = re.compile(r"^\d{4}[-\s]?\d{4}[-\s]?\d{4}[-\s]?\d{1,7}$")
NAME_COLUMNS = re.compile(
    r"^(?:(?:full|first|last|given|family|real|legal|member|customer|user|contact)_?name|name|surname|"
    r"nickname|name_(?:ko|en|kr)|이름|성명)$",
    re.IGNORECASE,
)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        n = int(char)
        if index % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _card(value: str) -> bool:
    if not CARD.match(value):
        return False
    digits = re.sub(r"\D", "", value)
    return 13 <= len(digits) <= 19 and _luhn(digits)


MATCHERS = [
    (ColumnKind.EMAIL, lambda v: bool(EMAIL.match(v))),
    (ColumnKind.KOREAN_MOBILE, lambda v: bool(KOREAN_MOBILE.match(v))),
    (ColumnKind.RRN, lambda v: bool(RRN.match(v))),
    (ColumnKind.IP, _is_ip),
    (ColumnKind.CARD, _card),
]


def classify(values: list[str]) -> tuple[str | None, int]:
    """What most of these values look like, and how many matched."""
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        return None, 0
    for kind, matches in MATCHERS:
        n = sum(1 for v in values if matches(v))
        if n and n >= MATCH_SHARE * len(values):
            return kind, n
    return None, 0


@dataclass
class Finding:
    table: str
    column: str
    kind: str
    sampled: int
    matched: int
    declared: bool


def _text_like(column) -> bool:
    return isinstance(column.type, sa.String | sa.Text | sa.Enum) or isinstance(column.type, sa.types.NullType)


def scan_system(system: ExternalSystem) -> list[Finding]:
    covered = covered_columns(system)
    findings = []
    try:
        with connect(system) as connection:
            for name in table_names(connection):
                table = sa.Table(name, sa.MetaData(), autoload_with=connection)
                for column in table.columns:
                    if NAME_COLUMNS.match(column.name) and _text_like(column):
                        findings.append(
                            Finding(name, column.name, ColumnKind.NAME, 0, 0, (name, column.name) in covered)
                        )
                        continue
                    if not _text_like(column):
                        continue
                    sample = sa.select(column).where(column.is_not(None)).where(column != "").limit(SAMPLE_ROWS)
                    values = [str(v) for v in connection.execute(sample).scalars()]
                    sampled = len(values)
                    kind, matched = classify(values)
                    del values  # sampled values are never kept
                    if kind is not None:
                        findings.append(
                            Finding(name, column.name, kind, sampled, matched, (name, column.name) in covered)
                        )
                connection.rollback()
    except sa.exc.DBAPIError as exc:
        raise DatastoreDown(f"System {system.key}: the scan failed ({safe_error(exc)}).") from None
    now = timezone.now()
    with transaction.atomic():
        DiscoveredColumn.objects.filter(system=system).delete()
        DiscoveredColumn.objects.bulk_create(
            DiscoveredColumn(
                system=system,
                table=f.table,
                column=f.column,
                kind=f.kind,
                sampled=f.sampled,
                matched=f.matched,
                scanned_at=now,
            )
            for f in findings
        )
    return findings


def covered_columns(system: ExternalSystem) -> set[tuple[str, str]]:
    """(table, column) pairs a declared table of `system` names (identity, export, overwrite, runs_from)."""
    return {(t.table, c) for t in ExternalTable.objects.filter(system=system) for c in t.columns_named()}


def drift() -> list[DiscoveredColumn]:
    """Likely-personal columns the last scans found that no declared table covers."""
    covered = {}
    out = []
    for found in DiscoveredColumn.objects.select_related("system").order_by("system__key", "table", "column"):
        if found.system_id not in covered:
            covered[found.system_id] = covered_columns(found.system)
        if (found.table, found.column) not in covered[found.system_id]:
            out.append(found)
    return out
