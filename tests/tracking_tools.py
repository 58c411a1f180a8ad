"""Helpers of the tracking tests: wait for events, talk raw HTTP."""

from __future__ import annotations

import socket
import struct

from gateway.models import AccessEvent
from gateway.services import tracking
from tests.security import rawhttp
from tests.tools import HANG_SECONDS, wait_until


def recorded_events(action: str | None = None) -> list[AccessEvent]:
    """Every stored event (those of ``action``, if given), oldest first, once the
    tracking writer has stored what was recorded so far."""
    assert tracking.flush(), "the tracking writer did not store its events"
    query = AccessEvent.select().order_by(AccessEvent.id)
    if action:
        query = query.where(AccessEvent.action == action)
    return list(query)


def stored_events(**match) -> list[dict]:
    """Events in the database as INTERFACE.md names them, those matching ``match``."""
    events = [tracking.public_event(e) for e in AccessEvent.select().order_by(AccessEvent.id)]
    return [e for e in events if all(e[k] == v for k, v in match.items())]


def wait_for_events(count: int, **match) -> list[dict]:
    """Wait until ``count`` matching events are stored, and return them all. The
    server calls ``close()`` (which records the event) only after the client has the
    last byte."""

    def enough() -> list[dict] | None:
        assert tracking.flush(), "the tracking writer did not store its events"
        events = stored_events(**match)
        return events if len(events) >= count else None

    return wait_until(
        enough, message=lambda: f"not {count} events {match}: {stored_events(**match)}"
    )


def read_part_and_hang_up(port: int, path: str, headers: dict, keep: int) -> int:
    """GET ``path``, read the headers and about ``keep`` body bytes, then drop the
    connection. Returns the body bytes read."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head, body = rawhttp.read_head(sock)
    assert head.split(b" ")[1] in (b"200", b"206"), head
    received = len(body)
    while received < keep:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += len(chunk)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # with linger 0: a reset, as when a browser tab is closed
    return received


#: What two records of the same access must share: everything but id and time.
COMPARED_FIELDS = tuple(f for f in tracking.PUBLIC_FIELDS if f not in ("id", "at")) + (
    "range_start",
)


def comparable(event) -> dict:
    """An ``AccessEvent``'s fields that say what happened (see ``COMPARED_FIELDS``)."""
    return {field: getattr(event, field) for field in COMPARED_FIELDS}
