"""Case 13: one machine, several cores — ``immoshare serve --workers 1`` and
``--workers 2`` against ``copyparty -j 2``.

The case starts its three servers itself and stops them at its end: two more
``serve`` processes on the bench's home (its database, properties and the contact's
login; several processes may serve one home, and the bench's own immoshare stays
running, idle), and copyparty as its README shows (password-only accounts) with
``-j 2``. Each is content-checked like the bench's servers before it is timed.

A round gives each setup, in an order rotating each round, the 4 KiB GET (wrk
``-t2``, ``-c`` as case 1, ``--latency``) and then the 1 GiB GET of case 3 (the file
read into the page cache before each turn). Server CPU per request is the user plus
system time of the server's process and all its descendants (``Server.cpu_seconds``:
the supervisor and its forked workers; copyparty's ``-j`` worker processes — the note
says how many processes each setup had) over the requests of the turn.

Rows name the setups in the metric: the immoshare column holds the ``serve`` setup,
the copyparty column ``copyparty -j 2``. Targets: ``--workers 2`` ahead of copyparty
``-j 2`` on both GETs and at least 1.3× ``--workers 1`` on the small one; its p99 not
above copyparty's.
"""

from __future__ import annotations

import contextlib
import dataclasses

from bench import client, data, load
from bench.cases_dav import check_server
from bench.context import Bench, progress
from bench.gateway_server import start_serve
from bench.peers import start_copyparty
from bench.report import Row, Target
from bench.servers import Server, StartError
from bench.venv import ensure_peer_env

WORKERS = (1, 2)
COPYPARTY_PROCESSES = 2
SCALING = 1.3  # --workers 2 / --workers 1 on the small GET
PEER = "copyparty"  # the column copyparty -j 2 is shown in


@dataclasses.dataclass
class Setup:
    label: str  # as the metric names it
    server: Server
    workers: int | None  # of immoshare; None for copyparty -j 2


@dataclasses.dataclass
class Rows:
    """One kind of row per immoshare setup, each beside copyparty -j 2."""

    by_workers: dict[int, Row]

    def add(self, setup: Setup, value: float, r: int) -> None:
        if setup.workers is None:
            for row in self.by_workers.values():
                row.add(PEER, value, r)
        else:
            self.by_workers[setup.workers].add("immoshare", value, r)


def _rows(title: str, unit: str, target: Target | None = None) -> Rows:
    """``title`` for each immoshare setup beside copyparty -j 2; ``target`` on the
    row of the most workers."""
    return Rows(
        {
            n: Row(
                "13",
                f"{title}: --workers {n} vs copyparty -j {COPYPARTY_PROCESSES}",
                unit,
                target if n == WORKERS[-1] else None,
            )
            for n in WORKERS
        }
    )


def _start(bench: Bench, stack: contextlib.ExitStack) -> tuple[list[Setup], list[str]]:
    """The setups that started, and a line for each that did not."""
    setups, lines = [], []
    for n in WORKERS:
        label = f"--workers {n}"
        login = bench.immoshare.auth
        server = start_serve(
            bench.home, bench.work, f"immoshare-w{n}", login, data.SMALL, "--workers", str(n)
        )
        stack.callback(server.stop)
        setups.append(Setup(label, server, n))
    try:
        env = ensure_peer_env(bench.work.parent / "venv")  # the run's: bench/.work/venv
        peer = start_copyparty(
            env,
            bench.data.root,
            bench.work,
            data.SMALL,
            name=f"copyparty-j{COPYPARTY_PROCESSES}",
            processes=COPYPARTY_PROCESSES,
        )
        stack.callback(peer.stop)
        setups.append(Setup(f"copyparty -j {COPYPARTY_PROCESSES}", peer, None))
    except StartError as exc:
        lines.append(f"copyparty -j {COPYPARTY_PROCESSES} skipped — {exc}")
    return setups, lines


@dataclasses.dataclass
class Results:
    """Every row of the case, filled turn by turn."""

    rates: Rows
    scaling: Row
    p99: Rows
    cpu_small: Rows
    speed: Rows
    cpu_big: Rows
    errors: dict[str, int] = dataclasses.field(default_factory=dict)

    @classmethod
    def empty(cls, bench: Bench) -> Results:
        p = bench.profile
        small = f"{p.small_bytes // 1024} KiB GET, wrk -t2 -c{p.rps_connections}"
        big = f"GET of {p.big_bytes / 2**20:,.0f} MiB"
        return cls(
            _rows(small, "req/s", Target(">=", 1.0, PEER)),
            Row("13", f"{small}: --workers 2 / --workers 1", "×", Target(">=", SCALING)),
            _rows(f"p99 latency, {small}", "ms", Target("<=", 1.0, PEER)),
            _rows(f"server CPU per request, {small}", "ms"),
            _rows(big, "MB/s", Target(">=", 1.0, PEER)),
            _rows(f"server CPU per request, {big}", "ms"),
        )

    def rows(self) -> list[Row]:
        return [
            *self.rates.by_workers.values(),
            self.scaling,
            *self.p99.by_workers.values(),
            *self.cpu_small.by_workers.values(),
            *self.speed.by_workers.values(),
            *self.cpu_big.by_workers.values(),
        ]

    def error(self, setup: Setup, n: int = 1) -> None:
        self.errors[setup.label] = self.errors.get(setup.label, 0) + n


def _small_turn(bench: Bench, setup: Setup, r: int, results: Results) -> float:
    """The 4 KiB GET on ``setup`` (wrk -t2, --latency); returns the rate."""
    p, server = bench.profile, setup.server
    before = server.cpu_seconds()
    got = load.measure(
        server.port,
        server.url_path(data.SMALL),
        {"Authorization": server.auth_header},
        p.rps_connections,
        p.rps_seconds,
        threads=2,
        latency=True,
    )
    used = server.cpu_seconds() - before
    results.error(setup, got.errors)
    results.rates.add(setup, got.rate, r)
    if got.p99_ms is not None:
        results.p99.add(setup, got.p99_ms, r)
    if got.requests:
        results.cpu_small.add(setup, 1000 * used / got.requests, r)
    return got.rate


def _big_turn(bench: Bench, setup: Setup, r: int, results: Results) -> None:
    """``big_repeats`` GETs of the big file on ``setup``, read into the page cache first."""
    p, server = bench.profile, setup.server
    bench.data.warm(data.BIG)
    before = server.cpu_seconds()
    done = 0
    for _ in range(p.big_repeats):
        got = client.fetch(server, "GET", data.BIG, timeout=p.request_timeout)
        if got.status == 200 and got.nbytes == p.big_bytes:
            results.speed.add(setup, got.nbytes / got.elapsed / 1e6, r)
            done += 1
        else:
            results.error(setup)
    if done:
        results.cpu_big.add(setup, 1000 * (server.cpu_seconds() - before) / done, r)


def case_workers(bench: Bench) -> list[Row]:
    results = Results.empty(bench)
    with contextlib.ExitStack() as stack:
        try:
            setups, lines = _start(bench, stack)
        except StartError as exc:
            row = Row("13", "immoshare serve --workers 1 and 2 against copyparty -j 2", "req/s")
            row.skipped = f"a serve --workers process did not start: {exc}"
            return [row]
        for setup in setups:
            waited = setup.server.wait_idle(bench.profile.settle_timeout)
            progress(f"  case 13 {setup.label}: idle after {waited:.0f} s of start-up work")
        checks = {s.label: check_server(bench, s.server) for s in setups}
        processes = {s.label: len(s.server.pids()) for s in setups}
        for r in range(bench.rounds):
            order = setups[r % len(setups) :] + setups[: r % len(setups)]
            rate = {s.workers: _small_turn(bench, s, r, results) for s in order}
            if rate.get(1):
                results.scaling.add("immoshare", rate[2] / rate[1], r)
            for setup in order:
                _big_turn(bench, setup, r, results)
            progress(f"  case 13 round {r + 1}/{bench.rounds} done")
    rows = results.rows()
    rows[0].note = (
        "content check: "
        + "; ".join(f"{label} {verdict}" for label, verdict in checks.items())
        + "; processes counted for CPU: "
        + ", ".join(f"{label} {n}" for label, n in processes.items())
        + "".join(f"; {label}: {n} errors" for label, n in results.errors.items() if n)
        + "".join(f"; {line}" for line in lines)
    )
    return rows
