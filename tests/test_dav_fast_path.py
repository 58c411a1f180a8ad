"""The lean GET/HEAD path (``dav_provider.fast_get``) answers exactly as WsgiDAV does.

Each request goes once through the server's WebDAV stack as it is, and once with the
fast path switched off (every request handed to WsgiDAV); status, headers (but the
``Date``) and body must be the same. Plain file reads must really take the fast path,
and their tracking events must be the ones WsgiDAV's path writes.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys

import pytest

from dav_provider import fast_get
from gateway.server import build_site
from gateway.services import grants
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import basic
from tests.tracking_tools import comparable
from tests.tracking_tools import recorded_events as events
from tests.wsgi_calls import call, logins, without_lean_path

CONTENT = bytes(range(256)) * 40  # 10,240 bytes
BIG = os.urandom(3 * fast_get.BIG_BLOCK + 123)  # streamed in several blocks


@pytest.fixture
def site(config):
    make_agent()
    make_property(
        config,
        "obj-1",
        "Musterstraße 5",
        files={
            "plan.pdf": CONTENT,
            "Grundrisse/EG ü.pdf": CONTENT[:1000],
            "big.bin": BIG,
            "empty.txt": b"",
            ".DS_Store": b"junk",
            "._plan.pdf": b"apple",
            ".hidden.txt": b"x",
        },
    )
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-secret"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    folder = config.properties_dir / "obj-1"
    os.symlink(config.properties_dir / "obj-2" / "secret.pdf", folder / "link.pdf")
    os.symlink(config.properties_dir / "obj-2", folder / "linked-folder")
    os.mkfifo(folder / "pipe.pdf")
    (folder / "twin-a.pdf").write_bytes(b"twin")
    os.link(folder / "twin-a.pdf", folder / "twin-b.pdf")
    return build_site(config, bare=True), granted


#: The same request with the fast path off: WsgiDAV's answer.
via_wsgidav = without_lean_path(fast_get.FastGet, fast_get.Fallthrough)


def etag_of(path) -> str:
    info = os.stat(path)
    return f'"{info.st_ino}-{int(info.st_mtime)}-{info.st_size}"'


CASES = [
    ("plain GET", "/view/obj-1/plan.pdf", "GET", "contact", {}),
    ("HEAD", "/view/obj-1/plan.pdf", "HEAD", "contact", {}),
    ("folder and umlaut", "/view/obj-1/Grundrisse/EG ü.pdf", "GET", "contact", {}),
    ("empty file", "/view/obj-1/empty.txt", "GET", "contact", {}),
    ("big file", "/view/obj-1/big.bin", "GET", "contact", {}),
    ("agent", "/dav/obj-1/plan.pdf", "GET", "agent", {}),
    ("agent sees Finder files", "/dav/obj-1/._plan.pdf", "GET", "agent", {}),
    ("range", "/view/obj-1/plan.pdf", "GET", "contact", {"range": "bytes=100-199"}),
    ("open range", "/view/obj-1/plan.pdf", "GET", "contact", {"range": "bytes=10000-"}),
    ("suffix range", "/view/obj-1/plan.pdf", "GET", "contact", {"range": "bytes=-10"}),
    ("two ranges", "/view/obj-1/plan.pdf", "GET", "contact", {"range": "bytes=0-9,20-29"}),
    ("range on HEAD", "/view/obj-1/plan.pdf", "HEAD", "contact", {"range": "bytes=5-9"}),
    (
        "range of a big file",
        "/view/obj-1/big.bin",
        "GET",
        "contact",
        {"range": "bytes=1000-2999999"},
    ),
    ("unsatisfiable range", "/view/obj-1/plan.pdf", "GET", "contact", {"range": "bytes=99999-"}),
    (
        "If-Range",
        "/view/obj-1/plan.pdf",
        "GET",
        "contact",
        {"range": "bytes=0-9", "if_range": '"nope"'},
    ),
    ("If-None-Match other", "/view/obj-1/plan.pdf", "GET", "contact", {"if_none_match": '"other"'}),
    ("If-None-Match star", "/view/obj-1/plan.pdf", "GET", "contact", {"if_none_match": "*"}),
    (
        "If-Modified-Since later",
        "/view/obj-1/plan.pdf",
        "GET",
        "contact",
        {"if_modified_since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    ),
    (
        "If-Modified-Since earlier",
        "/view/obj-1/plan.pdf",
        "GET",
        "contact",
        {"if_modified_since": "Thu, 01 Jan 1998 00:00:00 GMT"},
    ),
    ("If-Match", "/view/obj-1/plan.pdf", "GET", "contact", {"if_match": '"other"'}),
    ("lock token If", "/view/obj-1/plan.pdf", "GET", "contact", {"if": "(<opaquelocktoken:x>)"}),
    ("Depth", "/view/obj-1/plan.pdf", "GET", "contact", {"depth": "1"}),
    ("no credentials", "/view/obj-1/plan.pdf", "GET", None, {}),
    ("wrong password", "/view/obj-1/plan.pdf", "GET", "wrong", {}),
    ("agent on the contact share", "/view/obj-1/plan.pdf", "GET", "agent", {}),
    ("contact on the agent share", "/dav/obj-1/plan.pdf", "GET", "contact", {}),
    ("property not granted", "/view/obj-2/secret.pdf", "GET", "contact", {}),
    ("unknown property", "/view/obj-9/plan.pdf", "GET", "contact", {}),
    ("missing file", "/view/obj-1/none.pdf", "GET", "contact", {}),
    ("OS junk", "/view/obj-1/.DS_Store", "GET", "contact", {}),
    ("AppleDouble", "/view/obj-1/._plan.pdf", "GET", "contact", {}),
    ("dot file", "/view/obj-1/.hidden.txt", "GET", "contact", {}),
    ("symbolic link", "/view/obj-1/link.pdf", "GET", "contact", {}),
    ("through a linked folder", "/view/obj-1/linked-folder/secret.pdf", "GET", "contact", {}),
    ("agent through a linked folder", "/dav/obj-1/linked-folder/secret.pdf", "GET", "agent", {}),
    ("hard link", "/view/obj-1/twin-a.pdf", "GET", "contact", {}),
    ("named pipe", "/view/obj-1/pipe.pdf", "GET", "contact", {}),
    ("agent and a hard link", "/dav/obj-1/twin-b.pdf", "GET", "agent", {}),
    ("folder", "/view/obj-1/Grundrisse", "GET", "contact", {}),
    ("property folder", "/view/obj-1", "GET", "contact", {}),
    ("trailing slash", "/view/obj-1/plan.pdf/", "GET", "contact", {}),
    ("dot segments", "/view/obj-1/Grundrisse/../plan.pdf", "GET", "contact", {}),
    ("double slash", "/view/obj-1//plan.pdf", "GET", "contact", {}),
]


@pytest.mark.parametrize("name,path,method,who,headers", CASES, ids=[c[0] for c in CASES])
def test_answers_as_wsgidav_does(site, monkeypatch, name, path, method, who, headers):
    app, granted = site
    auth = logins(granted)[who]
    fast = call(app, method, path, auth, **headers)
    reference = via_wsgidav(monkeypatch, app, method, path, auth, **headers)
    assert fast == reference


def test_conditional_get_with_the_current_etag_is_304(site, config, monkeypatch):
    app, granted = site
    auth = basic(granted.username, granted.password)
    etag = etag_of(config.properties_dir / "obj-1" / "plan.pdf")
    fast = call(app, "GET", "/view/obj-1/plan.pdf", auth, if_none_match=etag)
    assert fast.status == "304 Not Modified"
    assert fast == via_wsgidav(
        monkeypatch, app, "GET", "/view/obj-1/plan.pdf", auth, if_none_match=etag
    )
    assert events() == []  # a 304 is no access


def test_plain_reads_never_reach_wsgidav(site, monkeypatch):
    app, granted = site
    auth = basic(granted.username, granted.password)

    def no_wsgidav(environ, start_response):
        raise AssertionError("WsgiDAV was asked")

    monkeypatch.setattr(_fast_of(app), "app", no_wsgidav)
    assert call(app, "GET", "/view/obj-1/plan.pdf", auth).body == CONTENT
    assert call(app, "HEAD", "/view/obj-1/plan.pdf", auth).body == b""
    assert call(app, "GET", "/view/obj-1/plan.pdf", auth, range="bytes=1-2").body == CONTENT[1:3]
    assert call(app, "GET", "/view/obj-1/big.bin", auth).body == BIG
    assert (
        call(app, "GET", "/view/obj-1/plan.pdf", basic(granted.username, "x")).status
        == "401 Not Authorized"
    )


def _fast_of(app) -> fast_get.FastGet:
    """The FastGet inside the server's WebDAV stack (tracking → error pages → guard →
    fast path)."""
    for cell in app.dav.__closure__ or ():
        layer = cell.cell_contents
        while layer is not None:
            if isinstance(layer, fast_get.FastGet):
                return layer
            layer = getattr(layer, "app", None)
    raise AssertionError("no fast path in the WebDAV stack")


def test_a_read_is_tracked_as_through_wsgidav(site, config, monkeypatch):
    app, granted = site
    auth = basic(granted.username, granted.password)
    call(app, "GET", "/view/obj-1/plan.pdf", auth, user_agent="Finder")
    via_wsgidav(monkeypatch, app, "GET", "/view/obj-1/plan.pdf", auth, user_agent="Finder")
    fast, slow = events()
    assert comparable(fast) == comparable(slow)
    assert (fast.contact, fast.agent, fast.channel, fast.action, fast.path) == (
        "4711",
        None,
        "dav",
        "download",
        "plan.pdf",
    )
    assert (fast.bytes, fast.size, fast.complete, fast.status) == (
        len(CONTENT),
        len(CONTENT),
        True,
        200,
    )
    assert fast.sha256 == hashlib.sha256(CONTENT).hexdigest()


def test_ranges_big_files_and_agents_are_tracked(site, monkeypatch):
    app, granted = site
    contact = basic(granted.username, granted.password)
    call(app, "GET", "/view/obj-1/plan.pdf", contact, range="bytes=100-199")
    call(app, "GET", "/view/obj-1/big.bin", contact)
    call(app, "GET", "/dav/obj-1/plan.pdf", basic("anna", AGENT_PASSWORD))
    ranged, big, agent = events()
    assert (ranged.status, ranged.bytes, ranged.complete, ranged.range_start) == (
        206,
        100,
        False,
        100,
    )
    assert (big.bytes, big.complete, big.sha256) == (
        len(BIG),
        True,
        hashlib.sha256(BIG).hexdigest(),
    )
    assert (agent.agent, agent.contact, agent.complete) == ("anna", None, True)


def test_head_and_refusals_are_no_access(site):
    app, granted = site
    auth = basic(granted.username, granted.password)
    call(app, "HEAD", "/view/obj-1/plan.pdf", auth)
    call(app, "GET", "/view/obj-2/secret.pdf", auth)
    call(app, "GET", "/view/obj-1/.DS_Store", auth)
    assert events() == []


def test_a_cut_transfer_is_tracked_incomplete(site):
    app, granted = site
    auth = basic(granted.username, granted.password)
    # a client that takes the first block of the big file and hangs up
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/view/obj-1/big.bin",
        "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_AUTHORIZATION": auth,
    }
    body = app(environ, lambda *args: None)
    first = next(iter(body))
    next(body)  # the first block went out
    body.close()
    (event,) = events()
    assert len(first) == fast_get.BIG_BLOCK
    assert (event.bytes, event.complete) == (fast_get.BIG_BLOCK, False)


def test_revocation_acts_on_the_next_request(site, config):
    app, granted = site
    auth = basic(granted.username, granted.password)
    assert call(app, "GET", "/view/obj-1/plan.pdf", auth).status == "200 OK"
    grants.revoke_access("obj-1", "4711")
    assert call(app, "GET", "/view/obj-1/plan.pdf", auth).status == "404 Not Found"
    assert call(app, "HEAD", "/view/obj-1/plan.pdf", auth).status == "404 Not Found"
    assert len(events()) == 1


def test_consent_is_required_before_reading(config):
    make_property(
        config, "obj-3", "Mit Widerruf", requires_consent=True, files={"plan.pdf": CONTENT}
    )
    make_contact("4712")
    granted = make_grant(config, "obj-3", "4712")
    app = build_site(config, bare=True)
    auth = basic(granted.username, granted.password)
    assert call(app, "GET", "/view/obj-3/plan.pdf", auth).status == "404 Not Found"
