"""Connections to the declared systems, through SQLAlchemy Core (one library for every SQL
dialect, with reflection). No ORM: the remote tables are the company's, not ours.

Each use opens its own connection (NullPool): a run touches a system a few times a day, and a
dropped connection is never handed back out. Every connection has a connect timeout, and on
PostgreSQL a statement timeout, so a system that hangs fails its table's run instead of ours.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_SECONDS = 60


class DatastoreError(Exception):
    """The data map or a system refused something; the message is safe to show (no values)."""


class DatastoreDown(DatastoreError):
    """A system could not be reached, or the connection was lost."""


def safe_error(exc: BaseException) -> str:
    """The class and first line of a driver error: its later lines may quote row values."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    first_line = (str(exc).strip().splitlines() or [""])[0]
    # Drivers may echo the URL (with its password) in a connection error.
    first_line = re.sub(r"://[^@\s]+@", "://***@", first_line)
    return f"{type(exc).__name__}: {first_line}"[:300]


def _url(system) -> str:
    raw = os.environ.get(system.url_env, "").strip()
    if not raw:
        raise DatastoreDown(f"System {system.key}: the environment variable {system.url_env} is not set.")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise DatastoreError(f"System {system.key}: {system.url_env} does not hold a database URL.")
    scheme = scheme.lower()
    if system.kind == "postgresql":
        if scheme.split("+")[0] not in ("postgres", "postgresql"):
            raise DatastoreError(f"System {system.key} is declared PostgreSQL, but its URL is not.")
        return f"postgresql+psycopg://{rest}"
    if scheme.split("+")[0] not in ("mysql", "mariadb"):
        raise DatastoreError(f"System {system.key} is declared MySQL/MariaDB, but its URL is not.")
    return f"mysql+pymysql://{rest}"


def engine_for(system) -> Engine:
    url = _url(system)
    if system.kind == "postgresql":
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000}",
        }
    else:
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "read_timeout": STATEMENT_TIMEOUT_SECONDS,
            "write_timeout": STATEMENT_TIMEOUT_SECONDS,
            "charset": "utf8mb4",
        }
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)


@contextmanager
def connect(system) -> Iterator[Connection]:
    """A connection to `system`; a driver's connection error becomes DatastoreDown."""
    engine = engine_for(system)
    try:
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise DatastoreDown(f"System {system.key} could not be reached ({safe_error(exc)}).") from None
        with connection:
            yield connection
    finally:
        engine.dispose()


def is_connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, sa.exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    )


def reflect(connection: Connection, table_name: str, *, system_key: str = "") -> sa.Table:
    try:
        return sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    except sa.exc.NoSuchTableError:
        raise DatastoreError(f"System {system_key}: there is no table {table_name!r}.") from None


def table_names(connection: Connection) -> list[str]:
    return sorted(sa.inspect(connection).get_table_names())


def validate_columns(declared, table: sa.Table) -> None:
    """Every column the declaration names exists; the table has a one-column primary key (the
    keyset the destruction batches walk)."""
    names = set(table.c.keys())
    for column in sorted(declared.columns_named()):
        if column not in names:
            raise DatastoreError(f"Table {declared.label} has no column {column!r}.")
    if len(table.primary_key.columns) != 1:
        raise DatastoreError(
            f"Table {declared.label} needs a one-column primary key: destruction walks it in keyset batches."
        )
    runs_from = table.c[declared.runs_from]
    if not isinstance(runs_from.type, sa.DateTime | sa.Date):
        raise DatastoreError(f"Table {declared.label}: column {declared.runs_from!r} is not a date or timestamp.")


def check_table(declared) -> None:
    """Reflect the real table and check the declaration against it (the data map's validation)."""
    with connect(declared.system) as connection:
        validate_columns(declared, reflect(connection, declared.table, system_key=declared.system.key))


# --- identities ---------------------------------------------------------------------------------


def digits_only(connection: Connection, column):
    if connection.dialect.name == "postgresql":
        return sa.func.regexp_replace(column, "[^0-9]", "", "g")
    return sa.func.regexp_replace(column, "[^0-9]", "")


def phone_variants(phone: str) -> set[str]:
    """A Korean number in the spellings a remote column may hold, digits only: 01012345678 and 821012345678."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return set()
    if digits.startswith("82"):
        local = "0" + digits[2:]
    else:
        local = digits
    variants = {digits, local}
    if local.startswith("0"):
        variants.add("82" + local[1:])
    return variants


def identity_condition(connection: Connection, declared, table: sa.Table, identities: dict):
    """The rows of `table` that belong to anyone in `identities` ({"email": set, "phone": set of
    digit strings, "customer_key": set}), matched on normalised values; false when none."""
    conditions = []
    email_col = declared.identity.get("email")
    if email_col and identities.get("email"):
        conditions.append(sa.func.lower(sa.func.trim(table.c[email_col])).in_(sorted(identities["email"])))
    phone_col = declared.identity.get("phone")
    if phone_col and identities.get("phone"):
        conditions.append(digits_only(connection, table.c[phone_col]).in_(sorted(identities["phone"])))
    key_col = declared.identity.get("customer_key")
    if key_col and identities.get("customer_key"):
        conditions.append(sa.cast(table.c[key_col], sa.String(200)).in_(sorted(identities["customer_key"])))
    return sa.or_(*conditions) if conditions else sa.false()


def remote_cutoff(system, column, cutoff: datetime):
    """The frozen cutoff as the remote column compares it: aware for timestamptz, local wall time in
    the system's zone for naive timestamps, a date for date columns."""
    if isinstance(column.type, sa.DateTime):
        if column.type.timezone:
            return cutoff.astimezone(UTC)
        return cutoff.astimezone(ZoneInfo(system.naive_timezone or "UTC")).replace(tzinfo=None)
    return cutoff.astimezone(ZoneInfo(system.naive_timezone or "UTC")).date()


def from_remote_time(system, value):
    """A remote timestamp as an aware datetime (naive ones read in the system's zone)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(system.naive_timezone or "UTC"))
    return value
