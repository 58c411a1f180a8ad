"""The lean reader and writer (``gateway.serving.lean_http``) answer as cheroot does.

Each request goes to the real server twice on one kept-alive connection: once plain,
so the lean path takes it, and once with a repeated header, which only cheroot reads.
Status line, headers (but ``Date``) and body must be the same, and the first must
really have taken the lean path. Heads that are not plain must never be taken.
"""

from __future__ import annotations

import socket
import urllib.parse

import pytest

from gateway.serving import lean_http, transport
from tests.factories import make_contact, make_grant, make_property
from tests.tools import HANG_SECONDS, basic

CONTENT = bytes(range(256)) * 40


@pytest.fixture
def login(config):
    make_property(
        config,
        "obj-1",
        "Musterstraße 5",
        files={"plan.pdf": CONTENT, "Grundrisse/EG ü.pdf": CONTENT[:999]},
    )
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    return basic(granted.username, granted.password)


@pytest.fixture
def taken(monkeypatch):
    """Requests the lean path answered."""
    answered = []

    def counting(conn, head_end, parsed):
        answered.append(parsed[1])
        return lean_http.serve_plain(conn, head_end, parsed)

    monkeypatch.setattr(transport, "serve_plain", counting)
    return answered


def connect(port: int, taken: list) -> socket.socket:
    """A kept-alive connection whose first request is answered: the lean path takes a
    request whose head has arrived whole, and a new connection's first request may
    still be on its way when a worker takes it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    read_answer(sock, bytearray())
    taken.clear()
    return sock


def read_answer(sock, buffer: bytearray, head_only: bool = False) -> tuple[bytes, bytes]:
    """One answer from the kept-alive connection: its head and its body."""
    while b"\r\n\r\n" not in buffer:
        buffer += _more(sock)
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    del buffer[:end]
    fields = {
        line.split(b":", 1)[0].lower(): line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")[1:]
        if b":" in line
    }
    if head_only or head.split(b" ")[1] in (b"304", b"204"):
        return head, b""
    if fields.get(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            while b"\r\n" not in buffer:
                buffer += _more(sock)
            size_end = buffer.index(b"\r\n")
            size = int(buffer[:size_end], 16)
            while len(buffer) < size_end + 2 + size + 2:
                buffer += _more(sock)
            body += bytes(buffer[size_end + 2 : size_end + 2 + size])
            del buffer[: size_end + 2 + size + 2]
            if size == 0:
                return head, body
    length = int(fields.get(b"content-length", b"0"))
    while len(buffer) < length:
        buffer += _more(sock)
    body = bytes(buffer[:length])
    del buffer[:length]
    return head, body


def _more(sock) -> bytes:
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("the server closed the connection")
    return data


def comparable(head: bytes) -> list[bytes]:
    return sorted(line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:"))


def request(method: str, target: str, headers: dict, *, lean: bool) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if not lean:
        lines += ["X-Probe: 1", "X-Probe: 2"]  # a repeated field: cheroot's to read
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


CASES = {
    "file": ("GET", "/view/obj-1/plan.pdf", {}),
    "head": ("HEAD", "/view/obj-1/plan.pdf", {}),
    "range": ("GET", "/view/obj-1/plan.pdf", {"Range": "bytes=10-99"}),
    "encoded name": ("GET", "/view/obj-1/Grundrisse/" + urllib.parse.quote("EG ü.pdf"), {}),
    "missing": ("GET", "/view/obj-1/nope.pdf", {}),
    "wrong password": ("GET", "/view/obj-1/plan.pdf", {"Authorization": basic("x", "y")}),
    "no login": ("GET", "/view/obj-1/plan.pdf", {"Authorization": None}),
    "query": ("GET", "/view/obj-1/plan.pdf?x=1&y=%2F", {}),
    "web page": ("GET", "/healthz", {"Authorization": None}),
    "unknown page": ("GET", "/nowhere", {"Authorization": None}),
}


@pytest.mark.parametrize("case", CASES)
def test_answers_as_cheroot_does(server, login, taken, case):
    method, target, extra = CASES[case]
    headers = {"Authorization": login, **extra}
    headers = {k: v for k, v in headers.items() if v is not None}
    with connect(server.port, taken) as sock:
        buffer = bytearray()
        sock.sendall(request(method, target, headers, lean=True))
        lean_head, lean_body = read_answer(sock, buffer, head_only=method == "HEAD")
        sock.sendall(request(method, target, headers, lean=False))
        head, body = read_answer(sock, buffer, head_only=method == "HEAD")
    assert taken == [target.encode()]  # the first only
    assert comparable(lean_head) == comparable(head)
    assert lean_body == body
    if case in ("file", "encoded name"):
        assert lean_body in (CONTENT, CONTENT[:999])


def test_a_conditional_get_is_304_as_through_cheroot(server, login, taken):
    with connect(server.port, taken) as sock:
        buffer = bytearray()
        sock.sendall(request("GET", "/view/obj-1/plan.pdf", {"Authorization": login}, lean=True))
        head, _ = read_answer(sock, buffer)
        etag = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"etag:")
        )
        conditional = {"Authorization": login, "If-None-Match": etag}
        sock.sendall(request("GET", "/view/obj-1/plan.pdf", conditional, lean=True))
        lean_head, _ = read_answer(sock, buffer)
        sock.sendall(request("GET", "/view/obj-1/plan.pdf", conditional, lean=False))
        cheroot_head, _ = read_answer(sock, buffer)
    assert lean_head.startswith(b"HTTP/1.1 304 ")
    assert comparable(lean_head) == comparable(cheroot_head)
    assert len(taken) == 2


def test_pipelined_requests_are_answered_in_order(server, login, taken):
    both = request("GET", "/view/obj-1/plan.pdf", {"Authorization": login}, lean=True) + request(
        "GET", "/view/obj-1/nope.pdf", {"Authorization": login}, lean=True
    )
    with connect(server.port, taken) as sock:
        buffer = bytearray()
        sock.sendall(both)
        first, body = read_answer(sock, buffer)
        second, _ = read_answer(sock, buffer)
    assert first.startswith(b"HTTP/1.1 200 ") and body == CONTENT
    assert second.startswith(b"HTTP/1.1 404 ")
    assert len(taken) == 2


NOT_PLAIN = {
    "HTTP/1.0": b"GET /view/a HTTP/1.0\r\nHost: x",
    "POST": b"POST /view/a HTTP/1.1\r\nHost: x",
    "lower-case method": b"get /view/a HTTP/1.1\r\nHost: x",
    "absolute form": b"GET http://x/view/a HTTP/1.1\r\nHost: x",
    "authority-like path": b"GET //x/view/a HTTP/1.1\r\nHost: x",
    "encoded slash": b"GET /view/a%2Fb HTTP/1.1\r\nHost: x",
    "encoded slash, lower": b"GET /view/a%2fb HTTP/1.1\r\nHost: x",
    "fragment": b"GET /view/a#b HTTP/1.1\r\nHost: x",
    "raw non-ASCII": "GET /view/ä HTTP/1.1\r\nHost: x".encode(),
    "space in target": b"GET /view/a b HTTP/1.1\r\nHost: x",
    "body length": b"GET /view/a HTTP/1.1\r\nContent-Length: 5",
    "zero body length": b"GET /view/a HTTP/1.1\r\nContent-Length: 0",
    "chunked body": b"GET /view/a HTTP/1.1\r\nTransfer-Encoding: chunked",
    "expect": b"GET /view/a HTTP/1.1\r\nExpect: 100-continue",
    "upgrade": b"GET /view/a HTTP/1.1\r\nUpgrade: websocket",
    "connection close": b"GET /view/a HTTP/1.1\r\nConnection: close",
    "repeated field": b"GET /view/a HTTP/1.1\r\nX-A: 1\r\nx-a: 2",
    "folded field": b"GET /view/a HTTP/1.1\r\nX-A: 1\r\n  2",
    "field without colon": b"GET /view/a HTTP/1.1\r\nX-A 1",
    "space before colon": b"GET /view/a HTTP/1.1\r\nX-A : 1",
    "bare LF": b"GET /view/a HTTP/1.1\nHost: x",
    "bare CR": b"GET /view/a HTTP/1.1\r\nHost: x\ry",
    "too many fields": b"GET /view/a HTTP/1.1"
    + b"\r\nX: 1" * 2
    + b"".join(b"\r\nX-%d: 1" % i for i in range(transport.MAX_HEADER_FIELDS)),
}


@pytest.mark.parametrize("case", NOT_PLAIN)
def test_heads_that_are_not_plain_are_left_to_cheroot(case):
    assert lean_http.parse_plain(NOT_PLAIN[case], transport.MAX_HEADER_FIELDS) is None


def test_a_plain_head_is_read_as_cheroot_reads_it():
    head = b"GET /view/obj-1/EG%20%C3%BC.pdf?a=%2F HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive"
    method, target, path, query, fields = lean_http.parse_plain(head, 100)
    assert (method, path, query) == (b"GET", "/view/obj-1/EG ü.pdf".encode(), b"a=%2F")
    assert target == b"/view/obj-1/EG%20%C3%BC.pdf?a=%2F"
    assert fields[b"host"] == (b"Host", b"x")


def _writing_app(environ, start_response):
    """An application that writes part of its body through WSGI's ``write``, and
    gives no length: the body goes out in chunked coding."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written, ")
    return [b"then ", b"returned"]


def test_write_and_a_body_without_length_go_out_as_through_cheroot(server, taken, monkeypatch):
    monkeypatch.setattr(server.server, "wsgi_app", _writing_app)
    with connect(server.port, taken) as sock:
        buffer = bytearray()
        sock.sendall(request("GET", "/any", {}, lean=True))
        lean_head, lean_body = read_answer(sock, buffer)
        sock.sendall(request("GET", "/any", {}, lean=False))
        head, body = read_answer(sock, buffer)
    assert taken == [b"/any"]
    assert b"Transfer-Encoding: chunked" in lean_head
    assert comparable(lean_head) == comparable(head)
    assert lean_body == body == b"written, then returned"


BIG_CHUNK = bytes(range(256)) * 800  # 200 KiB: larger than what joins the head


def _one_big_chunk_app(environ, start_response):
    start_response("200 OK", [("Content-Length", str(len(BIG_CHUNK)))])
    return [BIG_CHUNK]


def test_a_large_first_chunk_goes_out_after_the_head_as_through_cheroot(server, taken, monkeypatch):
    monkeypatch.setattr(server.server, "wsgi_app", _one_big_chunk_app)
    with connect(server.port, taken) as sock:
        buffer = bytearray()
        sock.sendall(request("GET", "/big", {}, lean=True))
        lean_head, lean_body = read_answer(sock, buffer)
        sock.sendall(request("GET", "/big", {}, lean=False))
        head, body = read_answer(sock, buffer)
    assert taken == [b"/big"]
    assert comparable(lean_head) == comparable(head)
    assert lean_body == body == BIG_CHUNK
