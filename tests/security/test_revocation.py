"""Revocation reaches running work: a download or zip in progress stops after
``revoke`` (its event says ``complete: false``), and a Range continuation after the
revoke is refused. Over the link and over WebDAV.

The client reads slowly through a small receive buffer, so the server is still
sending when the grant is revoked, and keeps reading slowly until the connection
ends: read that slowly, the file could not have arrived whole before the deadline
that catches a transfer never cut. How soon a revoke cuts is not asserted here.
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
from tests.tools import HANG_SECONDS, wait_until

pytestmark = [pytest.mark.server, pytest.mark.slow]

BIG = 48 * 1024 * 1024
STEP = 16 * 1024  # read per pause of 0.02 s: under 1 MiB/s, so BIG takes a minute


@pytest.fixture
def big_files(world):
    folder = world.config.properties_dir / "obj-1"
    (folder / "Fotos").mkdir()
    block = os.urandom(1024 * 1024)
    (folder / "big.bin").write_bytes(block * (BIG // len(block)))
    for n in range(4):
        (folder / "Fotos" / f"foto-{n}.jpg").write_bytes(block * 12)
    return folder


class SlowDownload:
    """A GET read by a slow client: a small receive buffer, a pause between reads."""

    def __init__(self, port: int, target: bytes, headers: dict):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(HANG_SECONDS)
        lines = [f"GET {target.decode()} HTTP/1.1", "Host: x", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head, body = rawhttp.read_head(self.sock)
        self.status = int(head.split()[1])
        self.length = int(rawhttp.header(head, "content-length"))
        self.received = len(body)
        self.ended = False

    @property
    def cut(self) -> bool:
        """The connection ended before the whole body came."""
        return self.ended and self.received < self.length

    def _read(self, size: int) -> None:
        try:
            chunk = self.sock.recv(size)
        except ConnectionResetError:
            chunk = b""
        self.received += len(chunk)
        self.ended = not chunk

    def step(self) -> bool:
        """Read a little, slowly; whether the connection has ended."""
        self._read(STEP)
        time.sleep(0.02)  # the pace of a slow client, not a wait for anything
        return self.ended

    def flowing(self) -> bool:
        """Read slowly until 2 MiB of the body have come: the transfer is under way."""
        while self.received < 2 * 1024 * 1024 and not self.ended:
            self.step()
        return not self.ended

    def until_ended(self) -> None:
        """Read slowly until the connection ends; a transfer never ended is a hang."""
        wait_until(
            lambda: self.ended or self.step(),
            interval=0,
            message=lambda: f"not ended after {self.received} bytes",
        )

    def rest(self) -> None:
        """Read the rest as fast as it comes."""
        while not self.ended:
            self._read(1024 * 1024)

    def close(self) -> None:
        self.sock.close()


def _slow_read_then_revoke(port, target: bytes, headers: dict) -> SlowDownload:
    """GET ``target``; revoke 4711's grant of obj-1 once the body flows; keep reading
    slowly until the connection ends."""
    download = SlowDownload(port, target, headers)
    try:
        assert download.flowing()
        grants.revoke_access("obj-1", "4711")
        download.until_ended()
    finally:
        download.close()
    return download


def _event(path: str, action: str) -> AccessEvent:
    return wait_until(
        lambda: (
            AccessEvent.select()
            .where((AccessEvent.path == path) & (AccessEvent.action == action))
            .first()
        ),
        message=f"no {action} event for {path}",
    )


def test_link_download_stops_at_revoke(server, world, big_files):
    download = _slow_read_then_revoke(server.port, f"/s/{world.link}/download/big.bin".encode(), {})
    assert download.status == 200 and download.cut, download.received
    event = _event("big.bin", "download")
    assert event.complete is False and 0 < event.bytes < BIG
    again = requests.get(
        f"{server.url}/s/{world.link}/download/big.bin",
        headers={"Range": f"bytes={download.received}-"},
    )
    assert again.status_code == 404 and len(again.content) < 100_000


def test_link_zip_stops_at_revoke(server, world, big_files):
    download = _slow_read_then_revoke(server.port, f"/s/{world.link}/zip?dir=Fotos".encode(), {})
    assert download.status == 200 and download.cut, download.received
    event = _event("Fotos", "zip")
    assert event.complete is False and event.bytes < event.size
    assert requests.get(f"{server.url}/s/{world.link}/zip?dir=Fotos").status_code == 404


def test_dav_download_stops_at_revoke(server, world, big_files):
    auth = {"Authorization": rawhttp.basic(*world.contact)}
    download = _slow_read_then_revoke(server.port, b"/view/obj-1/big.bin", auth)
    assert download.status == 200 and download.cut, download.received
    event = _event("big.bin", "download")
    assert event.complete is False and event.contact == "4711"
    again = requests.get(
        f"{server.url}/view/obj-1/big.bin",
        auth=world.contact,
        headers={"Range": f"bytes={download.received}-"},
    )
    assert again.status_code == 404


def test_agent_download_is_not_cut_by_a_contacts_revoke(server, world, big_files):
    """The agent's download runs beside the contact's until the revoke has cut the
    contact's: by then the server has checked the access of running transfers."""
    agent = SlowDownload(
        server.port, b"/dav/obj-1/big.bin", {"Authorization": rawhttp.basic(*world.agent)}
    )
    contact = SlowDownload(
        server.port, b"/view/obj-1/big.bin", {"Authorization": rawhttp.basic(*world.contact)}
    )
    try:
        assert agent.flowing() and contact.flowing()
        grants.revoke_access("obj-1", "4711")

        def both_read_on() -> bool:
            agent.step()
            return contact.step()

        wait_until(both_read_on, interval=0, message="the contact's download was never cut")
        agent.rest()
    finally:
        agent.close()
        contact.close()
    assert contact.cut
    assert agent.status == 200 and not agent.cut and agent.received == BIG
