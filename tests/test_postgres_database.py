"""immoshare on PostgreSQL: setting up, time stamps, and the connection pool.

The test cluster runs in the Europe/Berlin time zone on purpose: a moment that went
through the server's zone instead of UTC would come back an hour or two off.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading

import pytest
import requests
from click.testing import CliRunner

from gateway import migrations
from gateway.cli import cli as immoshare_cli
from gateway.clock import utc_now
from gateway.db import database, open_database
from gateway.models import Grant
from gateway.services import grants
from tests.factories import make_contact, make_grant, make_property

pytestmark = [pytest.mark.postgres]

BIG = bytes(range(256)) * 16 * 1024  # 4 MiB: far more than the socket buffers hold


def test_init_with_the_database_url_in_the_environment_creates_the_schema(tmp_path, postgres_url):
    home = tmp_path / "home"
    env = {"IMMOSHARE_DATABASE_URL": postgres_url}
    result = CliRunner().invoke(immoshare_cli, ["--home", str(home), "init"], env=env)
    assert result.exit_code == 0, result.output
    assert not (home / "immoshare.db").exists()
    result = CliRunner().invoke(
        immoshare_cli,
        ["--home", str(home), "property", "add", "obj-1", "--title", "Musterstraße 5"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    with database.connection_context():
        tables = set(database.get_tables())
        assert {"property", "grant", "access_event", "_migrations"} <= tables
        assert database.execute_sql("SELECT key FROM property").fetchall() == [("obj-1",)]


def test_nodes_running_init_at_once_apply_each_migration_once(tmp_path, postgres_url):
    """Every node of a deployment runs ``init`` on start (the systemd unit does)."""
    env = {**os.environ, "IMMOSHARE_DATABASE_URL": postgres_url}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "--home", str(tmp_path / f"n{i}"), "init"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(4)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, outputs
    open_database(postgres_url)
    with database.connection_context():
        names = [m.name for m in migrations.AppliedMigration.select()]
        assert sorted(names) == sorted(name for name, _ in migrations.MIGRATIONS)


@pytest.fixture
def database_url(postgres_url):
    # A pool of 4 connections that a request waits for at most 20 s.
    return postgres_url + "?max_connections=4&timeout=20"


def test_times_are_stored_and_read_back_as_utc(config):
    make_property(config, "obj-1")
    make_contact("4711")
    make_grant(config, "obj-1", "4711")
    before = utc_now()
    grants.revoke_access("obj-1", "4711")
    after = utc_now()
    with database.connection_context():
        revoked = Grant.get().revoked_at
        stored = database.execute_sql('SELECT revoked_at FROM "grant"').fetchone()[0]
    assert revoked.tzinfo is not None and revoked.utcoffset() == datetime.timedelta(0)
    assert before <= revoked <= after
    assert stored == revoked  # the wall time in the column is UTC


def test_streaming_downloads_hold_no_database_connection(server, config):
    """Forty downloads stalled mid-body (the clients stop reading) do not exhaust a
    pool of four: a worker hands its connection back once the body streams."""
    make_property(config, "obj-1", files={"big.pdf": BIG, "small.pdf": b"%PDF small"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    contact = (granted.username, granted.password)

    stalled = []
    lock = threading.Lock()

    def start_download():
        r = requests.get(server.url + "/view/obj-1/big.pdf", auth=contact, stream=True)
        assert r.status_code == 200
        first = r.raw.read(1024)
        with lock:
            stalled.append((r, first))

    starters = [threading.Thread(target=start_download) for _ in range(40)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join(60)
    assert len(stalled) == 40

    for _ in range(8):  # more requests than the pool has connections
        r = requests.get(server.url + "/view/obj-1/small.pdf", auth=contact)
        assert r.status_code == 200 and r.content == b"%PDF small"
        assert requests.get(server.url + "/healthz").text == "ok"
    for r, first in stalled:
        assert first + r.raw.read() == BIG
        r.close()


def _access_listeners(url: str) -> int:
    """This database's access listeners (``gateway.access_notify``)."""
    import psycopg2

    from gateway import access_notify

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                (access_notify.LISTENER_NAME,),
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_a_database_bound_no_longer_stops_listening(tmp_path, postgres_url):
    """A process that binds another database (a test's next home, ``init`` of a new
    one) must not keep a listener, and its connection, for the old one."""
    from tests.tools import wait_until

    first = open_database(postgres_url)
    assert first.access_stamp.current() is None  # starts the listener
    wait_until(lambda: first.access_stamp.current() is not None, message="never listened")
    assert _access_listeners(postgres_url) == 1
    open_database(f"sqlite:///{tmp_path / 'other.db'}")
    wait_until(lambda: _access_listeners(postgres_url) == 0, message="still listening")
    assert first.access_stamp.current() is None  # reuses nothing, and stays stopped
    listener = first.access_stamp._thread
    listener.join(30)
    assert not listener.is_alive()
