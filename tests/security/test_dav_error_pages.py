"""WebDAV answers in our words: every error (and WsgiDAV's "201 Created" page) in
German or English without engine, version, exception or request text; RFC 4918's
``<D:error>`` bodies kept for clients; the ``Server`` header without an engine; and
a browser opening a share's folder gets the page on how to connect it."""

from __future__ import annotations

import pytest

from dav_provider.error_pages import LANGUAGES, MESSAGES
from tests.security import rawhttp
from tests.security.clean import assert_clean, assert_still_answers

pytestmark = pytest.mark.server

LOCK_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
    b"<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
    b"<D:owner>anna</D:owner></D:lockinfo>"
)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _agent(world, **headers) -> dict:
    return {"Authorization": rawhttp.basic(*world.agent), **headers}


def _assert_ours(response, status: int, language: str = "de") -> None:
    assert response.status == status, response.body[:300]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-language"] == language
    assert response.body.decode() == (
        f"{status} {response.reason}\n\n{MESSAGES[status][LANGUAGES.index(language)]}\n"
    )


#: (method, target, extra headers, body, status, text of the request that must not show)
ERRORS = [
    ("GET", b"/dav/obj-1/GEHEIM-fehlt.pdf", {}, b"", 404, b"GEHEIM-fehlt"),
    ("PROPFIND", b"/dav/obj-1/GEHEIM-fehlt/", {"Depth": "1"}, b"", 404, b"GEHEIM-fehlt"),
    ("DELETE", b"/dav/obj-1/GEHEIM-fehlt.pdf", {}, b"", 404, b"GEHEIM-fehlt"),
    ("MKCOL", b"/dav/obj-1/GEHEIM/tief/", {}, b"", 409, b"GEHEIM"),
    ("PUT", b"/dav/obj-1/GEHEIM/tief.pdf", {}, b"x", 409, b"GEHEIM"),
    ("MKCOL", b"/dav/obj-1/plan.pdf", {}, b"", 405, b"plan.pdf"),
    ("GET", b"/dav/", {}, b"", 403, b"Directory"),
    ("PROPFIND", b"/dav/obj-1/", {"Depth": "GEHEIM"}, b"", 400, b"GEHEIM"),
    ("PROPFIND", b"/dav/obj-1/", {"Depth": "1"}, b"<GEHEIM", 400, b"GEHEIM"),
    ("PUT", b"/view/obj-1/GEHEIM.pdf", {}, b"x", 405, b"GEHEIM"),
    ("GET", b"/dav/obj-1/plan.pdf", {"Range": "bytes=999-"}, b"", 416, b"999"),
    (
        "COPY",
        b"/dav/obj-1/plan.pdf",
        {"Destination": "http://GEHEIM.example/dav/x"},
        b"",
        502,
        b"GEHEIM",
    ),
]


@pytest.mark.parametrize(
    "method,target,headers,body,status,hidden",
    ERRORS,
    ids=[f"{e[0]} {e[4]}" for e in ERRORS],
)
def test_errors_are_ours_in_german_and_english(
    server, world, method, target, headers, body, status, hidden
):
    who = world.contact if target.startswith(b"/view") else world.agent
    auth = {"Authorization": rawhttp.basic(*who)}
    for language, accept in (("de", None), ("en", "en-US,en;q=0.9,de;q=0.5"), ("de", "fr, de")):
        sent = {**auth, **headers}
        if accept is not None:
            sent["Accept-Language"] = accept
        r = rawhttp.request(server.port, method, target, sent, body)
        _assert_ours(r, status, language)
        assert_clean(r, hidden, b"Source exception", b"Error condition")
    assert_still_answers(server.port)


def test_a_failed_login_keeps_its_challenge(server, world):
    r = rawhttp.request(server.port, "PROPFIND", b"/dav/", {"Depth": "1"})
    _assert_ours(r, 401)
    assert r.headers["www-authenticate"] == 'Basic realm="/dav"'
    r = rawhttp.request(
        server.port, "GET", b"/view/obj-1/plan.pdf", {"Authorization": rawhttp.basic("4711", "x")}
    )
    _assert_ours(r, 401)
    assert r.headers["www-authenticate"] == 'Basic realm="/view"'
    assert_clean(r)


def test_head_errors_have_no_body(server, world):
    r = rawhttp.request(server.port, "HEAD", b"/dav/obj-1/fehlt.pdf", _agent(world))
    assert r.status == 404 and r.body == b""


def test_rfc_4918_error_bodies_stay_xml(server, world):
    """Precondition bodies are for clients: the finite-depth refusal and a lock
    conflict keep their ``<D:error>``, and still say nothing of the engine."""
    r = rawhttp.request(server.port, "PROPFIND", b"/dav/obj-1/", _agent(world, Depth="infinity"))
    assert r.status == 403
    assert r.headers["content-type"].startswith("application/xml")
    assert b"propfind-finite-depth" in r.body
    assert_clean(r)
    lock = rawhttp.request(
        server.port, "LOCK", b"/dav/obj-1/plan.pdf", _agent(world, Depth="0"), LOCK_BODY
    )
    assert lock.status == 200
    again = rawhttp.request(
        server.port, "LOCK", b"/dav/obj-1/plan.pdf", _agent(world, Depth="0"), LOCK_BODY
    )
    assert again.status == 423
    assert again.headers["content-type"].startswith("application/xml")
    assert b"no-conflicting-lock" in again.body
    assert_clean(again)
    put = rawhttp.request(server.port, "PUT", b"/dav/obj-1/plan.pdf", _agent(world), b"%PDF-x")
    assert put.status == 423
    assert put.headers["content-type"].startswith("application/xml")
    assert_clean(put)
    assert (world.config.properties_dir / "obj-1" / "plan.pdf").read_bytes() == b"%PDF-public-obj1"


def test_successful_writes_name_no_engine(server, world):
    for method, target, headers, body, status in (
        ("PUT", b"/dav/obj-1/neu.pdf", {}, b"%PDF-neu", 201),
        ("MKCOL", b"/dav/obj-1/Neu/", {}, b"", 201),
        ("COPY", b"/dav/obj-1/neu.pdf", {"Destination": "/dav/obj-1/Neu/kopie.pdf"}, b"", 201),
        ("MOVE", b"/dav/obj-1/neu.pdf", {"Destination": "/dav/obj-1/Neu/neu.pdf"}, b"", 201),
        ("DELETE", b"/dav/obj-1/Neu/kopie.pdf", {}, b"", 204),
        ("OPTIONS", b"/dav/obj-1/", {}, b"", 200),
    ):
        r = rawhttp.request(server.port, method, target, _agent(world, **headers), body)
        assert r.status == status, (method, r.body)
        assert_clean(r)
    assert (world.config.properties_dir / "obj-1" / "Neu" / "neu.pdf").read_bytes() == b"%PDF-neu"


def test_the_server_header_names_no_engine(server, world):
    for method, target in (("GET", b"/dav/obj-1/plan.pdf"), ("OPTIONS", b"/"), ("GET", b"/")):
        r = rawhttp.request(server.port, method, target, _agent(world))
        assert r.headers["server"] == "immoshare"
        assert_clean(r)


# -- the connect page ----------------------------------------------------------------

CLIENTS = ("Windows", "macOS", "GNOME", "KDE", "davfs2", "rclone")


def test_a_browser_opening_the_agents_share_learns_how_to_connect(server, world):
    r = rawhttp.request(server.port, "GET", b"/dav/", _agent(world, Accept=BROWSER))
    assert r.status == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["content-security-policy"].startswith("sandbox")
    page = r.body.decode()
    for client in CLIENTS:
        assert client in page
    assert "Netzlaufwerk verbinden" in page and "Connect the network drive" in page
    assert page.index('lang="de"') < page.index('section lang="en"')  # German first
    assert "http://127.0.0.1/dav/" in page and "dav://127.0.0.1/dav/" in page
    assert "webdav://127.0.0.1/dav/" in page and "user=anna" in page
    assert "plan.pdf" not in page and "obj-2" not in page  # no listing
    assert_clean(r)
    english = rawhttp.request(
        server.port,
        "GET",
        b"/dav/obj-1/",
        _agent(world, Accept=BROWSER, **{"Accept-Language": "en"}),
    )
    assert english.status == 200
    text = english.body.decode()
    assert text.index('section lang="en"') < text.index('section lang="de"')
    head = rawhttp.request(server.port, "HEAD", b"/dav/", _agent(world, Accept=BROWSER))
    assert head.status == 200 and head.body == b""


def test_the_connect_page_asks_for_a_login_first_and_escapes_the_host(server, world):
    r = rawhttp.request(server.port, "GET", b"/dav/", {"Accept": BROWSER})
    _assert_ours(r, 401)
    r = rawhttp.exchange(
        server.port,
        b'GET /dav/ HTTP/1.1\r\nHost: x"><script>alert(1)</script>\r\nConnection: close\r\n'
        + f"Accept: {BROWSER}\r\nAuthorization: {rawhttp.basic(*world.agent)}\r\n\r\n".encode(),
    )
    assert r.status == 200
    assert b"<script>" not in r.body
    assert b"x&quot;&gt;&lt;script&gt;" in r.body


def test_contacts_see_the_page_for_their_read_only_share(server, world):
    r = rawhttp.request(
        server.port,
        "GET",
        b"/view/",
        {"Authorization": rawhttp.basic(*world.contact), "Accept": BROWSER},
    )
    assert r.status == 200
    page = r.body.decode()
    assert "schreibgeschützt" in page and "read-only" in page
    assert "http://127.0.0.1/view/" in page and world.contact[0] in page
    assert world.contact[1] not in page  # the password never
    assert "plan.pdf" not in page


def test_file_managers_still_get_files_and_folders_as_before(server, world):
    """Only a browser's folder request gets the page: a file stays a file, and a
    client that does not ask for HTML gets the folder's 403 (in our words)."""
    r = rawhttp.request(server.port, "GET", b"/dav/obj-1/plan.pdf", _agent(world, Accept=BROWSER))
    assert r.status == 200 and r.body == b"%PDF-public-obj1"
    r = rawhttp.request(server.port, "GET", b"/dav/obj-1/", _agent(world, Accept="*/*"))
    _assert_ours(r, 403)
