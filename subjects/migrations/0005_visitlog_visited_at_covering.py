"""The visit log's timestamp index carries the id (`INCLUDE (id)` on PostgreSQL, where it is built
on every month partition; a plain index on SQLite): the scheduled destruction reads the id bounds
of the due rows from the index alone. The new index is built before the old one is dropped, so
queries by time always have one. On PostgreSQL the build holds off writes to the visit log while
it runs (an index on a partitioned table cannot be built CONCURRENTLY): seconds per ten million
rows."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subjects", "0004_visitlog_partitions"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="visitlog",
            index=models.Index(fields=["visited_at"], include=("id",), name="visitlog_visited_at_id"),
        ),
        migrations.AlterField(
            model_name="visitlog",
            name="visited_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="visited at"),
        ),
    ]
