"""The default cache: a table in the project's database, shared by every process, whose `incr` is
atomic, so rate limits counted with `cache.add(key, 0)` + `cache.incr(key)` hold however many web
processes (or machines) serve the site.

Django's DatabaseCache inherits `incr` from BaseCache, which is a `get` followed by a `set`: two
processes that read 4 at the same moment both write 5, and one request goes uncounted. Here the
read and the write happen in one transaction that first takes the row's lock (PostgreSQL) or the
database's write lock (SQLite), so concurrent increments queue instead of overwriting each other.
Its `add` is already safe: the insert of a second process fails on the primary key and returns
False. The table is created by audit's migration 0003 (`manage.py migrate` is enough).

The system check below warns when the configured cache cannot count across processes.
"""

from __future__ import annotations

import base64
import pickle

from django.conf import settings
from django.core import checks
from django.core.cache.backends import db
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


class DatabaseCache(db.DatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        quote = connection.ops.quote_name
        table, cache_key, value, expires = (quote(name) for name in (self._table, "cache_key", "value", "expires"))
        now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0, tzinfo=None))
        # Quoted names from settings; every value is a parameter.
        lock = f"UPDATE {table} SET {expires} = {expires} WHERE {cache_key} = %s AND {expires} > %s"  # noqa: S608
        read = f"SELECT {value} FROM {table} WHERE {cache_key} = %s"  # noqa: S608
        write = f"UPDATE {table} SET {value} = %s WHERE {cache_key} = %s"  # noqa: S608
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            # A write that changes nothing, only to take the lock before the read: SELECT ... FOR
            # UPDATE would do on PostgreSQL, but SQLite has no row locks and this works on both.
            cursor.execute(lock, [key, now])
            if cursor.rowcount != 1:
                raise ValueError(f"Key '{key}' not found")
            cursor.execute(read, [key])
            stored = connection.ops.process_clob(cursor.fetchone()[0])
            new_value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301 (our own table)
            cursor.execute(write, [base64.b64encode(pickle.dumps(new_value, self.pickle_protocol)).decode(), key])
        return new_value


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
