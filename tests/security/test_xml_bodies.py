"""Hostile XML bodies for PROPFIND, PROPPATCH and LOCK, and ``Depth: infinity``.

Entity expansion, external entities (files and network), 100 MB bodies and deep
nesting must be refused (a 100 MB body long before its end), leak nothing, and leave
the server answering.
"""

from __future__ import annotations

import http.server
import select
import socket
import threading
import time

import pytest
import requests

from tests.security import rawhttp
from tests.tools import HANG_SECONDS

pytestmark = pytest.mark.server

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""

BODIES = {
    "PROPFIND": b'<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>%s</D:displayname>'
    b"</D:prop></D:propfind>",
    "PROPPATCH": b'<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set><D:prop>'
    b"<Z:note>%s</Z:note></D:prop></D:set></D:propertyupdate>",
    "LOCK": b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype><D:owner>%s</D:owner></D:lockinfo>",
}


def _send(server, world, method, body, path="/dav/obj-1/plan.pdf"):
    headers = {
        "Authorization": rawhttp.basic(*world.agent),
        "Depth": "0",
        "Content-Type": "application/xml",
    }
    return rawhttp.request(server.port, method, path.encode(), headers, body, HANG_SECONDS)


def _alive(server, world):
    r = requests.request(
        "PROPFIND", server.url + "/dav/obj-1/", auth=world.agent, headers={"Depth": "1"}
    )
    assert r.status_code == 207


@pytest.mark.parametrize("method", sorted(BODIES))
def test_billion_laughs_is_not_expanded(server, world, method):
    r = _send(server, world, method, LAUGHS + BODIES[method] % b"&lol9;")
    assert len(r.body) < 100_000  # never a gigabyte of "lol"
    assert b"lollollollollol" not in r.body
    if method == "PROPPATCH" and r.status == 207:  # stored unexpanded, if at all
        readback = _send(
            server, world, "PROPFIND", b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
        )
        assert len(readback.body) < 100_000 and b"lollollollollol" not in readback.body
    _alive(server, world)


#: What the canary server answers: a document that would put this into the answer.
FETCHED = b"CANARY-FETCHED"


class _Canary(http.server.BaseHTTPRequestHandler):
    """Records every request, then answers it with ``FETCHED`` (as an entity value
    for DTD paths). The record is made before the answer goes out, so a server that
    fetched an entity while parsing has been recorded before it could answer."""

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.server.requests.append(self.path)
        body = b'<!ENTITY x "%s">' % FETCHED if self.path in ("/dtd", "/p") else FETCHED
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canary():
    """A real HTTP server on loopback that the external entities point at: its port
    and the paths it was asked for."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.requests
    server.shutdown()
    server.server_close()
    thread.join(HANG_SECONDS)


@pytest.mark.parametrize("method", sorted(BODIES))
def test_external_entities_are_not_resolved(server, world, canary, method):
    port, fetched = canary
    outside = world.home / "outside.txt"
    doctypes = [
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{outside}">]>'.encode(),
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>'.encode(),
        f'<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p"> %p;]>'.encode(),
        f'<!DOCTYPE d SYSTEM "http://127.0.0.1:{port}/dtd">'.encode(),
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "{outside}">]>'.encode(),
    ]
    for doctype in doctypes:
        body = b'<?xml version="1.0"?>\n' + doctype + BODIES[method] % b"&x;"
        r = _send(server, world, method, body)
        # the whole answer is in: a fetch made while parsing is recorded by now
        assert fetched == [], (doctype, "the server fetched an external entity")
        assert not world.leaked(r.raw) and FETCHED not in r.raw, doctype
        if method == "LOCK" and r.status == 200:
            token = r.headers["lock-token"]
            requests.request(
                "UNLOCK",
                server.url + "/dav/obj-1/plan.pdf",
                auth=world.agent,
                headers={"Lock-Token": token},
            )
    readback = _send(
        server, world, "PROPFIND", b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
    )
    assert fetched == [], "the server fetched an external entity"
    assert not world.leaked(readback.raw) and FETCHED not in readback.raw
    _alive(server, world)


def test_deep_nesting_is_refused(server, world):
    depth = 100_000
    body = (
        b'<D:propfind xmlns:D="DAV:"><D:prop>'
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</D:prop></D:propfind>"
    )
    for method in ("PROPFIND", "PROPPATCH", "LOCK"):
        r = _send(server, world, method, body)
        assert r.status in (400, 413, 422), (method, r.status)
    _alive(server, world)


HUNDRED_MB = 100 * 1024 * 1024


def _stream_until_answered(port, head: bytes, chunked: bool) -> tuple[bytes, int]:
    """Send ``head`` then up to 100 MB of XML as fast as the server takes it; stop at the
    first answer. Returns the answer and the number of body bytes sent."""
    block = b"<x>" + b"a" * (64 * 1024 - 7) + b"</x>"
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + 2 * HANG_SECONDS
        try:
            while sent < HUNDRED_MB and time.monotonic() < deadline:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except OSError:
            pass  # the server answered and closed while we were still sending
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer, sent


@pytest.mark.parametrize("method", sorted(BODIES))
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_hundred_megabyte_bodies_are_refused_early(server, world, method, chunked):
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUNDRED_MB}"
    head = (
        f"{method} /dav/obj-1/plan.pdf HTTP/1.1\r\nHost: x\r\nDepth: 0\r\n"
        f"Authorization: {rawhttp.basic(*world.agent)}\r\n"
        f"Content-Type: application/xml\r\n{framing}\r\n\r\n"
    ).encode()
    answer, sent = _stream_until_answered(server.port, head, chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 20 * 1024 * 1024  # refused long before the 100 MB were through
    _alive(server, world)


@pytest.mark.parametrize("share,who", [("dav", "agent"), ("view", "contact")])
@pytest.mark.parametrize("depth", ["infinity", "Infinity", None])
def test_propfind_depth_infinity_is_refused(server, world, share, who, depth):
    headers = {} if depth is None else {"Depth": depth}
    for path in ("/", "/obj-1/"):
        r = requests.request(
            "PROPFIND", f"{server.url}/{share}{path}", auth=getattr(world, who), headers=headers
        )
        assert r.status_code == 403
        assert b"propfind-finite-depth" in r.content
        assert b"plan.pdf" not in r.content
    ok = requests.request(
        "PROPFIND", f"{server.url}/{share}/obj-1/", auth=getattr(world, who), headers={"Depth": "1"}
    )
    assert ok.status_code == 207 and "plan.pdf" in ok.text
