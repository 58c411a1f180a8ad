"""Throwaway PostgreSQL and Redis servers for the scale-out tests.

Each starts once per test session on a free loopback port in a temporary folder and
is torn down at the end; tests get a fresh database (``CREATE DATABASE``) or a flushed
Redis. Debian installs PostgreSQL's ``initdb``/``pg_ctl`` outside PATH, so they are
looked up in ``/usr/lib/postgresql/*/bin`` too. PostgreSQL refuses to run as root, so
as root the cluster belongs to the ``postgres`` user (``nobody`` where that is
missing). A missing server skips the test locally and fails it in CI.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.tools import free_port, require_capability, wait_until

#: The session time zone of the test cluster: not UTC, so a timestamp that goes
#: through the server's zone instead of UTC shows up as a wrong hour.
CLUSTER_TIMEZONE = "Europe/Berlin"


def find_postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _cluster_owner() -> str | None:
    """The user to run PostgreSQL as: ourselves, or an unprivileged one as root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


class PostgresServer:
    """A PostgreSQL cluster of its own: trust authentication, loopback only, no fsync."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.owner = _cluster_owner()
        self.folder = Path(tempfile.mkdtemp(prefix="immoshare-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        if self.owner is not None:
            shutil.chown(self.folder, user=self.owner)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "immoshare",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections=300 -c timezone={CLUSTER_TIMEZONE}"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.admin_url = self.url_for("postgres")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(
            command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.folder
        )

    def url_for(self, database: str) -> str:
        return f"postgresql://immoshare@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg2

        connection = psycopg2.connect(self.admin_url)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        name = f"test_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence."""

    def __init__(self, executable: str):
        import redis

        self.folder = Path(tempfile.mkdtemp(prefix="immoshare-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            assert self.proc.poll() is None, "redis-server exited at start"
            try:
                return self.client.ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, message="redis-server never answered")

    def flush(self) -> None:
        self.client.flushall()

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(15)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL cluster for the whole session."""
    bindir = find_postgres_bin()
    if bindir is None:
        require_capability(
            "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
        )
    server = PostgresServer(bindir)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """URL of a fresh PostgreSQL database, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def redis_server():
    """One Redis server for the whole session."""
    executable = shutil.which("redis-server")
    if executable is None:
        require_capability(
            "redis-server is not installed (Debian package redis-server; .ci/run installs it)"
        )
    server = RedisServer(executable)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """URL of the session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url
