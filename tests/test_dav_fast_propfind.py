"""The lean PROPFIND path (``dav_provider.fast_propfind``) answers exactly as WsgiDAV does.

Each request goes once through the server's WebDAV stack as it is, and once with the
lean path switched off (every PROPFIND handed to WsgiDAV). The parsed multistatus
(every response's href, each propstat's status and property values) must be the
same, and so must the bytes, but for the disk usage in the quota properties and the
seconds left on a lock, which move between the two requests. Whether WsgiDAV was
asked is counted: plain requests must not reach it, everything unusual must.
"""

from __future__ import annotations

import http.client
import os
import re
import socket

import pytest
from lxml import etree

from dav_provider import fast_propfind
from dav_provider.fast_propfind import FastPropfind
from gateway.server import build_site
from gateway.services import grants
from tests.factories import make_agent, make_contact, make_grant, make_property
from tests.webdav_bodies import lock_body
from tests.wsgi_calls import Answer, call, logins, without_lean_path

FILES = {
    "plan.pdf": b"%PDF-plan",
    "Angebot.docx": b"PK-docx",
    "archiv.tar.gz": b"gz",
    "daten.tgz": b"tgz",
    "bild.SVGZ": b"svgz",
    "ohne Endung": b"x",
    "a&b <script>alert(1)<script>.txt": b"script",
    "Übersicht (neu) 'final'!.pdf": b"kept characters",
    "100% sicher, $5 | ~.txt": b"percent",
    "Haus 🏠.jpg": b"jpg",
    "selten \x7f\u2028\ufeff\u0085.txt": b"rare characters XML carries as they are",
    "leer.txt": b"",
    "Grundrisse/EG ü.pdf": b"%PDF-eg",
    "Grundrisse/OG.dwg": b"dwg",
    "Straße & Höfe/Lageplan.pdf": b"%PDF-lage",
    ".DS_Store": b"junk",
    "._plan.pdf": b"apple",
    ".hidden.txt": b"dot file",
    "~$Angebot.docx": b"office lock",
    ".~lock.Angebot.docx#": b"libreoffice lock",
    ".~immoshare-upload-0123abcd": b"half an upload",
    "Thumbs.db": b"windows",
    "Sonderfall/ctrl\x01name.txt": b"control character",
}
MANY = 2 * fast_propfind.CHUNK_ENTRIES + 7  # a folder streamed in three chunks


@pytest.fixture
def site(config):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5 & <b>Söhne</b>", files=FILES)
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-secret"})
    make_property(config, "obj-3", "Mit Widerruf", requires_consent=True, files={"a.pdf": b"a"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    make_grant(config, "obj-3", "4711")
    folder = config.properties_dir / "obj-1"
    (folder / "Leer").mkdir()
    os.symlink(config.properties_dir / "obj-2" / "secret.pdf", folder / "link.pdf")
    os.symlink(config.properties_dir / "obj-2", folder / "Verknüpfung")
    (folder / "twin-a.pdf").write_bytes(b"twin")
    os.link(folder / "twin-a.pdf", folder / "twin-b.pdf")
    os.mkfifo(folder / "Leitung")
    many = folder / "Viele"
    many.mkdir()
    for number in range(MANY):
        (many / f"Unterlage {number:04d} & Co.pdf").write_bytes(b"%PDF")
    return build_site(config, bare=True), granted


_MOVING = re.compile(rb"(<D:quota-(?:used|available)-bytes>)[0-9]+|Second-[0-9]+")


def _steady(data: bytes) -> bytes:
    """The body without what changes between two requests: disk usage, lock time."""
    return _MOVING.sub(lambda m: (m.group(1) or b"Second-") + b"N", data)


def multistatus(data: bytes) -> dict:
    """href → [(status, [(property, canonical XML)])], checking no href repeats."""
    root = etree.fromstring(_steady(data))
    assert root.tag == "{DAV:}multistatus"
    found = {}
    for response in root:
        href = response.findtext("{DAV:}href")
        assert href not in found, f"{href} twice"
        found[href] = [
            (
                propstat.findtext("{DAV:}status"),
                [
                    (prop.tag, etree.tostring(prop, method="c14n"))
                    for prop in propstat.find("{DAV:}prop")
                ],
            )
            for propstat in response.findall("{DAV:}propstat")
        ]
    return found


def _lean_of(app) -> FastPropfind:
    """The FastPropfind inside the server's stack (tracking → error pages → guard →
    GET path → here)."""
    for cell in app.dav.__closure__ or ():
        layer = cell.cell_contents
        while layer is not None:
            if isinstance(layer, FastPropfind):
                return layer
            layer = getattr(layer, "app", None)
    raise AssertionError("no lean PROPFIND path in the WebDAV stack")


@pytest.fixture
def wsgidav_calls(site, monkeypatch):
    """How often the lean path handed a request to WsgiDAV."""
    lean = _lean_of(site[0])
    wsgidav = lean.app
    counted = []

    def counting(environ, start_response):
        counted.append(environ["PATH_INFO"])
        return wsgidav(environ, start_response)

    monkeypatch.setattr(lean, "app", counting)
    return counted


#: The same request with the lean path off: WsgiDAV's answer.
via_wsgidav = without_lean_path(FastPropfind, fast_propfind.Fallthrough)


def assert_same(fast: Answer, reference: Answer) -> None:
    """Same status, headers (a streamed answer has no length) and multistatus."""
    assert fast.status == reference.status
    if fast.chunks > 1:
        assert "Content-Length" not in dict(fast.headers)
        reference.headers = [h for h in reference.headers if h[0] != "Content-Length"]
    assert fast.headers == reference.headers
    if fast.status.startswith("207") and b'NS1="http://www.w3.org/XML' not in reference.body:
        assert multistatus(fast.body) == multistatus(reference.body)
    assert _steady(fast.body) == _steady(reference.body)


ALLPROP = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
)
FINDER = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
    b"<D:getlastmodified/><D:getcontentlength/><D:creationdate/><D:resourcetype/>"
    b"</D:prop></D:propfind>"
)
FINDER_QUOTA = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
    b"<D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>"
)
EXPLORER = (
    b'<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop>'
    b"<D:name/><D:parentname/><D:href/><D:ishidden/><D:isreadonly/><D:getcontenttype/>"
    b"<D:contentclass/><D:getcontentlanguage/><D:creationdate/><D:lastaccessed/>"
    b"<D:getlastmodified/><D:getcontentlength/><D:iscollection/><D:isstructureddocument/>"
    b"<D:defaultdocument/><D:displayname/><D:isroot/><D:resourcetype/></D:prop></D:propfind>"
)
EXPLORER_WIN32 = (
    b'<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:" '
    b'xmlns:Z="urn:schemas-microsoft-com:"><D:prop><D:resourcetype/><D:getcontentlength/>'
    b"<D:getlastmodified/><D:creationdate/><D:displayname/><Z:Win32CreationTime/>"
    b"<Z:Win32LastAccessTime/><Z:Win32LastModifiedTime/><Z:Win32FileAttributes/>"
    b"</D:prop></D:propfind>"
)
RCLONE = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" '
    b'xmlns:nc="http://nextcloud.org/ns"><d:prop><d:displayname/><d:getlastmodified/>'
    b"<d:getcontentlength/><d:resourcetype/><d:getcontenttype/><oc:checksums/>"
    b"<oc:permissions/><nc:has-preview/></d:prop></d:propfind>"
)
CADAVER = (
    b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop>'
    b'<getcontentlength xmlns="DAV:"/><getlastmodified xmlns="DAV:"/>'
    b'<executable xmlns="http://apache.org/dav/props/"/><resourcetype xmlns="DAV:"/>'
    b'<checked-in xmlns="DAV:"/><checked-out xmlns="DAV:"/></prop></propfind>'
)
EVERY_LIVE_PROPERTY = (
    b'<propfind xmlns="DAV:" xmlns:x="urn:x"><prop><x:first/><getetag/><quota-used-bytes/>'
    b"<quota-available-bytes/><getcontenttype/><getcontentlength/><lockdiscovery/>"
    b'<supportedlock/><displayname/><displayname/><bare xmlns=""/><y:second xmlns:y="urn:y"/>'
    b"<creationdate/><resourcetype/><getlastmodified/><x:first/></prop></propfind>"
)
TWO_PROPS = b'<propfind xmlns="DAV:"><prop><displayname/></prop><prop><getetag/></prop></propfind>'
EMPTY_PROP = b'<propfind xmlns="DAV:"><prop/></propfind>'
PROPNAME = b'<propfind xmlns="DAV:"><propname/></propfind>'
INCLUDE = b'<propfind xmlns="DAV:"><allprop/><include><x xmlns="urn:x"/></include></propfind>'
NOTHING = b'<propfind xmlns="DAV:"/>'
NOT_XML = b"<propfind xmlns='DAV:'><allprop/>"
DOCTYPE = b'<!DOCTYPE p [<!ENTITY e "x">]><propfind xmlns="DAV:"><allprop/></propfind>'
COMMENT = b'<propfind xmlns="DAV:"><prop><!-- hi --><getetag/></prop></propfind>'
NOT_PROPFIND = b'<propertyupdate xmlns="DAV:"><allprop/></propertyupdate>'
XML_NAMESPACE = b'<propfind xmlns="DAV:"><prop><xml:lang/></prop></propfind>'
ODD_NAMESPACE = b'<propfind xmlns="DAV:"><prop><x xmlns="urn:a&amp;b"/></prop></propfind>'

LEAN, WSGIDAV = True, False
CASES = [
    # path, who, depth, body, headers, answered by the lean path
    ("property folder", "/view/obj-1/", "contact", "1", b"", {}, LEAN),
    ("without slash", "/view/obj-1", "contact", "1", b"", {}, LEAN),
    ("allprop body", "/view/obj-1/", "contact", "1", ALLPROP, {}, LEAN),
    ("depth 0 of a property folder", "/view/obj-1/", "contact", "0", ALLPROP, {}, LEAN),
    ("depth 0 of a folder", "/view/obj-1/Grundrisse/", "contact", "0", b"", {}, LEAN),
    ("folder with umlaut", "/view/obj-1/Straße & Höfe/", "contact", "1", b"", {}, LEAN),
    ("empty folder", "/view/obj-1/Leer", "contact", "1", b"", {}, LEAN),
    ("depth 0 of a file", "/view/obj-1/plan.pdf", "contact", "0", b"", {}, LEAN),
    ("depth 1 of a file", "/view/obj-1/Grundrisse/EG ü.pdf", "contact", "1", b"", {}, LEAN),
    ("file with slash", "/view/obj-1/plan.pdf/", "contact", "0", b"", {}, LEAN),
    ("script name", "/view/obj-1/a&b <script>alert(1)<script>.txt", "contact", "0", b"", {}, LEAN),
    ("kept characters", "/view/obj-1/Übersicht (neu) 'final'!.pdf", "contact", "0", b"", {}, LEAN),
    ("streamed", "/view/obj-1/Viele/", "contact", "1", ALLPROP, {}, LEAN),
    ("streamed props", "/dav/obj-1/Viele/", "agent", "1", RCLONE, {}, LEAN),
    ("agent", "/dav/obj-1/", "agent", "1", b"", {}, LEAN),
    ("agent, depth 0", "/dav/obj-1/.DS_Store", "agent", "0", ALLPROP, {}, LEAN),
    ("Finder", "/view/obj-1/", "contact", "1", FINDER, {}, LEAN),
    ("Finder quota", "/view/obj-1/", "contact", "1", FINDER_QUOTA, {}, LEAN),
    ("Explorer", "/dav/obj-1/", "agent", "1", EXPLORER, {}, LEAN),
    ("Explorer Win32", "/dav/obj-1/", "agent", "1", EXPLORER_WIN32, {}, LEAN),
    ("rclone", "/view/obj-1/", "contact", "1", RCLONE, {}, LEAN),
    ("cadaver", "/view/obj-1/", "contact", "1", CADAVER, {}, LEAN),
    ("every live property", "/dav/obj-1/", "agent", "1", EVERY_LIVE_PROPERTY, {}, LEAN),
    ("two prop elements", "/view/obj-1/", "contact", "1", TWO_PROPS, {}, LEAN),
    ("empty prop", "/view/obj-1/", "contact", "1", EMPTY_PROP, {}, LEAN),
    ("wrong password", "/view/obj-1/", "wrong", "1", b"", {}, LEAN),
    ("agent on the contact share", "/view/obj-1/", "agent", "1", b"", {}, LEAN),
    ("contact on the agent share", "/dav/obj-1/", "contact", "1", b"", {}, LEAN),
    ("propname", "/view/obj-1/", "contact", "1", PROPNAME, {}, WSGIDAV),
    ("include", "/view/obj-1/", "contact", "1", INCLUDE, {}, WSGIDAV),
    ("propfind without children", "/view/obj-1/", "contact", "1", NOTHING, {}, WSGIDAV),
    ("not XML", "/view/obj-1/", "contact", "1", NOT_XML, {}, WSGIDAV),
    ("DOCTYPE", "/view/obj-1/", "contact", "1", DOCTYPE, {}, WSGIDAV),
    ("comment", "/view/obj-1/", "contact", "1", COMMENT, {}, WSGIDAV),
    ("not a propfind", "/view/obj-1/", "contact", "1", NOT_PROPFIND, {}, WSGIDAV),
    ("xml namespace", "/view/obj-1/", "contact", "1", XML_NAMESPACE, {}, WSGIDAV),
    ("odd namespace", "/view/obj-1/", "contact", "1", ODD_NAMESPACE, {}, WSGIDAV),
    ("depth 2", "/view/obj-1/", "contact", "2", b"", {}, WSGIDAV),
    ("If", "/view/obj-1/", "contact", "1", b"", {"if": "(<opaquelocktoken:x>)"}, WSGIDAV),
    ("If-None-Match", "/view/obj-1/plan.pdf", "contact", "0", b"", {"if_none_match": "*"}, WSGIDAV),
    ("no credentials", "/view/obj-1/", None, "1", b"", {}, WSGIDAV),
    ("share root", "/view/", "contact", "1", b"", {}, WSGIDAV),
    ("agent's share root", "/dav/", "agent", "1", b"", {}, WSGIDAV),
    ("property not granted", "/view/obj-2/", "contact", "1", b"", {}, WSGIDAV),
    ("file of a property not granted", "/view/obj-2/secret.pdf", "contact", "0", b"", {}, WSGIDAV),
    ("consent not given", "/view/obj-3/", "contact", "1", b"", {}, WSGIDAV),
    ("unknown property", "/view/obj-9/", "contact", "1", b"", {}, WSGIDAV),
    ("missing file", "/view/obj-1/none.pdf", "contact", "0", b"", {}, WSGIDAV),
    ("OS junk", "/view/obj-1/.DS_Store", "contact", "0", b"", {}, WSGIDAV),
    ("AppleDouble", "/view/obj-1/._plan.pdf", "contact", "0", b"", {}, WSGIDAV),
    ("dot file", "/view/obj-1/.hidden.txt", "contact", "0", b"", {}, WSGIDAV),
    ("upload temporary", "/dav/obj-1/.~immoshare-upload-0123abcd", "agent", "0", b"", {}, WSGIDAV),
    ("symbolic link", "/view/obj-1/link.pdf", "contact", "0", b"", {}, WSGIDAV),
    ("linked folder", "/dav/obj-1/Verknüpfung/", "agent", "1", b"", {}, WSGIDAV),
    ("via a linked folder", "/dav/obj-1/Verknüpfung/secret.pdf", "agent", "0", b"", {}, WSGIDAV),
    ("hard link", "/view/obj-1/twin-a.pdf", "contact", "0", b"", {}, WSGIDAV),
    ("agent and a hard link", "/dav/obj-1/twin-b.pdf", "agent", "0", b"", {}, WSGIDAV),
    ("named pipe", "/dav/obj-1/Leitung", "agent", "0", b"", {}, WSGIDAV),
    # left out of every listing (split_share_path), so the lean path can answer
    ("a name XML cannot carry", "/view/obj-1/Sonderfall/", "contact", "1", b"", {}, LEAN),
    ("dot segments", "/view/obj-1/Grundrisse/../", "contact", "1", b"", {}, WSGIDAV),
    ("double slash", "/view/obj-1//Grundrisse/", "contact", "1", b"", {}, WSGIDAV),
]


@pytest.mark.parametrize(
    "name,path,who,depth,body,headers,lean", CASES, ids=[case[0] for case in CASES]
)
def test_answers_as_wsgidav_does(
    site, monkeypatch, wsgidav_calls, name, path, who, depth, body, headers, lean
):
    app, granted = site
    auth = logins(granted)[who]
    fast = call(app, "PROPFIND", path, auth, body, depth=depth, **headers)
    assert bool(wsgidav_calls) is not lean
    reference = via_wsgidav(monkeypatch, app, "PROPFIND", path, auth, body, depth=depth, **headers)
    assert_same(fast, reference)


SET_AUTHOR = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
    b'xmlns:Z="http://example.com/ns"><D:set><D:prop><Z:Autor>Anna &amp; Co</Z:Autor>'
    b"</D:prop></D:set></D:propertyupdate>"
)
REMOVE_AUTHOR = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
    b'xmlns:Z="http://example.com/ns"><D:remove><D:prop><Z:Autor/></D:prop></D:remove>'
    b"</D:propertyupdate>"
)
AUTHOR = (
    b'<propfind xmlns="DAV:"><prop><displayname/><Autor xmlns="http://example.com/ns"/>'
    b"</prop></propfind>"
)


def test_dead_properties_are_wsgidav_s(site, monkeypatch, wsgidav_calls):
    """A dead property set by PROPPATCH on a file makes every PROPFIND that shows the
    file WsgiDAV's, for allprop and by name; once removed, the lean path answers."""
    app, granted = site
    agent = logins(granted)["agent"]
    patched = call(app, "PROPPATCH", "/dav/obj-1/Grundrisse/EG ü.pdf", agent, SET_AUTHOR)
    assert patched.status.startswith("207")
    for path, depth, body in [
        ("/dav/obj-1/Grundrisse/", "1", b""),
        ("/dav/obj-1/Grundrisse/", "1", AUTHOR),
        ("/dav/obj-1/Grundrisse/EG ü.pdf", "0", ALLPROP),
    ]:
        wsgidav_calls.clear()
        fast = call(app, "PROPFIND", path, agent, body, depth=depth)
        assert len(wsgidav_calls) == 1, path
        assert b"Anna &amp; Co" in fast.body
        assert_same(fast, via_wsgidav(monkeypatch, app, "PROPFIND", path, agent, body, depth=depth))

    # the folder alone, and the same folder on the contacts' share, have none
    for path, depth, auth in [
        ("/dav/obj-1/Grundrisse/", "0", agent),
        ("/view/obj-1/Grundrisse/", "1", logins(granted)["contact"]),
    ]:
        wsgidav_calls.clear()
        fast = call(app, "PROPFIND", path, auth, depth=depth)
        assert wsgidav_calls == [], path
        assert_same(fast, via_wsgidav(monkeypatch, app, "PROPFIND", path, auth, depth=depth))

    call(app, "PROPPATCH", "/dav/obj-1/Grundrisse/EG ü.pdf", agent, REMOVE_AUTHOR)
    wsgidav_calls.clear()
    fast = call(app, "PROPFIND", "/dav/obj-1/Grundrisse/", agent, AUTHOR, depth="1")
    assert wsgidav_calls == []
    reference = via_wsgidav(
        monkeypatch, app, "PROPFIND", "/dav/obj-1/Grundrisse/", agent, AUTHOR, depth="1"
    )
    assert_same(fast, reference)


@pytest.fixture(params=["memory", "redis"])
def locking_site(request, config, site):
    """The site's gateway, with locks in memory or in Redis (several processes)."""
    if request.param == "memory":
        return site
    redis_url = request.getfixturevalue("redis_url")
    return build_site(config.with_overrides(redis_url=redis_url), bare=True), site[1]


def test_locks_are_described_by_wsgidav(locking_site, monkeypatch):
    """With a lock on a folder's member, a PROPFIND that shows lockdiscovery goes to
    WsgiDAV; one that does not ask for it, and the contacts' share (the lock is on
    the agents' URL), stay on the lean path."""
    app, granted = locking_site
    agent, contact = logins(granted)["agent"], logins(granted)["contact"]
    lean = _lean_of(app)
    wsgidav, asked = lean.app, []

    def counting(environ, start_response):
        asked.append(environ["PATH_INFO"])
        return wsgidav(environ, start_response)

    monkeypatch.setattr(lean, "app", counting)
    locked = call(
        app,
        "LOCK",
        "/dav/obj-1/Grundrisse/OG.dwg",
        agent,
        lock_body("anna &amp; co"),
        depth="0",
        timeout="Second-600",
    )
    assert locked.status == "200 OK"
    for path, depth, body, auth, by_wsgidav in [
        ("/dav/obj-1/Grundrisse/", "1", b"", agent, True),
        ("/dav/obj-1/Grundrisse/OG.dwg", "0", ALLPROP, agent, True),
        ("/dav/obj-1/", "1", b"", agent, True),  # a lock below the listing
        ("/dav/obj-1/Grundrisse/", "0", b"", agent, False),
        ("/dav/obj-1/Grundrisse/", "1", FINDER, agent, False),
        ("/view/obj-1/Grundrisse/", "1", b"", contact, False),
    ]:
        asked.clear()
        fast = call(app, "PROPFIND", path, auth, body, depth=depth)
        assert bool(asked) is by_wsgidav, path
        if by_wsgidav and path.endswith("OG.dwg"):
            assert b"<D:activelock>" in fast.body and b"anna &amp; co" in fast.body
        assert_same(fast, via_wsgidav(monkeypatch, app, "PROPFIND", path, auth, body, depth=depth))


def test_revocation_acts_on_the_next_request(site, wsgidav_calls):
    app, granted = site
    auth = logins(granted)["contact"]
    assert call(app, "PROPFIND", "/view/obj-1/", auth, depth="1").status == "207 Multi-Status"
    assert wsgidav_calls == []
    grants.revoke_access("obj-1", "4711")
    assert call(app, "PROPFIND", "/view/obj-1/", auth, depth="1").status == "404 Not Found"
    assert call(app, "PROPFIND", "/view/obj-1/plan.pdf", auth, depth="0").status == "404 Not Found"


def test_hidden_names_never_reach_contacts(site):
    app, granted = site
    listing = call(app, "PROPFIND", "/view/obj-1/", logins(granted)["contact"], depth="1").body
    for name in ("DS_Store", "._plan", ".hidden", "~%24Angebot", ".~lock", "upload", "Thumbs"):
        assert name.encode() not in listing
    for name in (b"link.pdf", b"twin-", b"Verkn", b"Leitung"):  # links, pipes: nobody
        assert name not in listing
    agent = call(app, "PROPFIND", "/dav/obj-1/", logins(granted)["agent"], depth="1").body
    assert b"/dav/obj-1/.DS_Store</D:href>" in agent and b"upload" not in agent
    assert b"link.pdf" not in agent and b"twin-" not in agent and b"Leitung" not in agent


def _raw(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request``, read until the server closes: (head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_streamed_over_http(site, config):
    """A big listing goes out chunked on HTTP/1.1 (the connection stays usable) and
    delimited by the end of the connection on HTTP/1.0, small ones with a length."""
    from tests.tools import ThreadedServer

    _, granted = site
    auth = logins(granted)["contact"]
    running = ThreadedServer(config)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
        headers = {"Authorization": auth, "Depth": "1"}
        conn.request("PROPFIND", "/view/obj-1/Viele/", body=ALLPROP, headers=headers)
        big = conn.getresponse()
        streamed = big.read()
        assert big.status == 207 and big.getheader("Transfer-Encoding") == "chunked"
        assert big.getheader("Content-Length") is None
        assert len(multistatus(streamed)) == MANY + 1
        conn.request("PROPFIND", "/view/obj-1/Grundrisse/", headers=headers)  # same connection
        small = conn.getresponse()
        listing = small.read()
        assert small.status == 207 and int(small.getheader("Content-Length")) == len(listing)
        assert len(multistatus(listing)) == 3
        conn.close()

        head, body = _raw(
            running.port,
            b"PROPFIND /view/obj-1/Viele/ HTTP/1.0\r\nHost: x\r\nDepth: 1\r\n"
            + f"Authorization: {auth}\r\n\r\n".encode(),
        )
        assert head.startswith(b"HTTP/1.") and b" 207 " in head.split(b"\r\n")[0]
        assert b"chunked" not in head.lower() and b"content-length" not in head.lower()
        assert multistatus(body) == multistatus(streamed)
    finally:
        running.stop()
