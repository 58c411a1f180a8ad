"""Cases on the servers' file and WebDAV side, run on every server: 1 (4 KiB GET rate),
3 (1 GiB GET), 4 (PROPFIND of a big folder, memory) and 7 (200 concurrent downloads).
Also the content check that runs before any timing."""

from __future__ import annotations

import hashlib

from bench import client, data, load
from bench.context import Bench, progress
from bench.gateway_server import tracked_events
from bench.report import Row, Target

#: The servers that speak WebDAV (the bare cheroot only serves files).
WEBDAV_SERVERS = ("immoshare", "copyparty", "wsgidav", "nginx")
PROPFIND_ALLPROP = b'<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify_content(bench: Bench) -> dict[str, str]:
    """Each server's answer for the small and the big file against the bytes on disk:
    server → "ok" or what was wrong. Runs before anything is timed."""
    small = bench.data.path(data.SMALL).read_bytes()
    big_sha = _sha256(bench.data.path(data.BIG))
    verdicts = {}
    for name, server in bench.servers.items():
        got_small = client.fetch(server, "GET", data.SMALL, keep_body=True)
        got_big = client.fetch(
            server, "GET", data.BIG, digest=True, timeout=bench.profile.request_timeout
        )
        if got_small.status != 200 or got_small.body != small:
            verdicts[name] = f"{data.SMALL}: HTTP {got_small.status}, {got_small.nbytes} B differ"
        elif got_big.status != 200 or got_big.sha256 != big_sha:
            verdicts[name] = f"{data.BIG}: HTTP {got_big.status}, sha256 differs"
        else:
            verdicts[name] = "ok"
    return verdicts


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
    for _, server in bench.turns():
        rate, failed = load.request_rate(
            server.port,
            server.url_path(data.SMALL),
            {"Authorization": server.auth_header},
            p.rps_connections,
            p.rps_seconds,
        )
        row.add(server.name, rate)
        errors[server.name] = errors.get(server.name, 0) + failed
    events = tracked_events(bench.home) - events_before
    row.note = f"immoshare wrote {events:,} tracking events" + "".join(
        f"; {n}: {e} errors" for n, e in errors.items() if e
    )
    return [row]


def case_big_get(bench: Bench) -> list[Row]:
    p = bench.profile
    row = Row("3", f"GET of {p.big_bytes / 2**20:,.0f} MiB", "MB/s", Target(">=", 1.0, "copyparty"))
    for _, server in bench.turns(warm=(data.BIG,)):
        for _ in range(p.big_repeats):
            got = client.fetch(server, "GET", data.BIG, timeout=p.request_timeout)
            if got.status == 200 and got.nbytes == p.big_bytes:
                row.add(server.name, got.nbytes / got.elapsed / 1e6)
            else:
                row.note += f"{server.name}: HTTP {got.status}, {got.nbytes} B; "
    return [row]


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
            for _, server in bench.turns(WEBDAV_SERVERS):
                elapsed = propfind(server)
                if elapsed is not None:
                    timing.add(server.name, elapsed)
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
    for _, server in bench.turns(warm=(data.DOWNLOADS,)):
        paths = [server.url_path(f"{data.DOWNLOADS}/{name}") for name in names]
        results = client.concurrent_downloads(server, paths, p.download_timeout)
        failed = [r for r in results if r.error or r.nbytes != p.download_bytes]
        errors.add(server.name, len(failed))
        if failed:
            errors.note += f"{server.name}: {failed[0].error}; "
        first_byte.add(server.name, max(r.ttfb for r in results))
        progress(
            f"  case 7 {server.name}: {len(failed)} errors, "
            f"{max(r.elapsed for r in results):.1f} s for all"
        )
    return [errors, first_byte]
