"""The server process: sized for many downloads, stops cleanly on signals."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import time
import tracemalloc

import pytest
import requests

from gateway.server import make_server
from gateway.services.home import open_home
from tests.factories import make_contact, make_grant, make_property
from tests.tools import ServerProcess, ThreadedServer, basic, certificate

pytestmark = pytest.mark.server


def test_pool_sized_for_200_concurrent_downloads(config):
    server = make_server(config, "127.0.0.1", 0)
    assert server.requests.min >= 200
    assert server.keep_alive_conn_limit >= 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_on_signal(home, sig):
    proc = ServerProcess(home)
    assert requests.get(proc.url + "/healthz").text == "ok"
    proc.stop(sig)
    assert proc.proc.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(proc.url + "/healthz", timeout=2)


MiB = 1024 * 1024


def test_slow_tls_reader_costs_one_block_of_memory_not_copies(home):
    """Over TLS (no sendfile there) a file goes out in 1 MiB blocks. A client that
    reads slowly takes each block in many pieces; the server must send them from the
    block itself. cheroot's own writer copied the rest of the block for every piece,
    holding the GIL that every other download needs: a 1 GiB download over
    TLS took twice the CPU."""
    cert, key = certificate(home.parent)
    config = open_home(home, {"tls_cert": str(cert), "tls_key": str(key)})
    body = os.urandom(3 * MiB)
    make_property(config, "obj-1", "Musterstraße 5", files={"big.bin": body})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    request = (
        b"GET /view/obj-1/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        + f"Authorization: {basic(granted.username, granted.password)}\r\n\r\n".encode()
    )
    server = ThreadedServer(config)
    port = server.port
    try:
        _tls_get(port, cert, request.replace(b"GET", b"HEAD"))  # the password check first
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            head, length, digest = _tls_get(port, cert, request, slowly=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        server.stop()
    assert head.startswith(b"HTTP/1.1 200")
    assert (length, digest) == (len(body), hashlib.sha256(body).hexdigest())
    # the block going out and the one read after it (2 MiB); cheroot's writer added a
    # copy of the block's rest for the send (3 MiB)
    assert peak - before < 2.5 * MiB, f"{(peak - before) / MiB:.2f} MiB"


def _tls_get(port, cert, request, slowly=False):
    """Head, body length and sha256 of one answer; ``slowly``: a small receive window,
    read with pauses, so that the server's sends go out in pieces."""
    context = ssl.create_default_context(cafile=str(cert))
    with socket.socket() as raw:
        if slowly:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        raw.settimeout(30)
        raw.connect(("127.0.0.1", port))
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            sock.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                byte = sock.recv(1)
                assert byte, f"closed after {head!r}"
                head += byte
            buffer = bytearray(16384)
            view = memoryview(buffer)
            digest, length = hashlib.sha256(), 0
            while n := sock.recv_into(buffer):
                digest.update(view[:n])
                length += n
                if slowly and length % (256 * 1024) < n:
                    time.sleep(0.005)
            return head, length, digest.hexdigest()
