"""Case 9: what scale-out costs per request — two ``immoshare serve``
processes on PostgreSQL and Redis against the bench's one process on SQLite.

Both setups serve the same share folder: the scale-out home's ``properties/`` is a
symbolic link to the dataset root, as nodes share one NFS export. The home itself
(settings, secret, tracking journals) is a separate folder, because a process
replays journals it finds in its home into its own database, and the SQLite process
must not get the PostgreSQL processes' events. PostgreSQL and Redis are the
throwaway servers of ``tests/backends.py`` (``initdb``/``pg_ctl`` as an
unprivileged user, loopback only, free ports, and, as in the tests, ``fsync=off``);
where they or their Python clients are missing the case is one skipped row saying
why.

The loads of cases 1 and 2 run on each setup in turn: the 4 KiB WebDAV GET with
Basic auth, and the same file through the contact page's download URL. The two
processes get half the connections each, as a load balancer would split them. On 2
cores two processes can use more CPU than one, so besides the rates the case
reports the server CPU time per request (the gateway processes plus PostgreSQL and
Redis): that is the cost of PostgreSQL per request, whatever the core count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import shutil
import statistics
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

from bench import client, data, load
from bench.context import Bench, progress
from bench.gateway_server import prepare_home, serve_command, tracked_events
from bench.page import parse_page
from bench.report import Row
from bench.servers import Server, StartError, free_port, spawn
from tests.backends import PostgresServer, RedisServer, find_postgres_bin

PROCESSES = 2
SHARE = data.SMALL.split("/")[0]  # the property whose personal link the page load uses


class Unavailable(Exception):
    """The scale-out setup cannot run here; the message is the skip line."""


@dataclasses.dataclass
class Setup:
    label: str
    servers: list[Server]  # all with the same login and the same links
    cpu_roots: dict[str, list[int]]  # name → processes whose CPU time, and their children's
    link: str  # path of the contact's personal link to SHARE
    events: Callable[[], int]  # tracking events in the setup's database so far


def _cpu_seconds(groups: dict[str, list[int]]) -> dict[str, float]:
    """User plus system time per group of processes and their children (PostgreSQL's
    backends are the postmaster's)."""
    ticks = dict.fromkeys(groups, 0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
        except OSError:
            continue
        for name, roots in groups.items():
            if int(entry.name) in roots or int(fields[1]) in roots:
                ticks[name] += int(fields[11]) + int(fields[12])
    return {name: n / os.sysconf("SC_CLK_TCK") for name, n in ticks.items()}


def _version(argv: list) -> str:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=30
    ).stdout.strip()


def _postgres_events(url: str) -> Callable[[], int]:
    def count() -> int:
        import psycopg2

        connection = psycopg2.connect(url)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM access_event")
                return cursor.fetchone()[0]
        finally:
            connection.close()

    return count


@contextlib.contextmanager
def _scaled_out(bench: Bench) -> Iterator[tuple[Setup, str]]:
    """PostgreSQL, Redis and PROCESSES gateway processes on a home of their own over
    the dataset; yields the setup and a line naming the versions."""
    bindir = find_postgres_bin()
    redis_server = shutil.which("redis-server")
    if bindir is None:
        raise Unavailable("PostgreSQL is not installed (Debian package postgresql)")
    if redis_server is None:
        raise Unavailable("redis-server is not installed (Debian package redis-server)")
    for module in ("psycopg2", "redis"):
        if importlib.util.find_spec(module) is None:
            raise Unavailable(f"{module} is missing: pip install '.[postgres]'")
    home = bench.work / "scaleout-home"
    shutil.rmtree(home, ignore_errors=True)  # removes the link, never what it points to
    home.mkdir(parents=True)
    (home / "properties").symlink_to(bench.data.root, target_is_directory=True)
    with contextlib.ExitStack() as stack:
        try:
            postgres = PostgresServer(bindir)
        except subprocess.CalledProcessError as exc:
            raise Unavailable(f"PostgreSQL did not start: {exc.stderr.decode().strip()}") from None
        stack.callback(postgres.stop)
        cache = RedisServer(redis_server)
        stack.callback(cache.stop)
        url = postgres.create_database()
        env = {"IMMOSHARE_DATABASE_URL": url, "IMMOSHARE_REDIS_URL": cache.url}
        with mock.patch.dict(os.environ, env):
            login, links = prepare_home(home)
        servers = []
        for n in range(1, PROCESSES + 1):
            port = free_port()
            log = bench.work / "logs" / f"immoshare-pg-{n}.log"
            proc = spawn(f"immoshare-pg-{n}", serve_command(home, port), log, env=env)
            servers.append(Server(f"immoshare-pg-{n}", port, "/view", login, proc, log))
            stack.callback(servers[-1].stop)
        try:
            for server in servers:
                server.wait_ready(data.SMALL)
        except StartError as exc:
            raise Unavailable(f"a gateway process on PostgreSQL did not start: {exc}") from None
        for server in servers:
            waited = server.wait_idle(bench.profile.settle_timeout)
            progress(f"  case 9 {server.name}: idle after {waited:.0f} s of start-up work")
        postmaster = int((postgres.data / "postmaster.pid").read_text().split()[0])
        setup = Setup(
            f"{PROCESSES} processes on PostgreSQL + Redis",
            servers,
            {
                "gateway": [s.proc.pid for s in servers],
                "PostgreSQL": [postmaster],
                "Redis": [cache.proc.pid],
            },
            links[SHARE],
            _postgres_events(url),
        )
        versions = (
            _version([bindir / "postgres", "--version"])
            + ", "
            + _version([redis_server, "--version"]).split(" sha=")[0]
        )
        yield setup, versions


def _dav_request(setup: Setup) -> tuple[str, dict]:
    server = setup.servers[0]
    return server.url_path(data.SMALL), {"Authorization": server.auth_header}


def _page_request(setup: Setup) -> tuple[str, dict]:
    """The small file's download URL on the contact page, found by its hook as case 2
    finds it, and the page's cookie if it set one."""
    got = client.fetch(setup.servers[0], "GET", path=setup.link, auth=False, keep_body=True)
    cookie = got.headers.get("set-cookie")
    headers = {"Cookie": cookie.split(";", 1)[0]} if cookie else {}
    href = parse_page(got.body.decode("utf-8", "replace")).downloads.get(data.SMALL.split("/")[-1])
    if got.status != 200 or href is None:
        raise LookupError(f"the contact page (HTTP {got.status}) has no data-testid=download link")
    parts = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://127.0.0.1{setup.link}/", href))
    return parts.path + (f"?{parts.query}" if parts.query else ""), headers


LOADS = (
    ("WebDAV GET, Basic auth", _dav_request),
    ("GET via the contact page's download URL", _page_request),
)


def _measure(
    setup: Setup, path: str, headers: dict, connections: int, seconds: float
) -> tuple[float, int, dict[str, float]]:
    """Requests/s summed over the setup's processes, errors, and server CPU ms per
    request by group; the connections are split evenly over the processes."""
    each = connections // len(setup.servers)
    cpu_before = _cpu_seconds(setup.cpu_roots)
    started = time.monotonic()
    with ThreadPoolExecutor(len(setup.servers)) as pool:
        results = list(
            pool.map(
                lambda s: load.request_rate(s.port, path, headers, each, seconds), setup.servers
            )
        )
    wall = time.monotonic() - started
    rate = sum(r for r, _ in results)
    cpu_ms = {
        name: 1000 * (used - cpu_before[name]) / wall / rate if rate else 0.0
        for name, used in _cpu_seconds(setup.cpu_roots).items()
    }
    return rate, sum(e for _, e in results), cpu_ms


def _compare(bench: Bench, what: str, request: Callable, single: Setup, scaled: Setup) -> list[Row]:
    p = bench.profile
    title = f"{p.small_bytes // 1024} KiB {what}, {p.rps_connections} conns"
    setups = (single, scaled)
    rates = {s.label: Row("9", f"{title}: {s.label}", "req/s") for s in setups}
    ratio = Row("9", f"{title}: {PROCESSES} on PostgreSQL / 1 on SQLite", "×")
    cpu = {s.label: Row("9", f"{what}: server CPU per request, {s.label}", "ms") for s in setups}
    expected = bench.data.path(data.SMALL).read_bytes()
    requests = {}
    for setup in setups:
        try:
            requests[setup.label] = request(setup)
        except LookupError as exc:
            rates[single.label].skipped = str(exc)
            return [rates[single.label]]
        path, headers = requests[setup.label]
        for server in setup.servers:
            got = client.fetch(
                server, "GET", path=path, headers=headers, auth=False, keep_body=True
            )
            if got.status != 200 or got.body != expected:
                rates[
                    single.label
                ].skipped = (
                    f"{server.name} answered HTTP {got.status} with {got.nbytes} B, not the file"
                )
                return [rates[single.label]]
    errors = dict.fromkeys(rates, 0)
    by_group = {s.label: {name: [] for name in s.cpu_roots} for s in setups}
    for r in range(bench.rounds):
        got = {}
        for setup in setups if r % 2 == 0 else setups[::-1]:
            rate, failed, cpu_ms = _measure(
                setup, *requests[setup.label], p.rps_connections, p.rps_seconds
            )
            got[setup.label] = rate
            errors[setup.label] += failed
            rates[setup.label].add("immoshare", rate)
            if rate:
                cpu[setup.label].add("immoshare", sum(cpu_ms.values()))
                for name, ms in cpu_ms.items():
                    by_group[setup.label][name].append(ms)
        if got[single.label]:
            ratio.add("immoshare", got[scaled.label] / got[single.label])
    ratio.note = "".join(f"{label}: {n} errors; " for label, n in errors.items() if n)
    for label, groups in by_group.items():
        if len(groups) > 1 and cpu[label].samples:
            cpu[label].note = "of which " + ", ".join(
                f"{name} {statistics.median(ms):.1f} ms" for name, ms in groups.items()
            )
    return [rates[single.label], rates[scaled.label], ratio, cpu[single.label], cpu[scaled.label]]


def case_scaleout(bench: Bench) -> list[Row]:
    imm = bench.immoshare
    single = Setup(
        "1 process on SQLite",
        [imm],
        {"gateway": [imm.proc.pid]},
        bench.links[SHARE],
        lambda: tracked_events(bench.home),
    )
    try:
        with _scaled_out(bench) as (scaled, versions):
            before = {s.label: s.events() for s in (single, scaled)}
            rows = []
            for what, request in LOADS:
                rows += _compare(bench, what, request, single, scaled)
            written = {s.label: s.events() - before[s.label] for s in (single, scaled)}
    except Unavailable as exc:
        row = Row("9", f"{PROCESSES} processes on PostgreSQL + Redis against 1 on SQLite", "req/s")
        row.skipped = str(exc)
        return [row]
    rows[0].note = (
        f"{versions}; tracking events written: "
        + ", ".join(f"{label} {n:,}" for label, n in written.items())
        + "; "
        + rows[0].note
    )
    return rows
