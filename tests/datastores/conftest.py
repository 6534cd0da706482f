"""Two stand-in company databases with a seeded `members` table: PostgreSQL (a second database on
the test server) and MariaDB. Each test that asks for `remote` runs once against each."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.dsar.conftest import (  # noqa: F401  (the request-workflow fixtures)
    _eager_tasks,
    _english_messages,
    _private_storage,
    approve,
    committed,
    submit,
    verified,
)

from . import servers

EXAMPLE_MAP = """
systems:
  - key: website
    name: Website members
    kind: {kind}
    url_env: WEBSITE_DATABASE_URL
    tables:
      - table: members
        identity: {{email: email, phone: mobile}}
        runs_from: last_login_at
        rule: website_members   # a RetentionRule key; created with period_days when absent
        period_days: 365
        category: identity_contact
        export: {{email: Email, name: Name, last_login_at: Last sign-in}}
        erase: delete           # or {{overwrite: {{name: "", mobile: null}}}}
"""

ORDERS_TABLE = """\
      - table: orders
        identity: {email: buyer_email}
        runs_from: placed_at
        rule: website_members
        category: customer_service
        export: {buyer_email: Email, placed_at: Ordered on}
"""


@pytest.fixture(scope="session")
def website_pg_url():
    url = servers.website_pg_url()
    try:
        servers.ensure_pg_database(url)
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server for the website stand-in database: {type(exc).__name__}")
    return url


@pytest.fixture(scope="session")
def mariadb_url():
    server = os.environ.get("MARIADB_URL")
    throwaway = None
    if not server:
        throwaway = servers.ThrowawayMariaDB()
        try:
            server = throwaway.start()
        except (RuntimeError, OSError) as exc:
            throwaway.stop()
            if os.environ.get("CI"):
                raise
            pytest.skip(f"MariaDB could not be started here ({exc}); CI starts one (.ci/run)")
    yield servers.ensure_mysql_database(server, "privacyops_website")
    if throwaway is not None:
        throwaway.stop()


@pytest.fixture(params=["postgresql", "mysql"])
def remote(request, monkeypatch):
    """The website database of this run's kind, its URL in WEBSITE_DATABASE_URL, with an empty
    `members` table; `remote.add(...)` seeds rows, `remote.rows()` reads them back."""
    url = request.getfixturevalue("website_pg_url" if request.param == "postgresql" else "mariadb_url")
    monkeypatch.setenv("WEBSITE_DATABASE_URL", url)
    remote = Remote(request.param, url)
    request.addfinalizer(remote.dispose)
    return remote


class Remote:
    def __init__(self, kind: str, url: str):
        self.kind = kind
        self.url = url
        self.engine = sa.create_engine(servers.sa_url(url))
        self.metadata = sa.MetaData()
        self.members = sa.Table(
            "members",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("email", sa.String(254)),
            sa.Column("name", sa.String(100)),
            sa.Column("mobile", sa.String(40)),
            sa.Column("last_login_at", sa.DateTime(timezone=(kind == "postgresql"))),
        )
        self.reset()

    @property
    def map_text(self) -> str:
        return EXAMPLE_MAP.format(kind=self.kind)

    def reset(self) -> None:
        with self.engine.begin() as connection:
            for name in ("order_lines", "members", "orders"):
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
            self.metadata.create_all(connection)

    def add_orders(self, values: str) -> str:
        """A second table, `orders` (rows as SQL VALUES), and the data map declaring it after
        `members` under the same rule: the text to load."""
        self.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, buyer_email VARCHAR(200), placed_at DATE)")
        self.execute(f"INSERT INTO orders VALUES {values}")
        return self.map_text + ORDERS_TABLE

    def execute(self, sql: str, **params):
        with self.engine.begin() as connection:
            return connection.execute(sa.text(sql), params)

    def add(self, *, email=None, name="", mobile=None, days_ago: float = 1) -> int:
        at = datetime.now(UTC) - timedelta(days=days_ago)
        if self.kind != "postgresql":
            at = at.replace(tzinfo=None)  # naive timestamps, read as UTC (the system's default)
        with self.engine.begin() as connection:
            result = connection.execute(
                sa.insert(self.members).values(email=email, name=name, mobile=mobile, last_login_at=at)
            )
            return result.inserted_primary_key[0]

    def emails(self) -> list[str | None]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(self.members.c.email).order_by(self.members.c.id)).scalars())

    def dispose(self):
        self.engine.dispose()
