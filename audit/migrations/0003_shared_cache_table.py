"""The table of the default cache (privacyops.lib.cache): rate limits counted across processes.

Created whatever CACHES says at migration time, so that unsetting CACHE_URL later (Redis back to
the default) finds its table; `createcachetable` would skip a cache that is not configured.
"""

from django.core.management import call_command
from django.db import migrations

# privacyops.lib.cache.TABLE, frozen here as migrations are.
TABLE = "privacyops_cache"


def create_cache_table(apps, schema_editor):
    # Skips a table that exists (createcachetable was run by hand, or a test database has it).
    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_access_log_rights_log_reviews"),
    ]

    operations = [
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
