"""On PostgreSQL the visit log becomes a table PARTITIONED BY RANGE (visited_at): one partition per
UTC month (subjects_visitlog_pYYYYMM) from the oldest visit's month to three months ahead, and a
DEFAULT partition for strays (subjects/partitions.py). The rows are copied into the new table in
this migration, the id sequence carries on from the highest id. The primary key becomes
(id, visited_at) in SQL (PostgreSQL requires the partition key in every unique index; nothing has
a foreign key to VisitLog); the external_ref unique index becomes (external_ref, visited_at) and
the write path keeps a reference unique across months (subjects.partitions.lock_refs).

SQLite (and any other database) keeps the plain table: both directions do nothing there. The
model state does not change, so no Django operation is involved."""

from datetime import UTC, datetime, timedelta

from django.db import migrations

TABLE = "subjects_visitlog"
OLD = "subjects_visitlog_unpartitioned"
REF_INDEX = "visitlog_external_ref_unique"


def _month(moment):
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next(start):
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def _rebuild(cursor, *, partitioned):
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [OLD])
    indexes = [(name, sql) for name, sql in cursor.fetchall() if name != f"{TABLE}_pkey"]
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [OLD])
    foreign_keys = cursor.fetchall()
    cursor.execute(f"SELECT pg_get_serial_sequence('{OLD}', 'id')")
    old_sequence = cursor.fetchone()[0]
    tail = " PARTITION BY RANGE (visited_at)" if partitioned else ""
    cursor.execute(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING STORAGE){tail}"
    )
    if partitioned:
        cursor.execute(f"SELECT MIN(visited_at) FROM {OLD}")
        oldest = cursor.fetchone()[0]
        now = datetime.now(UTC)
        start, last = _month(min(oldest or now, now)), _month(now + timedelta(days=31 * 3))
        while start <= last:
            cursor.execute(
                f"CREATE TABLE {TABLE}_p{start:%Y%m} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)", [start, _next(start)]
            )
            start = _next(start)
        cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")  # noqa: S608
    cursor.execute(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')")
    new_sequence = cursor.fetchone()[0]
    cursor.execute(f"SELECT setval(%s, COALESCE(MAX(id), 0) + 1, false) FROM {TABLE}", [new_sequence])  # noqa: S608
    cursor.execute(f"DROP TABLE {OLD}")
    if old_sequence and new_sequence != old_sequence:
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {old_sequence.split('.')[-1]}")
    key = "id, visited_at" if partitioned else "id"
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY ({key})")
    for name, sql in indexes:
        if name == REF_INDEX:
            columns = "external_ref, visited_at" if partitioned else "external_ref"
            cursor.execute(f"CREATE UNIQUE INDEX {REF_INDEX} ON {TABLE} ({columns}) WHERE external_ref <> ''")
        else:
            cursor.execute(sql.replace(f" ON {OLD} ", f" ON {TABLE} ").replace(f".{OLD} ", f".{TABLE} "))
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            _rebuild(cursor, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            _rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):

    dependencies = [
        ("subjects", "0003_visit_external_ref"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
