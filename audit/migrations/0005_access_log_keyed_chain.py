"""The access log's chain becomes keyed, and PostgreSQL refuses changes to the logs below the ORM.

1. The chain head gets a signed purge marker (`purged_at`, `purged_mac`).
2. Re-chain, once, at deploy: every row chained under the old unkeyed SHA-256 is first checked
   under that scheme, then given its HMAC-SHA256 under ACCESS_LOG_CHAIN_KEY (the key must be set
   for this `migrate`, as for the running product). One scheme afterwards, so there is no older,
   weaker scheme a forger could pass rows off under. A log whose SHA-256 chain is already broken
   is not re-chained (that would hide the damage): the migration stops and lists the problems;
   after keeping that list as evidence, `ACCESS_LOG_RECHAIN_BROKEN=yes manage.py migrate`
   re-chains it as it is (gaps stay visible; edits made before this point no longer are).
3. On PostgreSQL, triggers refuse UPDATE and DELETE on the access log, its subjects and the
   access-rights log, except DELETE of rows older than their legal period (the retention path),
   and refuse moving the chain head back or deleting it. Nothing on SQLite.

The payload and the old hash are frozen here, as migrations are (audit.models.chain_hash).
"""

import hashlib
import hmac
import json
import os
from datetime import UTC

from django.conf import settings
from django.db import migrations, models

GENESIS_HASH = "0" * 64
BATCH = 2000
# The legal floors (SA-06b: 2 years; SA-02c: 3 years), as AUDIT_*_RETENTION_DAYS. A longer period
# in the settings is still enforced by the models; the database refuses anything shorter.
ACCESS_LOG_KEEP_DAYS = 731
RIGHTS_LOG_KEEP_DAYS = 1096


def _payload(row, subject_ids, prev_hash) -> str:
    payload = {
        "seq": row["seq"],
        "at": row["at"].astimezone(UTC).isoformat(),
        "user_id": row["user_id"],
        "username": row["username"],
        "ip": row["ip"],
        "action": row["action"],
        "object_repr": row["object_repr"],
        "reason": row["reason"],
        "path": row["path"],
        "subject_ids": sorted(subject_ids),
        "prev_hash": prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _sha256(message: str) -> str:
    return hashlib.sha256(message.encode()).hexdigest()


def _hmac(message: str) -> str:
    return hmac.new(settings.ACCESS_LOG_CHAIN_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def _rechain(apps, schema_editor, *, old, new, check: bool) -> None:
    AccessLog = apps.get_model("audit", "AccessLog")
    AccessLogSubject = apps.get_model("audit", "AccessLogSubject")
    AccessLogChainHead = apps.get_model("audit", "AccessLogChainHead")
    db = schema_editor.connection.alias
    head = AccessLogChainHead.objects.using(db).filter(pk=1).first()
    if head is None:
        return
    problems = []
    expected_prev = head.purged_hash
    expected_seq = head.purged_through_seq + 1
    new_prev = head.purged_hash
    fields = ("id", "seq", "at", "user_id", "username", "ip", "action", "object_repr", "reason", "path")
    after = 0
    last_seq, last_old, last_new = head.purged_through_seq, head.purged_hash, head.purged_hash
    table = schema_editor.quote_name(AccessLog._meta.db_table)
    while True:
        rows = list(
            AccessLog.objects.using(db)
            .filter(seq__gt=after)
            .order_by("seq")
            .values(*fields, "prev_hash", "hash")[:BATCH]
        )
        if not rows:
            break
        subjects = {row["id"]: [] for row in rows}
        for log_id, subject_id in (
            AccessLogSubject.objects.using(db).filter(log_id__in=subjects).values_list("log_id", "subject_id")
        ):
            subjects[log_id].append(subject_id)
        updates = []
        for row in rows:
            if row["seq"] != expected_seq:
                problems.append(f"row #{row['seq']}: expected #{expected_seq} (rows missing or inserted)")
            if old(_payload(row, subjects[row["id"]], row["prev_hash"])) != row["hash"]:
                problems.append(f"row #{row['seq']} does not match its hash")
            if row["prev_hash"] != expected_prev:
                problems.append(f"row #{row['seq']} does not follow the row before it")
            mac = new(_payload(row, subjects[row["id"]], new_prev))
            updates.append((new_prev, mac, row["id"]))
            expected_prev, expected_seq = row["hash"], row["seq"] + 1
            new_prev = mac
            last_seq, last_old, last_new = row["seq"], row["hash"], mac
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s", updates)  # noqa: S608
        after = rows[-1]["seq"]
    if (head.last_seq, head.last_hash) != (last_seq, last_old):
        problems.append(f"the chain head (#{head.last_seq}) does not match the last row (#{last_seq})")
    if check and problems and os.environ.get("ACCESS_LOG_RECHAIN_BROKEN", "").lower() != "yes":
        listed = "\n  ".join(problems[:50])
        raise RuntimeError(
            "The access log's SHA-256 chain is broken, so it is not re-chained under the key (that would "
            f"hide the damage). {len(problems)} problem(s):\n  {listed}\nKeep this list as evidence; "
            "ACCESS_LOG_RECHAIN_BROKEN=yes manage.py migrate re-chains the log as it is."
        )
    if problems:
        print(f"\n  access log re-chained with {len(problems)} problem(s) of the old chain: {problems[:20]}")
    if head.last_seq == last_seq:
        head.last_hash = last_new
    head.purged_at = None
    head.purged_mac = ""
    if head.purged_through_seq and new is _hmac:
        # A purge made before the chain was keyed: signed as it was, with no time (not checkable).
        head.purged_mac = _hmac(f"purge|{head.purged_through_seq}|{head.purged_hash}|")
    head.save()


def rechain_with_key(apps, schema_editor):
    _rechain(apps, schema_editor, old=_sha256, new=_hmac, check=True)


def rechain_without_key(apps, schema_editor):
    _rechain(apps, schema_editor, old=_hmac, new=_sha256, check=False)


TRIGGERS_SQL = f"""
CREATE OR REPLACE FUNCTION audit_refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_days integer := TG_ARGV[0]::integer;
    row_at timestamptz;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION '% is append-only: rows cannot be changed', TG_TABLE_NAME;
    END IF;
    IF TG_TABLE_NAME = 'audit_accesslogsubject' THEN
        SELECT at INTO row_at FROM audit_accesslog WHERE id = OLD.log_id;
    ELSE
        row_at := OLD.at;
    END IF;
    -- The retention path: only rows past their period go. now() is the database's clock, which a
    -- session cannot move; a session variable would be no guard, anyone with SQL can set one.
    IF row_at IS NULL OR row_at >= now() - make_interval(days => keep_days) THEN
        RAISE EXCEPTION '% rows are kept % days: younger rows cannot be deleted', TG_TABLE_NAME, keep_days;
    END IF;
    RETURN OLD;
END
$$;

CREATE OR REPLACE FUNCTION audit_refuse_chain_head_rewind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.last_seq < OLD.last_seq
            OR NEW.purged_through_seq < OLD.purged_through_seq THEN
        RAISE EXCEPTION 'the access log chain head only moves forward';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_accesslog_append_only BEFORE UPDATE OR DELETE ON audit_accesslog
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_log_change({ACCESS_LOG_KEEP_DAYS});
CREATE TRIGGER audit_accesslogsubject_append_only BEFORE UPDATE OR DELETE ON audit_accesslogsubject
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_log_change({ACCESS_LOG_KEEP_DAYS});
CREATE TRIGGER audit_accessrightslog_append_only BEFORE UPDATE OR DELETE ON audit_accessrightslog
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_log_change({RIGHTS_LOG_KEEP_DAYS});
CREATE TRIGGER audit_accesslogchainhead_forward_only BEFORE UPDATE OR DELETE ON audit_accesslogchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_chain_head_rewind();
"""

DROP_TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS audit_accesslog_append_only ON audit_accesslog;
DROP TRIGGER IF EXISTS audit_accesslogsubject_append_only ON audit_accesslogsubject;
DROP TRIGGER IF EXISTS audit_accessrightslog_append_only ON audit_accessrightslog;
DROP TRIGGER IF EXISTS audit_accesslogchainhead_forward_only ON audit_accesslogchainhead;
DROP FUNCTION IF EXISTS audit_refuse_log_change();
DROP FUNCTION IF EXISTS audit_refuse_chain_head_rewind();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS_SQL, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_approval"),
    ]

    operations = [
        migrations.AddField(
            model_name="accesslogchainhead",
            name="purged_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="accesslogchainhead",
            name="purged_mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(rechain_with_key, rechain_without_key),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
