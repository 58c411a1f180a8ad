"""curl replays of what Windows Explorer (MiniRedir) and macOS Finder (WebDAVFS) send
when they mount a share and copy a file in, against the real server.

Each step is one curl call with the client's method, headers and body, in the order
the client sends them (WSGIDAV.md §5): the unauthenticated probes, PROPFIND Depth 0/1
with their property lists, LOCK before PUT, Finder's chunked PUT and AppleDouble
``._`` files, Explorer's ``Win32LastModifiedTime`` PROPPATCH.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import subprocess

import pytest

from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import require_tool
from tests.webdav_bodies import lock_body

pytestmark = pytest.mark.server

WINDOWS_UA = "Microsoft-WebDAV-MiniRedir/10.0.19045"
FINDER_UA = "WebDAVFS/3.0.0 (03008000) Darwin/22.6.0 (x86_64)"

WINDOWS_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:">'
    '<D:prop xmlns:Z="urn:schemas-microsoft-com:"><D:creationdate/><D:displayname/>'
    "<D:getcontentlength/><D:getlastmodified/><D:resourcetype/><Z:Win32FileAttributes/>"
    "</D:prop></D:propfind>"
)
FINDER_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
    "<D:getlastmodified/><D:getcontentlength/><D:creationdate/><D:resourcetype/>"
    "</D:prop></D:propfind>"
)
WIN32_TIMES = (
    '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" '
    'xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>'
    "<Z:Win32CreationTime>{t}</Z:Win32CreationTime>"
    "<Z:Win32LastAccessTime>{t}</Z:Win32LastAccessTime>"
    "<Z:Win32LastModifiedTime>{t}</Z:Win32LastModifiedTime>"
    "<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>"
    "</D:prop></D:set></D:propertyupdate>"
)
MODIFIED = "Wed, 15 May 2024 08:30:00 GMT"


@pytest.fixture
def curl(server, tmp_path):
    """``curl(method, path, user_agent, auth=None, headers=(), body=None, chunked=False)``
    → (status, headers, body text)."""
    executable = require_tool("curl")
    counter = iter(range(10**6))

    def run(method, path, user_agent, *, auth=None, headers=(), body=None, chunked=False):
        n = next(counter)
        out, head = tmp_path / f"body-{n}", tmp_path / f"head-{n}"
        args = [
            executable,
            "-s",
            "-S",
            "-g",
            "--path-as-is",
            "-X",
            method,
            "-A",
            user_agent,
            "-o",
            str(out),
            "-D",
            str(head),
            "-w",
            "%{http_code}",
        ]
        if auth is not None:
            args += ["-u", f"{auth[0]}:{auth[1]}"]
        for header in headers:
            args += ["-H", header]
        if body is not None:
            data = tmp_path / f"data-{n}"
            data.write_bytes(body if isinstance(body, bytes) else body.encode())
            args += ["--data-binary", f"@{data}"]
            if chunked:
                args += ["-H", "Transfer-Encoding: chunked"]
        result = subprocess.run(
            args + [server.url + path], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        parsed = {}
        for line in head.read_text("latin-1").splitlines()[1:]:
            name, _, value = line.partition(":")
            parsed[name.strip().lower()] = value.strip()
        text = out.read_text("utf-8", "replace") if out.exists() else ""
        return int(result.stdout), parsed, text

    return run


@pytest.fixture
def people(config):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5", files={"plan.pdf": b"%PDF-" + b"p" * 995})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    return ("anna", AGENT_PASSWORD), (granted.username, granted.password)


def test_windows_explorer_mounts_and_copies_a_file_in(curl, people, config):
    agent, contact = people
    # "Map network drive": anonymous probe of the site root, then the share
    status, headers, _ = curl("OPTIONS", "/", "DavClnt")
    assert status == 200 and "1" in headers["dav"] and headers["ms-author-via"] == "DAV"
    status, headers, _ = curl("OPTIONS", "/dav/", WINDOWS_UA)
    assert status == 401 and headers["www-authenticate"].startswith("Basic")
    status, headers, _ = curl("OPTIONS", "/dav/", WINDOWS_UA, auth=agent)
    assert status == 200 and "2" in headers["dav"].replace(" ", "").split(",")
    status, _, _ = curl(
        "PROPFIND",
        "/dav",
        WINDOWS_UA,
        auth=agent,
        headers=["Depth: 0", "translate: f", "Content-Length: 0"],
    )
    assert status == 207
    status, _, listing = curl(
        "PROPFIND",
        "/dav/obj-1",
        WINDOWS_UA,
        auth=agent,
        headers=["Depth: 1", "translate: f"],
        body=WINDOWS_PROPFIND,
    )
    assert status == 207 and "plan.pdf" in listing and "Win32FileAttributes" in listing
    # copy "Exposé.pdf" in: probe, empty PUT, LOCK, times, PUT, times, UNLOCK
    path = "/dav/obj-1/Expos%C3%A9.pdf"
    assert curl("PROPFIND", path, WINDOWS_UA, auth=agent, headers=["Depth: 0"])[0] == 404
    assert curl("PUT", path, WINDOWS_UA, auth=agent, headers=["Content-Length: 0"])[0] == 201
    status, headers, _ = curl(
        "LOCK",
        path,
        WINDOWS_UA,
        auth=agent,
        headers=["Timeout: Second-3600", "Depth: 0"],
        body=lock_body("<D:href>WIN10\\anna</D:href>"),
    )
    assert status == 200
    token = headers["lock-token"]
    if_header = f"If: ({token})"
    times = WIN32_TIMES.format(t=MODIFIED)
    assert (
        curl("PROPPATCH", path, WINDOWS_UA, auth=agent, headers=[if_header], body=times)[0] == 207
    )
    content = b"%PDF-1.7 expose " * 4096
    assert curl("PUT", path, WINDOWS_UA, auth=agent, headers=[if_header], body=content)[0] == 204
    status, _, answer = curl(
        "PROPPATCH", path, WINDOWS_UA, auth=agent, headers=[if_header], body=times
    )
    assert status == 207 and "200 OK" in answer
    assert curl("UNLOCK", path, WINDOWS_UA, auth=agent, headers=[f"Lock-Token: {token}"])[0] == 204
    stored = config.properties_dir / "obj-1" / "Exposé.pdf"
    assert stored.read_bytes() == content
    expected = calendar.timegm(email.utils.parsedate(MODIFIED))
    assert int(stored.stat().st_mtime) == expected  # Explorer keeps the file's time
    # the contact's read-only drive: class 1, no LOCK, no PUT
    status, headers, _ = curl("OPTIONS", "/view/", WINDOWS_UA, auth=contact)
    assert headers["dav"].replace(" ", "").split(",")[0] == "1"
    assert "2" not in headers["dav"].replace(" ", "").split(",")
    status, _, listing = curl(
        "PROPFIND",
        "/view/obj-1",
        WINDOWS_UA,
        auth=contact,
        headers=["Depth: 1", "translate: f"],
        body=WINDOWS_PROPFIND,
    )
    assert status == 207 and "Expos%C3%A9.pdf" in listing
    assert (
        curl(
            "LOCK",
            "/view/obj-1/Expos%C3%A9.pdf",
            WINDOWS_UA,
            auth=contact,
            body=lock_body("<D:href>x</D:href>"),
        )[0]
        == 405
    )
    assert curl("PUT", "/view/obj-1/new.pdf", WINDOWS_UA, auth=contact, body=b"x")[0] == 405


def test_macos_finder_mounts_and_copies_a_file_in(curl, people, config):
    agent, contact = people
    assert curl("OPTIONS", "/dav/", FINDER_UA)[0] == 401
    status, headers, _ = curl("OPTIONS", "/dav/", FINDER_UA, auth=agent)
    assert status == 200 and "2" in headers["dav"].replace(" ", "").split(",")
    status, _, _ = curl(
        "PROPFIND", "/dav/", FINDER_UA, auth=agent, headers=["Depth: 0"], body=FINDER_PROPFIND
    )
    assert status == 207
    # Finder's probes for its own metadata files
    for probe in (
        "/dav/._.",
        "/dav/.DS_Store",
        "/dav/obj-1/._.",
        "/dav/obj-1/.localized",
        "/dav/obj-1/.ql_disablethumbnails",
        "/dav/obj-1/._plan.pdf",
    ):
        assert (
            curl(
                "PROPFIND", probe, FINDER_UA, auth=agent, headers=["Depth: 0"], body=FINDER_PROPFIND
            )[0]
            == 404
        ), probe
    status, _, listing = curl(
        "PROPFIND", "/dav/obj-1/", FINDER_UA, auth=agent, headers=["Depth: 1"], body=FINDER_PROPFIND
    )
    assert status == 207 and "plan.pdf" in listing
    # copy "Grundriss.pdf" in: empty file, LOCK, AppleDouble, chunked PUT, UNLOCK
    path = "/dav/obj-1/Grundriss.pdf"
    assert curl("PUT", path, FINDER_UA, auth=agent, headers=["Content-Length: 0"])[0] == 201
    status, headers, _ = curl(
        "LOCK",
        path,
        FINDER_UA,
        auth=agent,
        headers=["Timeout: Second-600", "Depth: 0"],
        body=lock_body("<D:href>http://www.apple.com/webdav_fs/</D:href>"),
    )
    assert status == 200
    token = headers["lock-token"]
    appledouble = b"\x00\x05\x16\x07" + b"\x00" * 4092
    assert (
        curl(
            "PUT",
            "/dav/obj-1/._Grundriss.pdf",
            FINDER_UA,
            auth=agent,
            body=appledouble,
            chunked=True,
            headers=["X-Expected-Entity-Length: 4096"],
        )[0]
        == 201
    )
    content = b"%PDF-1.4 grundriss " * 10000
    assert (
        curl(
            "PUT",
            path,
            FINDER_UA,
            auth=agent,
            body=content,
            chunked=True,
            headers=[f"If: <{path}> ({token})", f"X-Expected-Entity-Length: {len(content)}"],
        )[0]
        == 204
    )
    assert (
        curl("PUT", "/dav/obj-1/.DS_Store", FINDER_UA, auth=agent, body=b"\x00\x00\x00\x01Bud1")[0]
        == 201
    )
    assert curl("UNLOCK", path, FINDER_UA, auth=agent, headers=[f"Lock-Token: {token}"])[0] == 204
    folder = config.properties_dir / "obj-1"
    assert (folder / "Grundriss.pdf").read_bytes() == content
    assert (folder / "._Grundriss.pdf").read_bytes() == appledouble
    # the contact mounts read-only and never sees Finder's files
    status, headers, _ = curl("OPTIONS", "/view/", FINDER_UA, auth=contact)
    assert headers["dav"].replace(" ", "").split(",") == ["1"]
    status, _, listing = curl(
        "PROPFIND",
        "/view/obj-1/",
        FINDER_UA,
        auth=contact,
        headers=["Depth: 1"],
        body=FINDER_PROPFIND,
    )
    assert status == 207 and "Grundriss.pdf" in listing
    assert not re.search(r"\._Grundriss|\.DS_Store", listing)
    status, headers, part = curl(
        "GET", "/view/obj-1/Grundriss.pdf", FINDER_UA, auth=contact, headers=["Range: bytes=9-17"]
    )
    assert status == 206 and part == "grundriss"
    assert curl("GET", "/view/obj-1/._Grundriss.pdf", FINDER_UA, auth=contact)[0] == 404
