"""The stand-in company databases for the datastores tests: a second PostgreSQL database on the
test server and a MariaDB server (the one MARIADB_URL names, else a throwaway mariadbd started
here). Real servers, no mocks of the database layer."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from django.conf import settings

MARIADBD = shutil.which("mariadbd") or ("/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None)
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")


def website_pg_url() -> str:
    """WEBSITE_TEST_PG_URL, else a database named <app db>_website on the app's PostgreSQL server
    (or on 127.0.0.1:5432 when the app runs on SQLite)."""
    if os.environ.get("WEBSITE_TEST_PG_URL"):
        return os.environ["WEBSITE_TEST_PG_URL"]
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        name = db["NAME"]
        name = name[5:] if name.startswith("test_") else name
        host, port, user = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432, db.get("USER") or "postgres"
        return f"postgresql://{user}@{host}:{port}/{name}_website"
    return "postgresql://postgres@127.0.0.1:5432/privacyops_website"


def ensure_pg_database(url: str) -> None:
    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    name = parts.path.lstrip("/")
    admin = urlunsplit(("postgresql+psycopg", parts.netloc, "/postgres", "", ""))
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayMariaDB:
    """A private mariadbd under a temporary folder, on a free port, without grant tables."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="privacyops-mariadb-"))
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        if not MARIADBD or not INSTALL_DB:
            raise RuntimeError("mariadb-server is not installed (mariadbd / mariadb-install-db not found)")
        data = self.folder / "data"
        as_root = ["--user=root"] if os.getuid() == 0 else []
        subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *as_root,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self.folder / 'mysqld.sock'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                f"--pid-file={self.folder / 'mysqld.pid'}",
                *as_root,
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "error.log", "wb"),
        )
        url = f"mysql://root@127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("mariadbd exited: " + (self.folder / "error.log").read_text()[-500:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return url
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("mariadbd did not start within 60 seconds")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def ensure_mysql_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    engine = sa.create_engine(
        urlunsplit(("mysql+pymysql", parts.netloc, "/", "", "")), connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"))
    finally:
        engine.dispose()
    return urlunsplit(("mysql", parts.netloc, f"/{name}", "", ""))


def sa_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if scheme.startswith("postgres"):
        return f"postgresql+psycopg://{rest}"
    return f"mysql+pymysql://{rest}"
