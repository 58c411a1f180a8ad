"""Revocation reaches running work: a download or zip in progress stops within a
second of ``revoke`` (its event says ``complete: false``), and a Range continuation
after the revoke is refused. Over the link and over WebDAV.

The client reads slowly through a small receive buffer, so the server is still
sending when the grant is revoked. A second after the revoke it starts reading as
fast as it can: had the server not stopped by then, the whole file would follow.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
import requests

from gateway.models import AccessEvent
from gateway.services import grants
from tests.security import rawhttp

pytestmark = [pytest.mark.server, pytest.mark.slow]

BIG = 48 * 1024 * 1024


@pytest.fixture
def big_files(world):
    folder = world.config.properties_dir / "obj-1"
    (folder / "Fotos").mkdir()
    block = os.urandom(1024 * 1024)
    (folder / "big.bin").write_bytes(block * (BIG // len(block)))
    for n in range(4):
        (folder / "Fotos" / f"foto-{n}.jpg").write_bytes(block * 12)
    return folder


def _slow_read_then_revoke(port, target: bytes, headers: dict) -> tuple[int, int, bool]:
    """GET ``target``; revoke 4711's grant of obj-1 once the body flows; keep reading
    slowly for 1.2 s, then as fast as possible. Returns (status, body bytes received,
    whether the body ended before its Content-Length)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(30)
    lines = [f"GET {target.decode()} HTTP/1.1", "Host: x", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    received = len(body)
    while received < 2 * 1024 * 1024:  # the body flows
        received += len(sock.recv(16 * 1024))
        time.sleep(0.005)
    grants.revoke_access("obj-1", "4711")
    revoked = time.monotonic()
    while time.monotonic() - revoked < 1.2:
        chunk = sock.recv(16 * 1024)
        if not chunk:
            break
        received += len(chunk)
        time.sleep(0.02)
    sock.settimeout(10)
    try:
        while chunk := sock.recv(1024 * 1024):
            received += len(chunk)
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return status, received, received < length


def _event(path: str, action: str) -> AccessEvent:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        event = (
            AccessEvent.select()
            .where((AccessEvent.path == path) & (AccessEvent.action == action))
            .first()
        )
        if event is not None:
            return event
        time.sleep(0.2)
    raise AssertionError(f"no {action} event for {path}")


def test_link_download_stops_at_revoke(server, world, big_files):
    status, received, cut = _slow_read_then_revoke(
        server.port, f"/s/{world.link}/download/big.bin".encode(), {}
    )
    assert status == 200 and cut, received
    assert received < BIG // 2
    event = _event("big.bin", "download")
    assert event.complete is False and 0 < event.bytes < BIG
    again = requests.get(
        f"{server.url}/s/{world.link}/download/big.bin", headers={"Range": f"bytes={received}-"}
    )
    assert again.status_code == 404 and len(again.content) < 100_000


def test_link_zip_stops_at_revoke(server, world, big_files):
    status, received, cut = _slow_read_then_revoke(
        server.port, f"/s/{world.link}/zip?dir=Fotos".encode(), {}
    )
    assert status == 200 and cut, received
    event = _event("Fotos", "zip")
    assert event.complete is False and event.bytes < event.size
    assert requests.get(f"{server.url}/s/{world.link}/zip?dir=Fotos").status_code == 404


def test_dav_download_stops_at_revoke(server, world, big_files):
    auth = {"Authorization": rawhttp.basic(*world.contact)}
    status, received, cut = _slow_read_then_revoke(server.port, b"/view/obj-1/big.bin", auth)
    assert status == 200 and cut, received
    assert received < BIG // 2
    event = _event("big.bin", "download")
    assert event.complete is False and event.contact == "4711"
    again = requests.get(
        f"{server.url}/view/obj-1/big.bin",
        auth=world.contact,
        headers={"Range": f"bytes={received}-"},
    )
    assert again.status_code == 404


def test_agent_download_is_not_cut_by_a_contacts_revoke(server, world, big_files):
    auth = {"Authorization": rawhttp.basic(*world.agent)}
    status, received, cut = _slow_read_then_revoke(server.port, b"/dav/obj-1/big.bin", auth)
    assert status == 200 and not cut and received == BIG
