"""Nothing lost: a server killed with SIGKILL still has every access it started
serving once it runs again."""

from __future__ import annotations

import hashlib
import json
import signal
import socket

import pytest
import requests

from tests.factories import make_contact, make_grant, make_property
from tests.security import rawhttp
from tests.tools import HANG_SECONDS, ServerProcess, basic

pytestmark = [pytest.mark.server, pytest.mark.slow]

PLAN = b"%PDF-1.7 Grundriss " + bytes(range(256)) * 4000
FILM_SIZE = 48 * 1024 * 1024


@pytest.fixture
def granted(config):
    make_property(
        config, "obj-1", files={"Grundrisse/EG.pdf": PLAN, "Film.mp4": b"\x42" * FILM_SIZE}
    )
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


def exported(cli) -> list[dict]:
    result = cli("tracking", "export")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_download_then_sigkill_the_event_is_there_after_restart(home, granted, cli):
    server = ServerProcess(home)
    r = requests.get(
        server.url + "/view/obj-1/Grundrisse/EG.pdf", auth=(granted.username, granted.password)
    )
    assert r.content == PLAN
    server.stop(signal.SIGKILL)
    restarted = ServerProcess(home)
    restarted.stop()  # a clean stop: the journal is stored and removed
    assert not list((home / "journal").glob("*.jsonl"))
    [event] = [e for e in exported(cli) if e["path"] == "Grundrisse/EG.pdf"]
    assert (event["contact"], event["size"], event["sha256"]) == (
        "4711",
        len(PLAN),
        hashlib.sha256(PLAN).hexdigest(),
    )
    # The client had every byte; the server is killed a moment later, before or
    # after its close() finished the event: then the journaled start stands for it.
    assert event["complete"] == (event["bytes"] == len(PLAN))


def test_sigkill_mid_download_leaves_an_incomplete_event_once(home, granted, cli):
    server = ServerProcess(home)
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS) as sock:
        sock.sendall(
            (
                "GET /view/obj-1/Film.mp4 HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: {basic(granted.username, granted.password)}\r\n\r\n"
            ).encode()
        )
        rawhttp.read_at_least(sock, 1024 * 1024)
        server.stop(signal.SIGKILL)  # mid-file: close() never runs
    restarted = ServerProcess(home)
    restarted.stop()
    [event] = [e for e in exported(cli) if e["path"] == "Film.mp4"]
    assert (event["contact"], event["complete"], event["size"]) == ("4711", False, FILM_SIZE)
    assert event["bytes"] < FILM_SIZE
    again = ServerProcess(home)
    again.stop()
    assert [e["path"] for e in exported(cli)].count("Film.mp4") == 1


@pytest.mark.parametrize(
    "route,path,action",
    [
        ("download/Film.mp4", "Film.mp4", "download"),
        ("zip", "", "zip"),
    ],
)
def test_sigkill_mid_web_download_leaves_an_incomplete_event(
    home, granted, cli, route, path, action
):
    """The contact page journals its transfers before the first byte, as WebDAV does."""
    server = ServerProcess(home)
    token = granted.link.rsplit("/", 1)[1]
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS) as sock:
        sock.sendall(f"GET /s/{token}/{route} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        rawhttp.read_at_least(sock, 1024 * 1024)
        server.stop(signal.SIGKILL)
    restarted = ServerProcess(home)
    restarted.stop()
    [event] = [e for e in exported(cli) if e["action"] == action and e["path"] == path]
    assert (event["contact"], event["channel"], event["complete"]) == ("4711", "web", False)
