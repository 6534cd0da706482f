"""The default cache: a table in the project's database, shared by every process, whose counts
are atomic, so the rate limits (`count_attempt`, below: one INSERT ... ON CONFLICT DO UPDATE with
this cache, `cache.add` then `cache.incr` with Redis) hold however many web processes (or
machines) serve the site.

Django's DatabaseCache inherits `incr` from BaseCache, which is a `get` followed by a `set`: two
processes that read 4 at the same moment both write 5, and one request goes uncounted. Here the
read and the write happen in one transaction that first takes the row's lock (SELECT ... FOR
UPDATE on PostgreSQL) or the database's write lock (SQLite), so concurrent increments queue
instead of overwriting each other.
`add` is one INSERT ... ON CONFLICT statement. The table is created by audit's migration 0003
(`manage.py migrate` is enough); on PostgreSQL it is unlogged (0007): counters need no WAL, so a
count does not wait for a WAL flush, and after a crash the table starts empty.

The system check below warns when the configured cache cannot count across processes.
"""

from __future__ import annotations

import base64
import pickle
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import checks
from django.core.cache import cache, caches
from django.core.cache.backends import db
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.db import connections, router, transaction
from django.utils.timezone import now as tz_now

TABLE = "privacyops_cache"

# Shared by every process, with an increment that cannot lose a count.
SHARED_ATOMIC_BACKENDS = {
    "privacyops.lib.cache.DatabaseCache",
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
}
# Kept in (or absent from) each process: N web workers accept N times a limit.
PER_PROCESS_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


# Expired rows are deleted by `add` at most this often in each process.
SWEEP_SECONDS = 60
_next_sweep = 0.0


class DatabaseCache(db.DatabaseCache):
    def _where(self):
        """The database alias and connection the cache writes to, and its table's quoted names
        (table, cache_key, value, expires)."""
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        quote = connection.ops.quote_name
        return alias, connection, tuple(quote(name) for name in (self._table, "cache_key", "value", "expires"))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """Stored when the key is absent or expired; of two processes adding at once exactly one
        stores. Django's add counts the whole table first (to cull it) and then reads the key in a
        transaction; here a live key costs two reads and a new one a single INSERT."""
        key = self.make_and_validate_key(key, version=version)
        alias, connection, (table, cache_key, value_, expires) = self._where()
        adapt = connection.ops.adapt_datetimefield_value
        timeout = self.get_backend_timeout(timeout)
        now = adapt(tz_now().replace(microsecond=0))
        until = adapt(
            (datetime.max if timeout is None else datetime.fromtimestamp(timeout, tz=UTC)).replace(microsecond=0)
        )
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode()
        # Quoted names from settings; every value is a parameter.
        insert = (
            f"INSERT INTO {table} ({cache_key}, {value_}, {expires}) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT ({cache_key}) DO NOTHING"
        )
        # A live key matches nothing, so is neither locked nor written.
        replace_expired = f"UPDATE {table} SET {value_} = %s, {expires} = %s WHERE {cache_key} = %s AND {expires} < %s"  # noqa: S608
        with connection.cursor() as cursor:
            _sweep(cursor, table, expires, now)
            cursor.execute(insert, [key, encoded, until])
            if cursor.rowcount == 1:
                return True
            cursor.execute(replace_expired, [encoded, until, key, now])
            return cursor.rowcount == 1

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        alias, connection, (table, cache_key, value, expires) = self._where()
        now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0, tzinfo=None))
        # Quoted names from settings; every value is a parameter.
        read = f"SELECT {value} FROM {table} WHERE {cache_key} = %s AND {expires} > %s"  # noqa: S608
        lock = f"UPDATE {table} SET {expires} = {expires} WHERE {cache_key} = %s"  # noqa: S608
        write = f"UPDATE {table} SET {value} = %s WHERE {cache_key} = %s"  # noqa: S608
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            # The lock is taken before the read, so a second process waits and then reads our value.
            if connection.features.has_select_for_update:
                cursor.execute(f"{read} FOR UPDATE", [key, now])
            else:
                # SQLite has no row locks: a write that changes nothing takes the database's.
                cursor.execute(lock, [key])
                cursor.execute(read, [key, now])
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            new_value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301 (our own table)
            cursor.execute(write, [base64.b64encode(pickle.dumps(new_value, self.pickle_protocol)).decode(), key])
        return new_value

    def count(self, key, *, timeout: int) -> int:
        """One more attempt under `key`, returned with this one included, in one statement: an
        INSERT ... ON CONFLICT DO UPDATE that starts the count at 1 (a new or expired entry, which
        then lives `timeout` seconds) or adds 1, atomic across processes (the row's lock on
        PostgreSQL, the database's on SQLite). `add` then `incr` took four statements and a
        transaction. The count is stored as plain digits, not pickled, under its own prefix ("n:"),
        so no entry that `add` wrote (pickled) is ever read as a number; such a key is for `count`
        only."""
        key = self.make_and_validate_key(f"n:{key}")
        alias, connection, (table, cache_key, value, expires) = self._where()
        adapt = connection.ops.adapt_datetimefield_value
        moment = tz_now().replace(microsecond=0)
        now, until = adapt(moment), adapt(moment + timedelta(seconds=timeout))
        expired = f"{table}.{expires} < %s"
        # Quoted names from settings; every value is a parameter.
        upsert = (
            f"INSERT INTO {table} ({cache_key}, {value}, {expires}) VALUES (%s, '1', %s) "  # noqa: S608
            f"ON CONFLICT ({cache_key}) DO UPDATE SET "
            f"{value} = CASE WHEN {expired} THEN '1' ELSE CAST(CAST({table}.{value} AS INTEGER) + 1 AS TEXT) END, "
            f"{expires} = CASE WHEN {expired} THEN excluded.{expires} ELSE {table}.{expires} END "
            f"RETURNING {value}"
        )
        with connection.cursor() as cursor:
            _sweep(cursor, table, expires, now)
            cursor.execute(upsert, [key, until, now, now])
            return int(cursor.fetchone()[0])


def _sweep(cursor, table: str, expires: str, now) -> None:
    """Delete the expired rows, at most once every SWEEP_SECONDS in this process."""
    global _next_sweep
    if time.monotonic() >= _next_sweep:
        _next_sweep = time.monotonic() + SWEEP_SECONDS
        cursor.execute(f"DELETE FROM {table} WHERE {expires} < %s", [now])  # noqa: S608


def count_attempt(key: str, *, timeout: int) -> int:
    """Count one attempt under `key` in the default cache and return the count, this one included:
    one statement with this module's cache (`DatabaseCache.count`); elsewhere the first of a window
    is one write and a later one an increment, atomic across processes with Redis."""
    backend = caches["default"]
    if isinstance(backend, DatabaseCache):
        return backend.count(key, timeout=timeout)
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired or evicted between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_cache(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in PER_PROCESS_BACKENDS:
        return [
            checks.Warning(
                f"The cache ({backend}) is kept in each process: the rate limits of the request form and of "
                "the cookie-choice API are counted per web worker, so N workers accept N times each limit.",
                hint="Unset CACHE_URL (the default is a table in the database, shared by every process) "
                "or point it at Redis (CACHE_URL=redis://host:6379/1).",
                id="privacyops.W001",
            )
        ]
    if backend not in SHARED_ATOMIC_BACKENDS:
        return [
            checks.Warning(
                f"The cache ({backend}) increments a counter by reading it and writing it back: concurrent "
                "requests can be counted once, and rate limits let more through than configured.",
                hint="Unset CACHE_URL (the default database cache counts atomically) or point it at Redis.",
                id="privacyops.W002",
            )
        ]
    return []
