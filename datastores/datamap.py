"""The data map file: the declared systems and tables as YAML, kept in the company's version control.

    systems:
      - key: website
        name: Website members
        kind: postgresql            # or mysql
        url_env: WEBSITE_DATABASE_URL
        tables:
          - table: members
            identity: {email: email, phone: mobile}
            runs_from: last_login_at
            rule: website_members   # a RetentionRule key; created with period_days when absent
            period_days: 365
            category: identity_contact
            export: {email: Email, name: Name, last_login_at: Last sign-in}
            erase: delete           # or {overwrite: {name: "", mobile: null}}

Optional: a system's `owner` and `naive_timezone`; a table's `source` (a collection source,
default linked_service) and `kept_after_erasure` (default false).

`load_data_map(text)` validates everything, reflecting every real table (an unknown table or
column is refused with its name), before writing anything, then writes in one transaction:
systems and tables in the file are created or updated; declared tables of those systems that the
file no longer lists are removed. `dump_data_map()` writes the same format back.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from django.db import transaction

from privacyops.lib.actors import require_permission
from retention.models import PeriodUnit, RetentionRule
from subjects.models import CollectionSource
from subjects.registry import DataCategory

from .connect import DatastoreError, check_table
from .models import IDENTITY_KINDS, EraseMode, ExternalSystem, ExternalTable, SystemKind

CHANGE_PERMISSION = "datastores.change_externaltable"
SYSTEM_FIELDS = {"key", "name", "kind", "url_env", "owner", "naive_timezone", "tables"}
TABLE_FIELDS = {
    "table",
    "identity",
    "runs_from",
    "rule",
    "period_days",
    "category",
    "export",
    "erase",
    "source",
    "kept_after_erasure",
}


class DataMapError(DatastoreError):
    pass


@dataclass
class LoadResult:
    systems: int
    tables: int
    rules_created: list[str]
    tables_removed: list[str]


def _need(mapping: dict, name: str, where: str):
    if name not in mapping or mapping[name] in (None, ""):
        raise DataMapError(f"{where}: {name!r} is missing.")
    return mapping[name]


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise DataMapError(f"{where} must be a mapping.")
    return value


def _parse_erase(value, where: str) -> tuple[str, dict]:
    if value in (None, "delete"):
        return EraseMode.DELETE, {}
    if isinstance(value, dict) and set(value) == {"overwrite"} and isinstance(value["overwrite"], dict):
        if not value["overwrite"]:
            raise DataMapError(f"{where}: erase.overwrite names no column.")
        return EraseMode.OVERWRITE, dict(value["overwrite"])
    raise DataMapError(f'{where}: erase is "delete" or {{overwrite: {{column: value}}}}.')


def _parse(text: str) -> list[tuple[ExternalSystem, list[tuple[ExternalTable, str, int | None]]]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise DataMapError(f"The data map is not valid YAML{where}.") from None
    document = _mapping(document, "The data map")
    systems = document.get("systems")
    if not isinstance(systems, list) or not systems:
        raise DataMapError("The data map lists no systems (a 'systems:' list).")
    parsed = []
    seen_keys = set()
    for index, raw in enumerate(systems, 1):
        raw = _mapping(raw, f"System {index}")
        where = f"System {raw.get('key') or index}"
        unknown = set(raw) - SYSTEM_FIELDS
        if unknown:
            raise DataMapError(f"{where}: unknown field {sorted(unknown)[0]!r}.")
        key = str(_need(raw, "key", where))
        if key in seen_keys:
            raise DataMapError(f"System {key} is listed twice.")
        seen_keys.add(key)
        kind = str(_need(raw, "kind", where))
        if kind not in SystemKind.values:
            raise DataMapError(f"{where}: kind is one of {', '.join(SystemKind.values)}.")
        system = ExternalSystem.objects.filter(key=key).first() or ExternalSystem(key=key)
        system.name = str(_need(raw, "name", where))
        system.kind = kind
        system.url_env = str(_need(raw, "url_env", where))
        system.owner = str(raw.get("owner") or "")
        system.naive_timezone = str(raw.get("naive_timezone") or "UTC")
        try:
            system.full_clean(validate_unique=False)
        except Exception as exc:
            raise DataMapError(f"{where}: {_first_message(exc)}") from None
        tables = []
        for t_index, raw_table in enumerate(raw.get("tables") or [], 1):
            raw_table = _mapping(raw_table, f"{where}, table {t_index}")
            t_where = f"Table {key}.{raw_table.get('table') or t_index}"
            unknown = set(raw_table) - TABLE_FIELDS
            if unknown:
                raise DataMapError(f"{t_where}: unknown field {sorted(unknown)[0]!r}.")
            identity = _mapping(_need(raw_table, "identity", t_where), f"{t_where}: identity")
            bad = set(identity) - set(IDENTITY_KINDS)
            if bad:
                raise DataMapError(f"{t_where}: identity {sorted(bad)[0]!r} is not one of {', '.join(IDENTITY_KINDS)}.")
            export = _mapping(_need(raw_table, "export", t_where), f"{t_where}: export")
            category = str(_need(raw_table, "category", t_where))
            if category not in DataCategory.values:
                raise DataMapError(f"{t_where}: unknown category {category!r}.")
            source = str(raw_table.get("source") or CollectionSource.LINKED_SERVICE)
            if source not in CollectionSource.values:
                raise DataMapError(f"{t_where}: unknown source {source!r}.")
            erase_mode, overwrite = _parse_erase(raw_table.get("erase"), t_where)
            rule_key = str(_need(raw_table, "rule", t_where))
            period_days = raw_table.get("period_days")
            if period_days is not None and (not isinstance(period_days, int) or period_days < 1):
                raise DataMapError(f"{t_where}: period_days is a whole number of days, at least 1.")
            if not RetentionRule.objects.filter(key=rule_key).exists() and period_days is None:
                raise DataMapError(
                    f"{t_where}: there is no retention rule {rule_key!r}; give period_days to create it."
                )
            table = ExternalTable(
                table=str(_need(raw_table, "table", t_where)),
                identity={k: str(v) for k, v in identity.items()},
                runs_from=str(_need(raw_table, "runs_from", t_where)),
                export=[[str(k), str(v)] for k, v in export.items()],
                erase_mode=erase_mode,
                overwrite=overwrite,
                category=category,
                source=source,
                kept_after_erasure=bool(raw_table.get("kept_after_erasure", False)),
            )
            table.system = system
            tables.append((table, rule_key, period_days))
        names = [t.table for t, _, _ in tables]
        if len(names) != len(set(names)):
            raise DataMapError(f"System {key} lists a table twice.")
        parsed.append((system, tables))
    return parsed


def _first_message(exc) -> str:
    messages = getattr(exc, "messages", None)
    return str(messages[0]) if messages else str(exc)


def _validate_table(table: ExternalTable) -> None:
    """The declaration's own rules (model clean without the reflection), then the real table."""
    errors = []
    if not table.identity:
        errors.append("name at least one identity column")
    if not table.export:
        errors.append("name the columns to export")
    if errors:
        raise DataMapError(f"Table {table.label}: {'; '.join(errors)}.")
    check_table(table)


def load_data_map(text: str, *, actor) -> LoadResult:
    require_permission(actor, CHANGE_PERMISSION, error=DataMapError)
    parsed = _parse(text)
    for _system, tables in parsed:
        for table, _rule, _days in tables:
            _validate_table(table)
    rules_created, removed = [], []
    n_tables = 0
    with transaction.atomic():
        for system, tables in parsed:
            system.save()
            kept_ids = []
            for table, rule_key, period_days in tables:
                rule = RetentionRule.objects.filter(key=rule_key).first()
                if rule is None:
                    rule = RetentionRule.objects.create(
                        key=rule_key,
                        name=f"{system.name}: {table.table}",
                        period_value=period_days,
                        period_unit=PeriodUnit.DAYS,
                        runs_from=f"{table.runs_from} ({system.key}.{table.table})",
                        legal_basis="Set by the company in its data map; no statute sets a period.",
                        set_by_company=True,
                    )
                    rules_created.append(rule_key)
                existing = ExternalTable.objects.filter(system=system, table=table.table).first()
                if existing is not None:
                    table.pk = existing.pk
                table.system = system
                table.rule = rule
                table.save()
                kept_ids.append(table.pk)
                n_tables += 1
            for gone in ExternalTable.objects.filter(system=system).exclude(pk__in=kept_ids):
                removed.append(gone.label)
                gone.delete()
    return LoadResult(len(parsed), n_tables, rules_created, removed)


def dump_data_map() -> str:
    systems = []
    for system in ExternalSystem.objects.order_by("key"):
        entry = {"key": system.key, "name": system.name, "kind": system.kind, "url_env": system.url_env}
        if system.owner:
            entry["owner"] = system.owner
        if system.naive_timezone and system.naive_timezone != "UTC":
            entry["naive_timezone"] = system.naive_timezone
        tables = []
        for table in system.tables.select_related("rule").order_by("table"):
            row = {
                "table": table.table,
                "identity": dict(table.identity),
                "runs_from": table.runs_from,
                "rule": table.rule.key,
            }
            if table.rule.period_unit == PeriodUnit.DAYS:
                row["period_days"] = table.rule.period_value
            row["category"] = table.category
            row["source"] = table.source
            row["export"] = table.export_map
            row["erase"] = "delete" if table.erase_mode == EraseMode.DELETE else {"overwrite": dict(table.overwrite)}
            if table.kept_after_erasure:
                row["kept_after_erasure"] = True
            tables.append(row)
        entry["tables"] = tables
        systems.append(entry)
    return yaml.safe_dump({"systems": systems}, sort_keys=False, allow_unicode=True, default_flow_style=None)
