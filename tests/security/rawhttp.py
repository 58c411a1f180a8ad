"""One HTTP/1.1 request over a raw socket, with the request target sent byte for byte.

``requests`` and ``urllib3`` normalise paths (``..``, percent-encoding); attacks need
the exact bytes on the wire.
"""

from __future__ import annotations

import dataclasses
import socket

from tests.tools import basic  # noqa: F401 - offered beside request()


@dataclasses.dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    reason: str = ""

    @property
    def raw(self) -> bytes:
        return "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode() + self.body


def request(
    port: int,
    method: str,
    target: bytes,
    headers: dict | None = None,
    body: bytes = b"",
    timeout: float = 20,
    source: str | None = None,
) -> RawResponse:
    """Send one request with ``Connection: close`` and read the whole answer.

    ``source`` is the loopback address to connect from (``127.0.0.2``: another client).
    """
    lines = [
        method.encode() + b" " + target + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
    ]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}".encode("latin-1"))
    if body or method in ("PUT", "PROPFIND", "PROPPATCH", "LOCK"):
        lines.append(f"Content-Length: {len(body)}".encode())
    return exchange(port, b"\r\n".join(lines) + b"\r\n\r\n" + body, timeout, source)


def exchange(port: int, data: bytes, timeout: float = 20, source: str | None = None) -> RawResponse:
    """Send ``data`` exactly as given (request line, headers and all) and read the
    whole answer; the connection is closed after it."""
    with socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None
    ) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return parse(answer)


def parse(data: bytes) -> RawResponse:
    """One HTTP answer, as read from the socket."""
    head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    _, status, reason = (status_line.split(" ", 2) + [""])[:3]
    return RawResponse(int(status), parsed, payload, reason)


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The status line and headers of an answer on ``sock``, and the first body bytes
    that came with them. Fails if the connection ends before the headers do."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection ended within the headers: {data[:300]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def header(head: bytes, name: str) -> str | None:
    """The value of header ``name`` (any case) in ``head``, or None."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.decode("latin-1").partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def read_at_least(sock: socket.socket, count: int) -> int:
    """Receive until ``count`` bytes have come; returns how many did. Fails if the
    connection ends first."""
    received = 0
    while received < count:
        chunk = sock.recv(65536)
        assert chunk, f"the connection ended after {received} of {count} bytes"
        received += len(chunk)
    return received
