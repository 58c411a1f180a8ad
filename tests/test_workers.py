"""``immoshare serve --workers 2``: two worker processes on one port, on the embedded
SQLite (tracking and revocation on PostgreSQL too), and what they must share without
Redis.

Every test starts the real command (``tests/tools.py`` ServerProcess) and tells the
workers apart from outside, through ``/proc`` (``tests/worker_processes.py``): a
keep-alive connection is served by the worker that accepted it, so a request on it
goes to that worker. What one worker (or the CLI) changes must hold on the other
at its next request.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

from dav_provider.locks_sqlite import SqliteLockStorage
from gateway.db import database
from gateway.models import AccessEvent
from gateway.services.listening import LISTENING_FILE
from gateway.serving.ratelimit_shared import PROBES, SharedMemoryStore
from tests.factories import (
    AGENT_PASSWORD,
    make_agent,
    make_consent_texts,
    make_contact,
    make_grant,
    make_property,
)
from tests.tools import (
    HANG_SECONDS,
    ServerProcess,
    basic,
    free_port,
    require_tool,
    wait_until,
)
from tests.webdav_bodies import lock_body
from tests.worker_processes import (
    child_pids,
    connection_to_each,
    is_running,
    watches_files,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]

AGENT = basic("anna", AGENT_PASSWORD)
PLAN = b"%PDF-plan v1" + b"." * 4000
FAILURES_ALLOWED = 4


@pytest.fixture
def granted(config):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5", files={"plan.pdf": PLAN})
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


@pytest.fixture
def two_workers(home, granted):
    """``serve --workers 2``; no process may log a traceback."""
    env = {"IMMOSHARE_RATE_LIMIT_FAILURES": str(FAILURES_ALLOWED)}
    process = ServerProcess(home, args=("--workers", "2"), env=env)
    try:
        # the parent records the address once every worker listens
        wait_until(lambda: _recorded_pid(home) == process.proc.pid, message="all listening")
        assert len(child_pids(process.proc.pid)) == 2
        yield process
    finally:
        process.stop()
    log = process.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log


def _recorded_pid(home):
    try:
        return json.loads((home / LISTENING_FILE).read_text())["pid"]
    except (OSError, ValueError):
        return None


@pytest.fixture
def each_worker(two_workers):
    """One keep-alive connection to each worker, by worker pid."""
    connections = connection_to_each(two_workers.port, child_pids(two_workers.proc.pid))
    yield connections
    for connection in connections.values():
        connection.close()


def ask(connection, method, path, auth=None, body=None, headers=None):
    """One request on ``connection``; returns (status, headers, body). The connection
    must stay open: a reopened one might reach the other worker."""
    headers = dict(headers or {})
    if auth:
        headers["Authorization"] = auth
    sock = connection.sock
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    answer = response.status, response.headers, response.read()
    assert sock is None or connection.sock is sock, f"{method} {path} closed the connection"
    return answer


def test_both_workers_answer_and_only_one_watches_the_catalog(
    two_workers, each_worker, granted, home
):
    contact = basic(granted.username, granted.password)
    assert len(each_worker) == 2
    for connection in each_worker.values():
        status, _, body = ask(connection, "GET", "/view/obj-1/plan.pdf", contact)
        assert (status, body) == (200, PLAN)
    assert sum(watches_files(pid) for pid in each_worker) == 1
    record = json.loads((home / LISTENING_FILE).read_text())
    assert record["pid"] == two_workers.proc.pid  # the parent, which outlives any worker
    assert record["port"] == two_workers.port


@pytest.mark.each_database
def test_tracking_ids_run_without_gaps_across_workers(each_worker, granted, cli):
    """Downloads through both workers at once: every event stored, ids consecutive in
    commit order, and the hash chain verifies."""
    contact = basic(granted.username, granted.password)
    rounds = 15
    failures = []

    def download(connection):
        for _ in range(rounds):
            status, _, body = ask(connection, "GET", "/view/obj-1/plan.pdf", contact)
            if (status, body) != (200, PLAN):
                failures.append(status)

    threads = [threading.Thread(target=download, args=(c,)) for c in each_worker.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_SECONDS)
    assert not failures
    expected = rounds * len(each_worker)

    def stored():
        with database.connection_context():
            return [e.id for e in AccessEvent.select(AccessEvent.id).order_by(AccessEvent.id)]

    ids = wait_until(lambda: len(stored()) == expected and stored(), message=lambda: stored())
    assert ids == list(range(ids[0], ids[0] + expected))
    r = cli("tracking", "verify")
    assert r.exit_code == 0, r.output


def test_a_lock_taken_through_one_worker_refuses_a_put_through_the_other(each_worker, config):
    first, second = each_worker.values()
    target = config.properties_dir / "obj-1" / "plan.pdf"
    status, headers, body = ask(
        first,
        "LOCK",
        "/dav/obj-1/plan.pdf",
        AGENT,
        lock_body("anna"),
        {"Timeout": "Second-600", "Content-Type": "application/xml"},
    )
    assert status == 200, body
    token = headers["Lock-Token"]

    assert ask(second, "PUT", "/dav/obj-1/plan.pdf", AGENT, b"%PDF-v2")[0] == 423
    assert ask(second, "DELETE", "/dav/obj-1/plan.pdf", AGENT)[0] == 423
    assert target.read_bytes() == PLAN

    status = ask(second, "PUT", "/dav/obj-1/plan.pdf", AGENT, b"%PDF-v2", {"If": f"({token})"})[0]
    assert status in (200, 204)
    assert (
        ask(second, "UNLOCK", "/dav/obj-1/plan.pdf", AGENT, headers={"Lock-Token": token})[0] == 204
    )
    assert ask(first, "PUT", "/dav/obj-1/plan.pdf", AGENT, b"%PDF-v3")[0] in (200, 204)
    assert target.read_bytes() == b"%PDF-v3"


@pytest.mark.each_database
def test_a_revoke_holds_on_every_worker_at_the_next_request(each_worker, granted, cli):
    contact = basic(granted.username, granted.password)
    page = "/s/" + granted.link.rsplit("/", 1)[1]
    for connection in each_worker.values():
        assert ask(connection, "GET", "/view/obj-1/plan.pdf", contact)[0] == 200
        assert ask(connection, "GET", page)[0] == 200

    r = cli("revoke", "obj-1", "4711")
    assert r.exit_code == 0, r.output
    for connection in each_worker.values():
        status, _, body = ask(connection, "GET", "/view/obj-1/plan.pdf", contact)
        assert status == 404 and PLAN not in body
        assert ask(connection, "GET", page)[0] == 404


def test_failed_logins_are_counted_across_workers(each_worker, granted):
    """The limit holds for the client, not per worker: failures spread over both
    workers reach it together, and then neither lets even the right password in."""
    first, second = each_worker.values()
    wrong = basic(granted.username, "wrong-password")
    for attempt in range(FAILURES_ALLOWED):
        connection = first if attempt % 2 else second
        assert ask(connection, "GET", "/view/obj-1/plan.pdf", wrong)[0] == 401
    right = basic(granted.username, granted.password)
    for connection in (first, second):
        status, headers, body = ask(connection, "GET", "/view/obj-1/plan.pdf", right)
        assert status == 429 and int(headers["Retry-After"]) > 0
        assert PLAN not in body


def test_a_killed_worker_is_replaced_and_the_server_keeps_answering(two_workers):
    """New connections are answered while a worker is killed and replaced (the other
    accepts what arrives on the shared socket meanwhile), then by both again."""
    parent = two_workers.proc.pid
    victim = min(child_pids(parent))
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: not is_running(victim), message="the killed worker still runs")
    answered = 0
    while victim in child_pids(parent) or len(child_pids(parent)) < 2:
        connection = http.client.HTTPConnection("127.0.0.1", two_workers.port, timeout=HANG_SECONDS)
        assert ask(connection, "GET", "/healthz")[0] == 200
        connection.close()
        answered += 1
        assert answered < 100_000, "no worker replaced it"
    assert not is_running(victim)
    after = child_pids(parent)
    assert len(after) == 2 and victim not in after
    for connection in connection_to_each(two_workers.port, after).values():
        connection.close()


def test_litmus_locks_pass_against_the_workers(two_workers, tmp_path):
    """WebDAV locking by the book on the workers' shared lock storage."""
    litmus = require_tool("litmus")
    result = subprocess.run(
        [litmus, "-k", f"{two_workers.url}/dav/obj-1/", "anna", AGENT_PASSWORD],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"TESTS": "locks", "PATH": "/usr/bin:/bin"},
    )
    assert re.search(r"summary for `locks': of (\d+) tests run: \1 passed", result.stdout), (
        result.stdout[-3000:]
    )
    assert "WARNING" not in result.stdout, result.stdout[-3000:]


def test_sigterm_stops_every_process_and_clears_the_record(two_workers, home):
    workers = child_pids(two_workers.proc.pid)
    two_workers.proc.terminate()
    assert two_workers.proc.wait(HANG_SECONDS) == 0
    wait_until(lambda: not any(is_running(pid) for pid in workers), message="workers left")
    assert not (home / LISTENING_FILE).exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", two_workers.port), timeout=1).close()


def test_workers_end_when_their_parent_is_killed(two_workers):
    workers = child_pids(two_workers.proc.pid)
    two_workers.proc.kill()
    two_workers.proc.wait(HANG_SECONDS)
    wait_until(lambda: not any(is_running(pid) for pid in workers), message="orphaned workers")


def test_a_taken_port_is_one_line_and_no_worker_starts(cli, config):
    # Other tests of this process may keep children (a PostgreSQL cluster): only new
    # ones would be workers.
    before = child_pids(os.getpid())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cli("serve", "--port", str(port), "--workers", "2")
    assert r.exit_code == 1
    assert (
        r.output.strip()
        == f"Error: port {port} on 127.0.0.1 is in use — choose another with --port"
    )
    assert child_pids(os.getpid()) <= before
    assert not (config.home / LISTENING_FILE).exists()


def test_a_worker_that_cannot_start_is_one_line_and_leaves_nothing(home, config, tmp_path):
    """Every worker loads the TLS key itself; a broken one stops ``serve`` with the
    workers' reason, once, and no process or record is left."""
    make_consent_texts()  # else serve's start warns first that no Widerruf text is set
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate\n")
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--home", str(home), "serve", "--port", str(port)]
        + ["--workers", "2", "--cert", str(broken), "--key", str(broken)],
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot load TLS certificate"), lines
    assert "Traceback" not in result.stdout + result.stderr
    assert not (home / LISTENING_FILE).exists()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # released


@pytest.mark.parametrize("count", ["0", "-1", "two", "65"])
def test_a_worker_count_out_of_range_is_a_usage_error(cli, count):
    r = cli("serve", "--workers", count)
    assert r.exit_code == 2, r.output
    assert "--workers" in r.output


# ---------------------------------------------------------------- the shared stores


def test_shared_counters_are_one_count_across_a_fork():
    store = SharedMemoryStore()
    store.increment("dav:198.51.100.7", 60)
    pid = os.fork()
    if pid == 0:  # a worker
        try:
            for _ in range(3):
                store.increment("dav:198.51.100.7", 60)
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    count, left = store.peek("dav:198.51.100.7")
    assert count == 4 and 0 < left <= 60
    assert store.peek("dav:198.51.100.8") == (0, 0.0)


def test_shared_counters_expire_and_a_full_table_evicts_the_oldest():
    now = [1000.0]
    store = SharedMemoryStore(slots=PROBES, clock=lambda: now[0])
    for n in range(PROBES):  # every slot taken, the first expiring first
        store.increment(f"key-{n}", 60 + n)
    store.increment("newcomer", 60)
    assert store.peek("newcomer")[0] == 1
    assert store.peek("key-0") == (0, 0.0)  # evicted
    assert all(store.peek(f"key-{n}")[0] == 1 for n in range(1, PROBES))
    now[0] += 61.5
    assert store.peek("newcomer") == (0, 0.0) and store.peek("key-1") == (0, 0.0)
    assert store.peek("key-7")[0] == 1
    assert store.increment("newcomer", 60) == (1, 60.0)  # a fresh window


def test_lock_storage_finds_locks_below_a_folder_whatever_its_name(tmp_path):
    storage = SqliteLockStorage(tmp_path / "locks.sqlite")
    storage.open()

    def lock(path):
        record = {"type": "write", "scope": "exclusive", "depth": "0", "owner": b"<o/>"}
        record.update(principal="anna", timeout=600)
        return storage.create(path, record)["token"]

    inside = lock("/obj-1/Pläne [alt]*/EG.pdf")
    beside = lock("/obj-1/Pläne [alt]*x/EG.pdf")
    on_folder = lock("/obj-1/Pläne [alt]*")
    found = storage.get_lock_list(
        "/obj-1/Pläne [alt]*", include_root=False, include_children=True, token_only=True
    )
    assert found == [inside]
    found = storage.get_lock_list(
        "/obj-1/Pläne [alt]*", include_root=True, include_children=False, token_only=True
    )
    assert found == [on_folder]
    assert storage.get(beside)["owner"] == b"<o/>"
    assert storage.delete(inside) and not storage.delete(inside)
    assert storage.get(inside) is None
    storage.close()
