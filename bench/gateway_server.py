"""immoshare under test: a fresh home over the dataset, set up through the real CLI,
then ``immoshare --home H serve`` as its own process.

Every dataset folder is a property without the consent step (the bench measures
serving, not the consent form), granted to one contact whose read-only WebDAV login
the bench uses; an agent exists as in any real home.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import urllib.parse
from pathlib import Path

from click.testing import CliRunner

from bench.data import KEYS
from bench.servers import Server, StartError, free_port, spawn
from gateway import __version__
from gateway.cli import cli

CONTACT = "4711"
DB_FILES = ("immoshare.db", "immoshare.db-wal", "immoshare.db-shm", "immoshare.yaml", "secret.key")


def _run(home: Path, *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], input=input)
    if result.exit_code != 0:
        raise StartError(f"immoshare {' '.join(args)}: {result.output.strip()}")
    return result.stdout


def prepare_home(home: Path) -> tuple[tuple[str, str], dict[str, str]]:
    """A fresh database in ``home`` (its ``properties/`` is the dataset, kept), the
    bench's properties, contact, grants and agent. Returns the contact's WebDAV login
    and the path of their personal link per property."""
    for name in DB_FILES:
        (home / name).unlink(missing_ok=True)
    _run(home, "init")
    _run(home, "agent", "add", "bench-agent", "--password-stdin", input="bench-agent-pw\n")
    _run(home, "contact", "add", CONTACT, "--name", "Bench Kontakt")
    login, links = None, {}
    for key in KEYS:
        _run(home, "property", "add", key, "--title", f"Bench {key}", "--no-consent")
        granted = json.loads(_run(home, "grant", key, CONTACT, "--json"))
        login = login or (granted["username"], granted["password"])
        links[key] = urllib.parse.urlsplit(granted["link"]).path
    return login, links


def serve_command(home: Path, port: int, *options: str) -> list:
    """``immoshare --home HOME serve`` on loopback, as the bench starts every gateway;
    ``options`` go after it (``--workers 2``)."""
    return [
        sys.executable,
        "-m",
        "gateway",
        "--home",
        home,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        *options,
    ]


def start_serve(
    home: Path, work: Path, name: str, login: tuple[str, str], probe: str, *options: str
) -> Server:
    """One more ``serve`` on a prepared ``home`` (several may serve one home), ready
    once ``probe`` answers 200 to ``login``."""
    port = free_port()
    log = work / "logs" / f"{name}.log"
    proc = spawn(name, serve_command(home, port, *options), log)
    server = Server(name, port, "/view", login, proc, log, version=f"immoshare {__version__}")
    server.wait_ready(probe)
    return server


def start_immoshare(home: Path, work: Path, probe: str) -> tuple[Server, dict[str, str]]:
    """Serve ``home``; returns the server and the personal-link paths per property."""
    login, links = prepare_home(home)
    return start_serve(home, work, "immoshare", login, probe), links


def tracked_events(home: Path) -> int:
    """Tracking events in the home's database (the hook is on when this grows)."""
    with sqlite3.connect(home / "immoshare.db") as db:
        return db.execute("SELECT count(*) FROM access_event").fetchone()[0]
