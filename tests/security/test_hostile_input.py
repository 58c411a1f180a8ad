"""Hostile input at the protocol level, against the real server, byte for byte:
malformed credentials, oversized headers, oversized numbers, broken ``Destination``
URLs, NUL in static paths and unbounded shared locks.

Every answer is a clear 4xx (or 502 for a destination elsewhere), never a 500; it
repeats nothing of the input, names no engine or version and shows no traceback
(``tests/security/clean.py``); nothing changed on disk; the server answers the next
request.
"""

from __future__ import annotations

import base64
import re
import socket
import threading

import pytest
import requests

from gateway.services import apikeys
from tests.factories import make_agent
from tests.security import rawhttp
from tests.security.clean import assert_clean, assert_still_answers
from tests.tools import ServerProcess

pytestmark = pytest.mark.server

HUGE = "9" * 5000
MiB = 1024 * 1024

LOCK_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
    b"<D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>"
    b"<D:owner>mallory</D:owner></D:lockinfo>"
)
LOCKDISCOVERY = (
    b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/>'
    b"</D:prop></D:propfind>"
)


def _basic_token(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _folder_state(world, key="obj-1") -> dict[str, bytes]:
    folder = world.config.properties_dir / key
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# -- Authorization -------------------------------------------------------------------

#: (name, Authorization value, expected status, bytes the answer must not contain:
#: the secret, and the value as sent or decoded)
CREDENTIALS = [
    ("not base64", "Basic !!!SECRETPW!!!", 400, [b"SECRETPW", b"!!!"]),
    (
        "no colon",
        "Basic " + _basic_token(b"SECRETPWNOCOLON"),
        400,
        [b"SECRETPWNOCOLON", _basic_token(b"SECRETPWNOCOLON").encode()],
    ),
    ("NUL in user", "Basic " + _basic_token(b"an\x00na:SECRETPW"), 400, [b"SECRETPW"]),
    ("huge", "Basic " + "QUFB" * 2000, 400, [b"QUFBQUFB", b"AAAAAAAA"]),
    ("bad padding", "Basic YW5=uYTpTRUNSRVRQVw==", 400, [b"YW5=uYTp"]),
    ("not UTF-8", "Basic " + _basic_token(b"anna:\xff\xfeSECRETPW"), 401, [b"SECRETPW"]),
    ("raw bytes", "Basic \xff\xfe\x80SECRETPW", 400, [b"SECRETPW", b"\xff\xfe"]),
    ("empty user", "Basic " + _basic_token(b":SECRETPW"), 401, [b"SECRETPW"]),
    ("Basic alone", "Basic", 401, []),
    ("Basic and spaces", "Basic    ", 401, []),
    ("other scheme", "Negotiate SECRETPWTOKEN", 401, [b"SECRETPWTOKEN"]),
    ("Digest", 'Digest username="anna", response="SECRETPW"', 401, [b"SECRETPW"]),
]
#: (method, target, extra headers, body): the fast GET path, the fast PROPFIND path,
#: WsgiDAV itself (PUT, MKCOL), the contacts' share.
DAV_REQUESTS = [
    ("GET", b"/dav/obj-1/plan.pdf", {}, b""),
    ("PROPFIND", b"/dav/obj-1/", {"Depth": "1"}, b""),
    ("PUT", b"/dav/obj-1/neu.pdf", {}, b"%PDF-new"),
    ("MKCOL", b"/dav/obj-1/Neu/", {}, b""),
    ("GET", b"/view/obj-1/plan.pdf", {}, b""),
]


@pytest.mark.parametrize(
    "value,status,hidden", [c[1:] for c in CREDENTIALS], ids=[c[0] for c in CREDENTIALS]
)
def test_malformed_credentials_get_400_or_401_and_are_not_repeated(
    server, world, value, status, hidden
):
    before = _folder_state(world)
    for method, target, headers, body in DAV_REQUESTS:
        r = rawhttp.request(server.port, method, target, {"Authorization": value, **headers}, body)
        assert r.status == status, (method, target, r.body)
        if status == 401:
            assert r.headers["www-authenticate"].startswith("Basic realm=")
        assert_clean(r, *hidden)
    assert _folder_state(world) == before
    # the real login still works on the same share
    ok = rawhttp.request(
        server.port, "GET", b"/dav/obj-1/plan.pdf", {"Authorization": rawhttp.basic(*world.agent)}
    )
    assert ok.status == 200 and ok.body == b"%PDF-public-obj1"


def test_a_windows_1252_password_signs_in(world, start_server):
    """Windows sends Basic credentials in its code page, not UTF-8: an agent with an
    umlaut in the password must still get in (the bytes are not UTF-8, so they are
    read as Windows-1252)."""
    make_agent("grete", "Grüße-aus-Fürth-2024")
    server = start_server()
    token = _basic_token("grete:Grüße-aus-Fürth-2024".encode("cp1252"))
    for method, target, headers in (
        ("GET", b"/dav/obj-1/plan.pdf", {}),
        ("PROPFIND", b"/dav/obj-1/", {"Depth": "1"}),
        ("MKCOL", b"/dav/obj-1/Neu/", {}),
    ):
        r = rawhttp.request(
            server.port, method, target, {"Authorization": f"Basic {token}", **headers}
        )
        assert r.status in (200, 201, 207), (method, r.status)


@pytest.mark.parametrize(
    "value",
    [
        "Bearer",
        "Bearer \xff\xfeSECRETKEY",
        "Bearer " + "SECRETKEY" * 5000,
        "Basic " + _basic_token(b"crm:SECRETKEY"),
        "Basic !!!SECRETKEY",
        "SECRETKEY",
    ],
    ids=["Bearer alone", "raw bytes", "huge", "Basic", "broken Basic", "no scheme"],
)
def test_malformed_api_credentials_get_401(server, world, value):
    r = rawhttp.request(server.port, "GET", b"/api/v1/events", {"Authorization": value})
    assert r.status == 401
    assert r.headers["content-type"].startswith("application/json")
    assert_clean(r, b"SECRETKEY")
    assert_still_answers(server.port)


# -- header size ---------------------------------------------------------------------


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the peak so far) of a process, in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def _send_while_reading(port: int, head: bytes, filler: bytes, megabytes: int) -> bytes:
    """Send ``head`` and then ``megabytes`` of ``filler`` while another thread reads the
    answer (the server answers and closes long before the sender is done)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    answer = bytearray()

    def read():
        try:
            while chunk := sock.recv(65536):
                answer.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    block = filler * (MiB // len(filler))
    try:
        sock.sendall(head)
        for _ in range(megabytes):
            sock.sendall(block)
    except OSError:
        pass  # the server closed the connection: what we want
    reader.join(60)
    sock.close()
    assert not reader.is_alive()
    return bytes(answer)


def test_a_100_mb_header_gets_431_without_the_memory(home):
    server = ServerProcess(home)
    try:
        before = _memory_kib(server.proc.pid)
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: "
        answer = rawhttp.parse(_send_while_reading(server.port, head, b"SECRETFILL", 100))
        assert answer.status == 431
        assert answer.headers["connection"] == "close"
        assert_clean(answer, b"SECRETFILL")
        after = _memory_kib(server.proc.pid)
        assert after["VmRSS"] - before["VmRSS"] < 100 * 1024, (before, after)
        assert after["VmHWM"] - before["VmHWM"] < 100 * 1024, (before, after)
        assert_still_answers(server.port)
    finally:
        server.stop()


def test_too_many_header_fields_get_431_and_a_huge_request_line_414(server, world):
    fields = b"".join(b"X-Field-%d: SECRETFIELD\r\n" % i for i in range(200))
    r = rawhttp.exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert r.status == 431
    assert_clean(r, b"SECRETFIELD")
    # many header lines under the count still work
    few = b"".join(b"X-Field-%d: a\r\n" % i for i in range(60))
    r = rawhttp.exchange(
        server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + few + b"\r\n"
    )
    assert r.status == 200
    answer = _send_while_reading(server.port, b"GET /SECRETPATH", b"a", 4)
    r = rawhttp.parse(answer)
    assert r.status == 414
    assert_clean(r, b"SECRETPATH")
    assert_still_answers(server.port)


# -- numbers -------------------------------------------------------------------------


@pytest.fixture
def api_key(world):
    return apikeys.create_key("crm")[1]


def test_oversized_numbers_in_the_api_get_400(server, world, api_key):
    bearer = {"Authorization": f"Bearer {api_key}"}
    for query in (
        f"limit={HUGE}",
        "limit=%C2%B2",  # "²": a digit to str.isdigit(), not to int()
        "limit=%D9%A5",  # "٥": Arabic-Indic five
        "limit=+5",
        "limit=5_0",
        f"since={HUGE}",
        "since=%C2%B2",
        "since=-1",
    ):
        r = rawhttp.request(server.port, "GET", f"/api/v1/events?{query}".encode(), bearer)
        assert r.status == 400, (query, r.body)
        assert r.headers["content-type"].startswith("application/json")
        assert_clean(r, b"9" * 30, b"\xc2\xb2", b"\xd9\xa5", b"5_0")
    ok = rawhttp.request(server.port, "GET", b"/api/v1/events?limit=0000000007", bearer)
    assert ok.status == 200


def _agent(world) -> dict:
    return {"Authorization": rawhttp.basic(*world.agent)}


@pytest.mark.parametrize(
    "range_value",
    [
        f"bytes=0-{HUGE}",
        f"bytes={HUGE}-",
        f"bytes=-{HUGE}",
        "bytes=0-99999999999999999999",
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 40, 2)),
    ],
    ids=["end", "start", "suffix", "20 digits", "20 ranges"],
)
def test_oversized_ranges_get_400(server, world, range_value):
    for target, auth in (
        ("/dav/obj-1/plan.pdf", "agent"),
        ("/view/obj-1/plan.pdf", "contact"),
        ("/s/{link}/download/plan.pdf", None),
        ("/s/{link}/open/plan.pdf", None),
    ):
        headers = {"Range": range_value}
        if auth is not None:
            headers["Authorization"] = rawhttp.basic(*getattr(world, auth))
        target = target.format(link=world.link).encode()
        r = rawhttp.request(server.port, "GET", target, headers)
        assert r.status == 400, (target, r.body[:200])
        assert_clean(r, b"9" * 30, range_value.encode()[:40])
        # an ordinary range on the same URL is served
        r = rawhttp.request(server.port, "GET", target, {**headers, "Range": "bytes=1-3"})
        assert r.status == 206 and r.body == b"PDF"


@pytest.mark.parametrize(
    "date",
    [
        "Sat, 01 Jan 99999 00:00:00 GMT",
        f"Sat, 01 Jan {HUGE} 00:00:00 GMT",
        "Sat, 01 Jan 99999999999999999 00:00:00 GMT",
    ],
    ids=["5-digit year", "5,000-digit year", "17-digit year"],
)
def test_impossible_dates_are_ignored(server, world, date):
    """RFC 9110 §13.1.3/§13.1.4: a date that is no HTTP-date is ignored: the whole
    file, where the year made a 500 before. An If-Range that is none drops the range."""
    for target in ("/dav/obj-1/plan.pdf", "/s/{link}/download/plan.pdf", "/static/app.css"):
        target = target.format(link=world.link).encode()
        for header in ("If-Modified-Since", "If-Unmodified-Since"):
            r = rawhttp.request(server.port, "GET", target, {**_agent(world), header: date})
            assert r.status == 200, (target, header, r.status)
            assert_clean(r, date.encode()[12:30])
        r = rawhttp.request(
            server.port, "GET", target, {**_agent(world), "If-Range": date, "Range": "bytes=1-3"}
        )
        assert r.status == 200 and len(r.body) > 3, target


def _put(server, world, name: str, extra: bytes, body: bytes = b"%PDF-x") -> rawhttp.RawResponse:
    return rawhttp.exchange(
        server.port,
        f"PUT /dav/obj-1/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: {rawhttp.basic(*world.agent)}\r\n".encode()
        + extra
        + b"\r\n"
        + body,
    )


@pytest.mark.parametrize(
    "extra",
    [
        f"Content-Length: {HUGE}\r\n".encode(),
        b"Content-Length: 99999999999999999999\r\n",
        b"Content-Length: 6\r\nX-OC-Mtime: " + HUGE.encode() + b"\r\n",
        b"Content-Length: 6\r\nX-OC-Mtime: 99999999999999\r\n",
        b"Content-Length: 6\r\nX-OC-Mtime: \xc2\xb2\r\n",
        b"Content-Length: 6\r\nTimeout: Second-" + HUGE.encode() + b"\r\n",
    ],
    ids=[
        "Content-Length",
        "20-digit Content-Length",
        "mtime",
        "mtime in year 5138",
        "mtime ²",
        "Timeout",
    ],
)
def test_oversized_numbers_on_upload_get_400_and_write_nothing(server, world, extra):
    before = _folder_state(world)
    r = _put(server, world, "neu.pdf", extra)
    assert r.status == 400, r.body[:200]
    assert_clean(r, b"9" * 30)
    assert _folder_state(world) == before
    assert_still_answers(server.port)


def test_oversized_depth_and_lock_timeout_get_400(server, world):
    for method, headers, body in (
        ("PROPFIND", {"Depth": HUGE}, b""),
        ("COPY", {"Depth": HUGE, "Destination": "http://127.0.0.1/dav/obj-1/copy.pdf"}, b""),
        ("LOCK", {"Timeout": f"Second-{HUGE}"}, LOCK_BODY),
        ("LOCK", {"Timeout": f"Infinite, Second-{HUGE}"}, LOCK_BODY),
    ):
        before = _folder_state(world)
        r = rawhttp.request(
            server.port, method, b"/dav/obj-1/plan.pdf", {**_agent(world), **headers}, body
        )
        assert r.status == 400, (method, r.status)
        assert_clean(r, b"9" * 30)
        assert _folder_state(world) == before
    # no lock was taken: another agent request may write the file
    assert _put(server, world, "plan.pdf", b"Content-Length: 6\r\n").status == 204


# -- Destination ---------------------------------------------------------------------

#: (Destination, expected status)
DESTINATIONS = [
    ("dav/obj-1/kopie.pdf", 400),  # relative, no scheme
    ("127.0.0.1/dav/obj-1/kopie.pdf", 400),
    ("ftp://127.0.0.1/dav/obj-1/kopie.pdf", 400),
    ("javascript:alert(1)", 400),
    ("http://127.0.0.1/dav/obj-1/kopie%zz.pdf", 400),
    ("http://127.0.0.1/dav/obj-1/kopie%.pdf", 400),
    ("http://127.0.0.1/dav/obj-1/kopie%00.pdf", 400),
    ("http://127.0.0.1/dav/obj-1/kopie%0a.pdf", 400),
    ("http://127.0.0.1/dav/obj-1/kopie%c0%ae.pdf", 400),
    ("http://[::1/dav/obj-1/kopie.pdf", 400),
    ("http:///dav/obj-1/kopie.pdf", 400),
    ("", 400),
    ("http://evil.example/dav/obj-1/kopie.pdf", 502),
    ("https://127.0.0.1/dav/obj-1/kopie.pdf", 502),
    ("http://127.0.0.1:99999999999/dav/obj-1/kopie.pdf", 502),
    ("http://127.0.0.1/view/obj-1/kopie.pdf", 502),
]


@pytest.mark.parametrize("destination,status", DESTINATIONS, ids=[d[0] for d in DESTINATIONS])
def test_broken_destinations_get_400_or_502_and_move_nothing(server, world, destination, status):
    before = _folder_state(world)
    for method in ("COPY", "MOVE"):
        r = rawhttp.request(
            server.port,
            method,
            b"/dav/obj-1/plan.pdf",
            {**_agent(world), "Destination": destination},
        )
        assert r.status == status, (method, r.body[:200])
        assert_clean(r, b"kopie", b"evil.example")
    assert _folder_state(world) == before
    assert_still_answers(server.port)


def test_an_absolute_path_destination_is_accepted(server, world):
    """RFC 4918 §10.3: the Destination may be a path without scheme and host."""
    r = rawhttp.request(
        server.port,
        "COPY",
        b"/dav/obj-1/plan.pdf",
        {**_agent(world), "Destination": "/dav/obj-1/kopie.pdf"},
    )
    assert r.status == 201
    assert_clean(r)
    assert _folder_state(world)["kopie.pdf"] == b"%PDF-public-obj1"


def test_move_without_host_gets_400(server, world):
    before = _folder_state(world)
    r = rawhttp.exchange(
        server.port,
        b"MOVE /dav/obj-1/plan.pdf HTTP/1.0\r\n"
        + f"Authorization: {rawhttp.basic(*world.agent)}\r\n".encode()
        + b"Destination: /dav/obj-1/moved.pdf\r\n\r\n",
    )
    assert r.status == 400
    assert_clean(r)
    assert _folder_state(world) == before
    assert_still_answers(server.port)


# -- NUL in static paths -------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        b"/static/app%00.css",
        b"/static/app.css%00",
        b"/static/%00/../app.css",
        b"/branding/x%00.png",
    ],
)
def test_nul_in_a_static_path_is_404(server, world, target):
    r = rawhttp.request(server.port, "GET", target)
    assert r.status == 404
    assert_clean(r, b"%00")
    assert_still_answers(server.port)


# -- shared locks --------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def locking_server(request, world, start_server):
    """The server with locks in the process, or in Redis (several processes)."""
    if request.param == "memory":
        return start_server()
    return start_server(redis_url=request.getfixturevalue("redis_url"))


def test_shared_locks_on_one_file_are_capped(locking_server, world):
    server = locking_server
    lock = {**_agent(world), "Depth": "0", "Timeout": "Second-600"}
    for _ in range(32):
        r = rawhttp.request(server.port, "LOCK", b"/dav/obj-1/plan.pdf", lock, LOCK_BODY)
        assert r.status == 200
    r = rawhttp.request(server.port, "LOCK", b"/dav/obj-1/plan.pdf", lock, LOCK_BODY)
    assert r.status == 423
    assert b"no-conflicting-lock" in r.body  # RFC 4918's condition, for clients
    assert_clean(r, b"mallory")
    found = rawhttp.request(
        server.port,
        "PROPFIND",
        b"/dav/obj-1/plan.pdf",
        {**_agent(world), "Depth": "0"},
        LOCKDISCOVERY,
    )
    assert found.status == 207
    assert len(re.findall(rb"<[A-Za-z]+:activelock>", found.body)) == 32
    # another file is not affected
    r = rawhttp.request(server.port, "LOCK", b"/dav/obj-1/Unterlagen/expose.pdf", lock, LOCK_BODY)
    assert r.status == 200


def test_a_lock_owner_above_4_kib_gets_400(locking_server, world):
    big_owner = LOCK_BODY.replace(b"mallory", b"SECRETOWNER" * 500)
    r = rawhttp.request(
        locking_server.port,
        "LOCK",
        b"/dav/obj-1/plan.pdf",
        {**_agent(world), "Depth": "0"},
        big_owner,
    )
    assert r.status == 400
    assert_clean(r, b"SECRETOWNER")
    r = rawhttp.request(
        locking_server.port,
        "PROPFIND",
        b"/dav/obj-1/plan.pdf",
        {**_agent(world), "Depth": "0"},
        LOCKDISCOVERY,
    )
    assert b"activelock" not in r.body


def test_the_server_answers_after_every_kind_of_hostile_input(server, world):
    """Kept last: one request of each kind in a row on one server, then a normal read."""
    for method, target, headers in (
        ("GET", b"/dav/obj-1/plan.pdf", {"Authorization": "Basic !!!"}),
        ("GET", b"/dav/obj-1/plan.pdf", {**_agent(world), "Range": f"bytes=0-{HUGE}"}),
        ("GET", b"/static/app%00.css", {}),
        ("MOVE", b"/dav/obj-1/plan.pdf", {**_agent(world), "Destination": "%zz"}),
    ):
        assert rawhttp.request(server.port, method, target, headers).status in (400, 404)
    r = requests.get(f"{server.url}/dav/obj-1/plan.pdf", auth=world.agent, timeout=10)
    assert r.status_code == 200 and r.content == b"%PDF-public-obj1"
