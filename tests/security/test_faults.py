"""Faults: oversized and cut uploads, a full disk, two agents writing one file, a
slowloris client, and a database that is locked or briefly gone."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from gateway.services.home import open_home
from tests.factories import make_agent
from tests.security import rawhttp
from tests.tools import HANG_SECONDS, ServerProcess, ThreadedServer, require_capability, wait_until

pytestmark = pytest.mark.server

MiB = 1024 * 1024


def _no_upload_leftovers(folder):
    return not [p.name for p in folder.iterdir() if p.name.startswith(".~immoshare-upload-")]


def _read_answer(sock) -> bytes:
    answer = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


# -- 413 ---------------------------------------------------------------------------


@pytest.mark.parametrize("expect", [True, False], ids=["expect-100", "plain"])
def test_upload_over_the_limit_is_refused_before_the_body(start_server, world, expect):
    server = start_server(max_upload_bytes=MiB)
    folder = world.config.properties_dir / "obj-1"
    head = (
        f"PUT /dav/obj-1/big.pdf HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {rawhttp.basic(*world.agent)}\r\nContent-Length: {100 * MiB}\r\n"
        + ("Expect: 100-continue\r\n" if expect else "")
        + "\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head)  # not one byte of the body
        sock.settimeout(10)
        answer = _read_answer(sock)
    assert b"HTTP/1.1 413" in answer, answer[:300]
    assert not (folder / "big.pdf").exists()
    assert _no_upload_leftovers(folder)


def test_chunked_upload_over_the_limit_leaves_nothing(start_server, world):
    server = start_server(max_upload_bytes=MiB)
    folder = world.config.properties_dir / "obj-1"

    def body():
        for _ in range(48):
            yield b"z" * (64 * 1024)  # 3 MiB, no Content-Length

    for name in ("plan.pdf", "new.pdf"):
        r = requests.put(f"{server.url}/dav/obj-1/{name}", data=body(), auth=world.agent)
        assert r.status_code == 413
    assert (folder / "plan.pdf").read_bytes() == b"%PDF-public-obj1"
    assert not (folder / "new.pdf").exists()
    assert _no_upload_leftovers(folder)
    exact = requests.put(f"{server.url}/dav/obj-1/exact.pdf", data=b"e" * MiB, auth=world.agent)
    assert exact.status_code == 201 and (folder / "exact.pdf").stat().st_size == MiB


# -- 507 ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(world):
    """A 2 MiB tmpfs mounted as property obj-1's folder (needs root)."""
    folder = world.config.properties_dir / "obj-1"
    saved = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "immoshare-test", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        require_capability(f"cannot mount a tmpfs (needs root): {mounted.stderr.decode()}")
    try:
        for name, content in saved.items():
            (folder / name).write_bytes(content)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_full_disk_gives_507_and_keeps_the_old_version(server, world, small_disk):
    (small_disk / "filler.bin").write_bytes(b"f" * (1536 * 1024))
    for name in ("plan.pdf", "new.pdf"):
        r = requests.put(f"{server.url}/dav/obj-1/{name}", data=b"n" * MiB, auth=world.agent)
        assert r.status_code == 507, (name, r.status_code)
    assert (small_disk / "plan.pdf").read_bytes() == b"%PDF-public-obj1"
    assert not (small_disk / "new.pdf").exists()
    assert _no_upload_leftovers(small_disk)
    (small_disk / "filler.bin").unlink()
    r = requests.put(f"{server.url}/dav/obj-1/plan.pdf", data=b"n" * MiB, auth=world.agent)
    assert r.status_code == 204 and (small_disk / "plan.pdf").read_bytes() == b"n" * MiB


SERVE_WITH_FILE_SIZE_LIMIT = """
import resource, runpy, sys
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # SIGXFSZ is ignored by Python
sys.argv[0] = "immoshare"
runpy.run_module("gateway", run_name="__main__")
"""


def test_disk_full_by_file_size_limit(world):
    """The same as a full disk for any user: the process may not write files over
    2 MiB (EFBIG, as on a FAT-formatted or quota-limited volume)."""
    server = ServerProcess(world.home, launcher=("-c", SERVE_WITH_FILE_SIZE_LIMIT, str(2 * MiB)))
    try:
        folder = world.config.properties_dir / "obj-1"
        r = requests.put(
            f"{server.url}/dav/obj-1/plan.pdf", data=b"n" * (3 * MiB), auth=world.agent
        )
        assert r.status_code == 507
        assert (folder / "plan.pdf").read_bytes() == b"%PDF-public-obj1"
        assert _no_upload_leftovers(folder)
        ok = requests.put(f"{server.url}/dav/obj-1/plan.pdf", data=b"s" * MiB, auth=world.agent)
        assert ok.status_code == 204 and (folder / "plan.pdf").read_bytes() == b"s" * MiB
    finally:
        server.stop()


# -- two writers -------------------------------------------------------------------


def test_two_agents_putting_one_file_never_mix(server, world):
    make_agent("bert", "bert-secret-pw")
    target = world.config.properties_dir / "obj-1" / "plan.pdf"
    versions = {name: name[0].encode() * (4 * MiB) for name in ("anna", "bert")}
    allowed = {hashlib.sha256(v).hexdigest() for v in versions.values()}
    allowed.add(hashlib.sha256(b"%PDF-public-obj1").hexdigest())
    start = threading.Barrier(3)
    results, seen = {}, []

    def slow(data):
        for offset in range(0, len(data), 256 * 1024):
            yield data[offset : offset + 256 * 1024]
            time.sleep(0.01)  # keep both uploads in flight together

    def upload(name, password):
        start.wait()
        results[name] = requests.put(
            f"{server.url}/dav/obj-1/plan.pdf", data=slow(versions[name]), auth=(name, password)
        )

    def read_while_writing():
        start.wait()
        while len(results) < 2:
            r = requests.get(f"{server.url}/view/obj-1/plan.pdf", auth=world.contact)
            seen.append(hashlib.sha256(r.content).hexdigest())

    threads = [
        threading.Thread(target=upload, args=world.agent),
        threading.Thread(target=upload, args=("bert", "bert-secret-pw")),
        threading.Thread(target=read_while_writing),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(r.status_code for r in results.values()) == [204, 204]
    assert hashlib.sha256(target.read_bytes()).hexdigest() in allowed - {
        hashlib.sha256(b"%PDF-public-obj1").hexdigest()
    }
    assert seen and set(seen) <= allowed  # every read saw one whole version
    assert _no_upload_leftovers(target.parent)


# -- slowloris ---------------------------------------------------------------------


def test_slowloris_is_cut_without_starving_others(start_server, world):
    server = start_server(threads=4, header_timeout=2, socket_timeout=10)
    connected, cut = threading.Semaphore(0), []

    def drip():
        cut.append(_drip_until_cut(server.port, connected=connected.release))

    drippers = [threading.Thread(target=drip) for _ in range(8)]  # twice the workers
    for thread in drippers:
        thread.start()
    for _ in drippers:
        assert connected.acquire(timeout=HANG_SECONDS), "a slow client could not connect"
    r = requests.get(server.url + "/healthz", timeout=HANG_SECONDS)
    for thread in drippers:
        thread.join(2 * HANG_SECONDS)
    assert r.status_code == 200
    assert cut == [True] * 8  # every dripping connection was cut by the server


def _drip_until_cut(port: int, connected=lambda: None) -> bool:
    """Send request headers a byte every 0.1 s until the server hangs up (True); a
    client never cut gives up after ``HANG_SECONDS`` (False). Its headers never end,
    and it is never idle long enough for a socket timeout: only the header deadline
    can cut it."""
    deadline = time.monotonic() + HANG_SECONDS
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        connected()
        sock.settimeout(0.1)
        while time.monotonic() < deadline:
            try:
                sock.sendall(b"a")
                if sock.recv(1) == b"":
                    return True  # the server hung up
            except TimeoutError:
                continue  # still open: keep dripping
            except OSError:
                return True  # reset by the server
    return False


def _deadline_watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "immoshare-header-deadline"]


def test_header_deadline_holds_under_traffic_and_its_thread_ends_when_idle(start_server, world):
    # Every request registers with the deadline and leaves it, without a lock:
    # a slow client among busy ones is still cut, the watcher thread ends once nothing
    # is being read, and the next slow client starts it again.
    server = start_server(threads=8, header_timeout=1, socket_timeout=10)
    stop, failures, served = threading.Event(), [], [0]

    def traffic():
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    r = session.get(server.url + "/healthz", timeout=HANG_SECONDS)
                    assert r.status_code == 200
                    served[0] += 1
                except Exception as exc:  # noqa: BLE001 - reported below
                    failures.append(exc)
                    return

    busy = [threading.Thread(target=traffic) for _ in range(3)]
    for thread in busy:
        thread.start()
    try:
        cut_under_traffic, served_meanwhile = [], []
        for _ in range(3):
            before = served[0]
            cut_under_traffic.append(_drip_until_cut(server.port))
            served_meanwhile.append(served[0] - before)
    finally:
        stop.set()
        for thread in busy:
            thread.join(HANG_SECONDS)
    assert not failures, failures
    assert cut_under_traffic == [True] * 3
    assert all(served_meanwhile), served_meanwhile  # the others were served meanwhile

    wait_until(lambda: not _deadline_watchers(), message="an idle server keeps its thread")
    assert _drip_until_cut(server.port)  # and the next slow client starts one
    assert _drip_until_cut(server.port)


def test_reading_headers_takes_no_lock(start_server, world):
    # With 200 downloads starting at once, a lock taken for every request's headers
    # lines them all up behind whichever holder waits for the GIL. While
    # the deadline's lock is held (here by the test), requests are still answered.
    server = start_server(threads=8, header_timeout=HANG_SECONDS, socket_timeout=10)
    deadline = server.server.header_deadline
    with socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")  # keeps the watcher running
        wait_until(_deadline_watchers, message="no header deadline watcher started")
        with deadline._lock:
            answers = [
                requests.get(server.url + "/healthz", timeout=HANG_SECONDS) for _ in range(5)
            ]
    assert [r.status_code for r in answers] == [200] * 5


# -- the database away -------------------------------------------------------------


#: How long a request waits for the locked database here (the setting's default is
#: 10 s): long enough that a background writer's commit never trips the retry.
BUSY_TIMEOUT = 1.0


def test_locked_database_gives_503_then_the_retry_succeeds(world):
    from gateway.db import database

    database.close()
    config = open_home(
        world.home, {"rate_limit_failures": 0, "database_busy_timeout": BUSY_TIMEOUT}
    )
    holder = sqlite3.connect(world.home / "immoshare.db", isolation_level=None, timeout=1)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE agent SET name = name")
    server = ThreadedServer(config, ready=False)  # its database is locked
    url = server.url
    try:
        answers = {}

        def ask(name, method, path, **kwargs):
            answers[name] = requests.request(method, url + path, timeout=60, **kwargs)

        asks = [
            threading.Thread(
                target=ask,
                args=("dav", "PROPFIND", "/dav/obj-1/"),
                kwargs={"auth": world.agent, "headers": {"Depth": "1"}},
            ),
            threading.Thread(target=ask, args=("web", "GET", f"/s/{world.link}")),
            threading.Thread(target=ask, args=("health", "GET", "/healthz")),
        ]
        for t in asks:
            t.start()
        for t in asks:
            t.join(60)
        for name, r in answers.items():
            assert r.status_code == 503, (name, r.status_code, r.text[:200])
            assert int(r.headers["Retry-After"]) > 0
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert not world.leaked(r.content)
        holder.execute("COMMIT")
        holder.close()
        retry = requests.request(
            "PROPFIND", url + "/dav/obj-1/", auth=world.agent, headers={"Depth": "1"}
        )
        assert retry.status_code == 207 and "plan.pdf" in retry.text
        assert requests.get(f"{url}/s/{world.link}").status_code == 200
        assert requests.get(url + "/healthz").text == "ok"
    finally:
        with contextlib.suppress(sqlite3.Error):
            holder.close()
        server.stop()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_database_briefly_gone_gives_503_then_the_retry_succeeds(
    server, world, database_url, postgres_server
):
    import psycopg2

    name = database_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(postgres_server.admin_url)
    admin.autocommit = True

    def set_reachable(reachable):
        with admin.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(reachable).lower()}")
            if not reachable:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )

    def dav():
        return requests.request(
            "PROPFIND",
            server.url + "/dav/obj-1/",
            auth=world.agent,
            headers={"Depth": "1"},
            timeout=60,
        )

    try:
        assert dav().status_code == 207
        set_reachable(False)
        for r in (
            dav(),
            requests.get(f"{server.url}/s/{world.link}", timeout=60),
            requests.get(server.url + "/healthz", timeout=60),
        ):
            assert r.status_code == 503, (r.url, r.status_code, r.text[:200])
            assert int(r.headers["Retry-After"]) > 0
        set_reachable(True)
        assert dav().status_code == 207
        assert requests.get(f"{server.url}/s/{world.link}").status_code == 200
        assert requests.get(server.url + "/healthz").text == "ok"
    finally:
        set_reachable(True)
        admin.close()
