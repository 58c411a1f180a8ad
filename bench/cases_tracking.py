"""Case 8: ``tracking export`` and ``tracking show --property`` over a million events.

The events are bulk-inserted into a home of their own (the serving home stays small)
with a valid hash chain made by ``gateway.services.tracking.chain_hash``, then the two
commands run as a user runs them: as a process, timed from start to exit.
"""

from __future__ import annotations

import datetime
import json
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.context import Bench, progress
from bench.report import Row, Target
from gateway.cli import cli
from gateway.services import tracking
from gateway.services.home import init_home

PROPERTIES = 1000  # events spread over this many property keys ...
CONTACTS = 2000  # ... and contacts; ``show --property`` picks one key
SHOWN = "obj-0007"
_START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _missing_commands() -> str | None:
    group = cli.get_command(None, "tracking")  # command modules load on first use
    missing = {"export", "show"} - set(getattr(group, "commands", {}))
    return ", ".join(sorted(missing)) if missing else None


def _values(i: int) -> dict:
    """The fields of event ``i``: a download or an open of one file by one contact."""
    at = _START + datetime.timedelta(seconds=i)
    return {
        "at": at,
        "property": f"obj-{i % PROPERTIES:04d}",
        "contact": f"{i % CONTACTS}",
        "agent": None,
        "channel": "web" if i % 3 else "dav",
        "action": "download" if i % 2 else "open",
        "path": f"Unterlagen/Dokument-{i % 50}.pdf",
        "bytes": 4096,
        "size": 4096,
        "complete": True,
        "status": 200,
        "sha256": None,
        "ip": "127.0.0.0",
        "user_agent": "bench",
        "uid": secrets.token_hex(16),
    }


def insert_events(home: Path, count: int) -> None:
    """A fresh home with ``count`` chained events, written in one transaction."""
    shutil.rmtree(home, ignore_errors=True)
    init_home(home)
    with sqlite3.connect(home / "immoshare.db") as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(access_event)") if r[1] != "id"]
        placeholders = ",".join("?" * len(columns))
        sql = f"INSERT INTO access_event ({','.join(columns)}) VALUES ({placeholders})"
        prev = tracking.GENESIS
        batch = []
        for i in range(count):
            values = _values(i)
            chained = {name: values.get(name, "") for name in tracking.CHAINED_FIELDS}
            chained["at"] = values["at"].isoformat()
            digest = tracking.chain_hash(prev, chained)
            row = {**values, "at": str(values["at"]), "prev_hash": prev, "hash": digest}
            batch.append([row.get(c, "" if c == "subject" else None) for c in columns])
            prev = digest
            if len(batch) == 10_000:
                db.executemany(sql, batch)
                batch.clear()
        db.executemany(sql, batch)
    (home / "bench-events.json").write_text(json.dumps({"events": count}))


def events_home(bench: Bench) -> Path:
    """The home with ``bench.profile.events`` chained events, made once and kept for
    the next run (cases 8 and 10 read it)."""
    n = bench.profile.events
    home = bench.work / "tracking-home"
    marker = home / "bench-events.json"
    if not marker.exists() or json.loads(marker.read_text()) != {"events": n}:
        progress(f"  writing {n:,} chained events …")
        insert_events(home, n)
    else:
        init_home(home)  # a home kept from an earlier run: its migrations since
    return home


def _timed(home: Path, *args: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "--home", str(home), *args],
        capture_output=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"immoshare {' '.join(args)}: {out.stderr.decode()[-300:]}")
    return elapsed, out.stdout


def case_tracking(bench: Bench) -> list[Row]:
    n = bench.profile.events
    export = Row("8", f"tracking export of {n:,} events", "ev/s", Target(">=", 50_000))
    show = Row("8", f"tracking show --property over {n:,} events", "ms", Target("<", 300))
    missing = _missing_commands()
    if missing:
        export.skipped = f"`immoshare tracking` has no {missing} command yet"
        return [export]
    home = events_home(bench)
    for _ in range(bench.rounds):
        elapsed, out = _timed(home, "tracking", "export", "--format", "ndjson")
        lines = out.count(b"\n")
        if lines < n:
            export.note += f"export printed {lines:,} lines of {n:,}; "
        export.add("immoshare", lines / elapsed)
    startup = [_timed(home, "--version")[0] * 1000 for _ in range(3)]
    for _ in range(bench.profile.page_repeats):
        show.add("immoshare", _timed(home, "tracking", "show", "--property", SHOWN)[0] * 1000)
    show.note = f"of which {statistics.median(startup):.0f} ms is starting the CLI (--version)"
    return [export, show]
