"""`manage.py check --database default` (and `migrate`) fail when a registered model names a
retention rule that no active rule carries: its rows would never be destroyed.

A database check (tag `database`), as Django's own are: a plain `manage.py check` needs no
database and skips it. It also says nothing while the database has no rules table or has
migrations to apply, since the rules are seeded by migrations: `migrate` must be able to run
to fix exactly this.
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from subjects.registry import registry

from .models import RetentionRule


def _is_migrated(alias: str) -> bool:
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    return not executor.migration_plan(executor.loader.graph.leaf_nodes())


@checks.register(checks.Tags.database)
def check_rule_keys_have_active_rules(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for alias in databases or ():
        try:
            if not _is_migrated(alias):
                continue
            active = set(RetentionRule.objects.using(alias).filter(active=True).values_list("key", flat=True))
        except DatabaseError:  # no database to reach, or no tables yet
            continue
        for key in sorted(registry.rule_keys() - active):
            models = ", ".join(entry.label for entry, _ in registry.bindings_for_rule(key))
            errors.append(
                checks.Error(
                    f"The retention rule {key!r} named by {models} has no active rule in database {alias!r}: "
                    "those rows would never be destroyed.",
                    hint="Seed the rule in a retention data migration, or activate it in the admin.",
                    id="retention.E001",
                )
            )
    return errors
