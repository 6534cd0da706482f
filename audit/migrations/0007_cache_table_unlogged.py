"""The default cache's table (privacyops.lib.cache) unlogged on PostgreSQL: its rows are rate-limit
counters that live an hour at most, so they need no WAL. A write to it then neither writes WAL
nor waits for a WAL flush at commit (two of them on every request-form submission); after a
crash PostgreSQL empties the table, and the counts start again from zero, which at worst lets one
window's worth of attempts through again. Nothing on SQLite."""

from django.db import migrations

# privacyops.lib.cache.TABLE, frozen here as migrations are.
TABLE = "privacyops_cache"


def set_unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(TABLE)} SET UNLOGGED")


def set_logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(TABLE)} SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_job_run"),
    ]

    operations = [
        migrations.RunPython(set_unlogged, set_logged),
    ]
