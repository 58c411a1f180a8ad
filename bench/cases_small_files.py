"""Case 12: the 4 KiB WebDAV GET in every configuration that moved the ratio to
copyparty in outside measurements, each printed in every run with its spread.

The configurations: wrk with one thread and with two (``-c`` as in case 1,
``--latency``), the file in its case folder alone (``data.SMALL``) and the same kind
of file in the large property (``data.LARGE_SMALL``, beside ten thousand small files,
a 256 MiB file and 320 MiB in 40 files), against copyparty as its README shows and
with ``--usernames`` (``bench.peers``). Basic auth everywhere; immoshare checks the
grant and tracks every request (the note counts the events it wrote).

A round measures every configuration; within it the three servers take turns in an
order that rotates each round (``Bench.rotation``), so round i of immoshare and round i
of a peer share the machine's phase and their ratio is one point of the spread. Per
configuration the case prints the rate against each copyparty (target 1.2×: a lead
larger than the noise) and the 99th percentile of the response time against each
(target: not above copyparty's).
"""

from __future__ import annotations

from bench import data, load
from bench.context import Bench, progress
from bench.gateway_server import tracked_events
from bench.report import Row, Target

PEERS = ("copyparty", "copyparty-u")
THREADS = (1, 2)
FOLDERS = ((data.SMALL, "case folder"), (data.LARGE_SMALL, "large property"))
LEAD = 1.2  # immoshare / copyparty at the median, larger than the rounds' spread


def case_small_everywhere(bench: Bench) -> list[Row]:
    p = bench.profile
    names = ("immoshare", *PEERS)
    configs = [(threads, relative, where) for threads in THREADS for relative, where in FOLDERS]
    rates, p99s, errors = {}, {}, {}
    for config in configs:
        threads, _, where = config
        title = f"{p.small_bytes // 1024} KiB GET, wrk -t{threads} -c{p.rps_connections}, {where}"
        rates[config] = Row("12", title, "req/s", Target(">=", LEAD, PEERS[0]))
        p99s[config] = Row("12", f"p99 latency, {title}", "ms", Target("<=", 1.0, PEERS[0]))
    events_before = tracked_events(bench.home)
    for r in range(bench.rounds):
        for config in configs:
            threads, relative, _ = config
            for server in bench.rotation(r, names):
                got = load.measure(
                    server.port,
                    server.url_path(relative),
                    {"Authorization": server.auth_header},
                    p.rps_connections,
                    p.rps_seconds,
                    threads=threads,
                    latency=True,
                )
                rates[config].add(server.name, got.rate, r)
                if got.p99_ms is not None:
                    p99s[config].add(server.name, got.p99_ms, r)
                errors[config, server.name] = errors.get((config, server.name), 0) + got.errors
        progress(f"  case 12 round {r + 1}/{bench.rounds} done")
    rows = []
    for config in configs:
        rows += [rates[config].versus(peer) for peer in PEERS]
        rows += [p99s[config].versus(peer) for peer in PEERS]
        rows[-4].note = "".join(
            f"{name}: {n} errors; " for (c, name), n in errors.items() if c == config and n
        )
    events = tracked_events(bench.home) - events_before
    rows[0].note = f"immoshare wrote {events:,} tracking events; " + rows[0].note
    return rows
