"""One benchmark run: data, servers, content check, cases, table.

The cases: 1 4 KiB WebDAV GET rate; 2 the same through the contact page; 3 1 GiB GET
(and the large property's 256 MiB file); 4 PROPFIND of 10,000 files and memory; 5 zip
of a folder; 6 contact page and search; 7 200 concurrent downloads; 8 tracking export
and report; 9 scale-out on PostgreSQL + Redis; 10 the dashboard's tracking page; 11
OpenImmo import; 12 the 4 KiB GET in every configuration (wrk -t1/-t2 × case folder /
large property × copyparty with and without --usernames; rate, p99, spread);
13 ``serve --workers 1`` and ``2`` against ``copyparty -j 2`` (4 KiB and 1 GiB GET,
p99, server CPU per request).

immoshare must start (the run fails otherwise); a peer that cannot start is skipped
with a line saying why, and its columns stay empty. copyparty runs twice: as its
README shows (password-only accounts) and as ``copyparty-u`` with ``--usernames``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time
from pathlib import Path

from bench import (
    cases_dashboard,
    cases_dav,
    cases_import,
    cases_scaleout,
    cases_small_files,
    cases_tracking,
    cases_web,
    cases_workers,
    data,
    load,
    peers,
    report,
)
from bench.context import Bench, progress
from bench.gateway_server import start_immoshare
from bench.profiles import FULL, SMOKE
from bench.profiling import Sampler, summarize
from bench.servers import StartError
from bench.venv import ensure_peer_env

WORK = Path(__file__).resolve().parent / ".work"

CASES = {
    "1": cases_dav.case_small_get,
    "2": cases_web.case_page_download,
    "3": cases_dav.case_big_get,
    "4": cases_dav.case_propfind,
    "5": cases_web.case_zip,
    "6": cases_web.case_page_and_search,
    "7": cases_dav.case_concurrent_downloads,
    "8": cases_tracking.case_tracking,
    "9": cases_scaleout.case_scaleout,
    "10": cases_dashboard.case_dashboard,
    "11": cases_import.case_import,
    "12": cases_small_files.case_small_everywhere,
    "13": cases_workers.case_workers,
}


def machine() -> str:
    with open("/proc/meminfo") as fh:
        mem_kib = int(fh.readline().split()[1])
    return (
        f"{os.cpu_count()} vCPU, {mem_kib / 2**20:.0f} GiB, {platform.system()}, "
        f"Python {platform.python_version()}"
    )


def start_servers(work: Path, home: Path, wanted: list[str]) -> tuple[dict, dict, list[str]]:
    """The running servers (immoshare first), the personal links, and skip lines."""
    root = home / "properties"
    servers, lines = {}, []
    server, links = start_immoshare(home, work, data.SMALL)
    servers["immoshare"] = server
    env = ensure_peer_env(WORK / "venv")
    starters = {
        "copyparty": lambda: peers.start_copyparty(env, root, work, data.SMALL),
        "copyparty-u": lambda: peers.start_copyparty(
            env, root, work, data.SMALL, name="copyparty-u", usernames=True
        ),
        "wsgidav": lambda: peers.start_wsgidav(env, root, work, data.SMALL),
        "nginx": lambda: peers.start_nginx(root, work, data.SMALL),
        "cheroot": lambda: peers.start_cheroot(root, work, data.SMALL),
    }
    for name, start in starters.items():
        if name not in wanted:
            continue
        try:
            servers[name] = start()
        except StartError as exc:
            lines.append(f"{name}: skipped — {exc}")
    return servers, links, lines


def run(argv: list[str] | None = None) -> tuple[list[report.Row], dict[str, str]]:
    """Run the benchmark; print the table; return the rows and the content verdicts."""
    args = parse_args(argv)
    profile = SMOKE if args.smoke else FULL
    work = WORK / profile.name
    home = work / "home"
    started = time.monotonic()
    progress(f"bench ({profile.name}): data in {work}")
    dataset = data.ensure_dataset(home / "properties", profile, work / "data.json")
    servers, links, lines = start_servers(work, home, args.servers)
    rows: list[report.Row] = []
    profiles = []
    try:
        bench = Bench(profile, dataset, work, home, servers, links, args.rounds or profile.rounds)
        verdicts = cases_dav.verify_content(bench)
        for server in servers.values():
            waited = server.wait_idle(profile.settle_timeout)
            lines.append(f"{server.name}: idle after {waited:.0f} s of start-up work")
        for number in args.cases:
            progress(f"case {number} …")
            sampler = contextlib.nullcontext()
            if args.profile:
                profiles.append(work / "profiles" / f"case-{number}.txt")
                sampler = Sampler(
                    ensure_peer_env(WORK / "venv"), bench.immoshare.proc.pid, profiles[-1]
                )
            with sampler:
                rows += CASES[number](bench)
    finally:
        for server in servers.values():
            server.stop()
    header = [
        f"machine: {machine()}",
        f"load generator: {load.generator_name()}",
        "servers: " + "; ".join(s.version for s in servers.values()),
        "content check: " + "; ".join(f"{n} {v}" for n, v in verdicts.items()),
        *lines,
        f"run took {time.monotonic() - started:.0f} s",
    ]
    notes = [f"case {r.case}, {r.metric}: {r.note.strip('; ')}" for r in rows if r.note]
    summaries = [summarize(p) for p in profiles if p.exists()]
    text = "\n".join([*header, "", report.table(rows), "", *notes, "", *summaries])
    print(text, flush=True)
    (work / "results.md").write_text(text + "\n")
    return rows, verdicts


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, one round: seconds")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        type=lambda s: s.split(","),
        help="comma-separated case numbers (default: all)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per case (default: by profile)")
    parser.add_argument(
        "--servers",
        default=",".join(report.SERVERS),
        type=lambda s: s.split(","),
        help="comma-separated servers; immoshare always runs",
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample immoshare with py-spy during each case"
    )
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    return args
