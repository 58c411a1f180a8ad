"""Cases on the servers' file and WebDAV side, run on every server: 1 (4 KiB GET rate),
3 (1 GiB GET, and the 256 MiB file of the large property, each also against copyparty
with ``--usernames``), 4 (PROPFIND of a big folder, memory) and 7 (200 concurrent
downloads). Also the content check that runs before any timing."""

from __future__ import annotations

import hashlib

from bench import client, data, load
from bench.context import Bench, progress
from bench.gateway_server import tracked_events
from bench.report import Row, Target

#: The servers that speak WebDAV (the bare cheroot only serves files).
WEBDAV_SERVERS = ("immoshare", "copyparty", "copyparty-u", "wsgidav", "nginx")
PROPFIND_ALLPROP = b'<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def check_server(bench: Bench, server, big_sha: str | None = None) -> str:
    """The server's verdict: "ok", or what was wrong with its answer for the small
    files (the case folder's and the large property's) or the big file, against the
    bytes on disk."""
    p = bench.profile
    for relative in (data.SMALL, data.LARGE_SMALL):
        expected = bench.data.path(relative).read_bytes()
        got = client.fetch(server, "GET", relative, keep_body=True, timeout=p.request_timeout)
        if got.status != 200 or got.body != expected:
            return f"{relative}: HTTP {got.status}, {got.nbytes} B differ"
    big_sha = big_sha or _sha256(bench.data.path(data.BIG))
    got = client.fetch(server, "GET", data.BIG, digest=True, timeout=p.request_timeout)
    if got.status != 200 or got.sha256 != big_sha:
        return f"{data.BIG}: HTTP {got.status}, sha256 differs"
    return "ok"


def verify_content(bench: Bench) -> dict[str, str]:
    """Each running server's verdict (``check_server``): server → "ok" or what was
    wrong. Runs before anything is timed."""
    big_sha = _sha256(bench.data.path(data.BIG))
    return {name: check_server(bench, server, big_sha) for name, server in bench.servers.items()}


def case_small_get(bench: Bench) -> list[Row]:
    p = bench.profile
    row = Row(
        "1",
        f"{p.small_bytes // 1024} KiB GET, Basic auth, {p.rps_connections} conns",
        "req/s",
        Target(">=", 1.0, "copyparty"),
    )
    events_before = tracked_events(bench.home)
    errors = {}
    for r, server in bench.turns():
        rate, failed = load.request_rate(
            server.port,
            server.url_path(data.SMALL),
            {"Authorization": server.auth_header},
            p.rps_connections,
            p.rps_seconds,
        )
        row.add(server.name, rate, r)
        errors[server.name] = errors.get(server.name, 0) + failed
    events = tracked_events(bench.home) - events_before
    row.note = f"immoshare wrote {events:,} tracking events" + "".join(
        f"; {n}: {e} errors" for n, e in errors.items() if e
    )
    return [row]


def case_big_get(bench: Bench) -> list[Row]:
    """The big file of the case folder on every server, and the large property's big
    file; each against both copyparty configurations."""
    p = bench.profile
    rows = []
    for relative, size, where in (
        (data.BIG, p.big_bytes, ""),
        (data.LARGE_BIG, p.large_big_bytes, ", in the large property"),
    ):
        row = Row(
            "3", f"GET of {size / 2**20:,.0f} MiB{where}", "MB/s", Target(">=", 1.0, "copyparty")
        )
        for r, server in bench.turns(warm=(relative,)):
            for _ in range(p.big_repeats):
                got = client.fetch(server, "GET", relative, timeout=p.request_timeout)
                if got.status == 200 and got.nbytes == size:
                    row.add(server.name, got.nbytes / got.elapsed / 1e6, r)
                else:
                    row.note += f"{server.name}: HTTP {got.status}, {got.nbytes} B; "
        rows += [row, row.versus("copyparty-u")]
    return rows


def case_propfind(bench: Bench) -> list[Row]:
    p = bench.profile
    timing = Row(
        "4",
        f"PROPFIND Depth 1 allprop, {p.listing_files:,} files",
        "s",
        Target("<=", 1.0, "copyparty"),
    )
    first = Row("4", f"RSS growth over the first {p.propfind_repeats} PROPFINDs", "MiB")
    growth = Row(
        "4",
        f"RSS growth over the next {p.propfind_repeats} PROPFINDs",
        "MiB",
        Target("<", 5.0),
    )
    expected = p.listing_files + 1  # the folder itself, then its members
    headers = {"Depth": "1", "Content-Type": "application/xml"}

    def propfind(server):
        got = client.fetch(
            server,
            "PROPFIND",
            data.LISTING + "/",
            headers=headers,
            body=PROPFIND_ALLPROP,
            keep_body=True,
            timeout=p.request_timeout,
        )
        entries = got.body.count(b"href>") // 2
        if got.status != 207 or entries != expected:
            timing.note += f"{server.name}: HTTP {got.status}, {entries} entries; "
            return None
        return got.elapsed

    # Growth per request shows in both windows; memory a server keeps once it has
    # served such a listing on a few threads (allocator high-water marks, caches)
    # shows in the first only.
    listing = [s for n, s in bench.servers.items() if n in WEBDAV_SERVERS]
    start = {}
    for server in listing:
        propfind(server)  # the very first: imports and start-up allocations
        start[server.name] = server.rss_mib()
    middle = {}
    for window in (first, growth):
        before = dict(middle or start)
        for _ in range(p.propfind_repeats):
            for r, server in bench.turns(WEBDAV_SERVERS):
                elapsed = propfind(server)
                if elapsed is not None:
                    timing.add(server.name, elapsed, r)
        for server in listing:
            after = server.rss_mib()
            window.add(server.name, after - before[server.name])
            window.note += f"{server.name} {before[server.name]:.0f}→{after:.0f} MiB; "
            middle[server.name] = after
    return [timing, first, growth]


def case_concurrent_downloads(bench: Bench) -> list[Row]:
    p = bench.profile
    n = p.download_files
    errors = Row(
        "7",
        f"errors of {n} concurrent {p.download_bytes / 1e6:g} MB downloads",
        "errors",
        Target("==", 0),
    )
    first_byte = Row("7", "longest wait for the first byte", "s", Target("<", 1.0))
    names = bench.data.names(data.DOWNLOADS)
    for r, server in bench.turns(warm=(data.DOWNLOADS,)):
        paths = [server.url_path(f"{data.DOWNLOADS}/{name}") for name in names]
        results = client.concurrent_downloads(server, paths, p.download_timeout)
        failed = [x for x in results if x.error or x.nbytes != p.download_bytes]
        errors.add(server.name, len(failed), r)
        if failed:
            errors.note += f"{server.name}: {failed[0].error}; "
        first_byte.add(server.name, max(x.ttfb for x in results), r)
        progress(
            f"  case 7 {server.name}: {len(failed)} errors, "
            f"{max(x.elapsed for x in results):.1f} s for all"
        )
    return [errors, first_byte]
