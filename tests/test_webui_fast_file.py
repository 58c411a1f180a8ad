"""The lean file path of personal links (``webui.fast_file``) answers exactly as the
web app does.

Each request goes once through the server's stack as it is, and once with the lean
path switched off (every request handed to the web app); status, headers and body
must be the same, and so must the tracking event. Plain file URLs must really take
the lean path.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from urllib.parse import quote, urlsplit

import pytest

from gateway.server import build_site
from gateway.services import grants
from tests.factories import make_contact, make_grant, make_property
from tests.tracking_tools import comparable
from tests.tracking_tools import recorded_events as events
from tests.wsgi_calls import call, without_lean_path
from webui import fast_file

PDF = b"%PDF-1.4 " + bytes(range(256)) * 20
BIG = os.urandom(3 * 1024 * 1024 + 17)  # several blocks
FILES = {
    "plan.pdf": PDF,
    "Exposé Müller.pdf": PDF[:500],
    "Grundrisse/EG ü.pdf": PDF[:300],
    "notes.txt": "Grüße\n".encode(),
    "vertrag.docx": b"PK\x03\x04 docx",
    "<script>alert(1)</script>.pdf": b"%PDF-x",
    "100%.pdf": b"%PDF-percent",
    "a&b;c\"d'.pdf": b"%PDF-quotes",
    "x\r\nX-Injected: yes.pdf": b"%PDF-header",
    "big.bin": BIG,
    "empty.txt": b"",
    ".DS_Store": b"junk",
    "._plan.pdf": b"apple",
    ".hidden.txt": b"x",
}


@pytest.fixture
def site(config):
    make_property(config, "obj-1", "Musterstraße 5", files=FILES)
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-secret"})
    make_property(config, "obj-3", "Mit Widerruf", requires_consent=True, files={"a.pdf": PDF})
    make_contact("4711")
    link = urlsplit(make_grant(config, "obj-1", "4711").link).path
    consent_link = urlsplit(make_grant(config, "obj-3", "4711").link).path
    folder = config.properties_dir / "obj-1"
    os.symlink(config.properties_dir / "obj-2" / "secret.pdf", folder / "link.pdf")
    os.symlink(config.properties_dir / "obj-2", folder / "linked-folder")
    (folder / "twin-a.pdf").write_bytes(b"twin")
    os.link(folder / "twin-a.pdf", folder / "twin-b.pdf")
    os.mkfifo(folder / "pipe.pdf")
    return build_site(config, bare=True), link, consent_link


#: The same request with the lean path off: the web app's answer.
via_web_app = without_lean_path(fast_file.FastFile, fast_file._Fallthrough)


def normalised(answer):
    return answer.status, sorted(answer.headers), answer.body


CASES = [
    ("download", "download/plan.pdf", "GET", {}),
    ("open a PDF", "open/plan.pdf", "GET", {}),
    ("open text", "open/notes.txt", "GET", {}),
    ("open an office file: attachment", "open/vertrag.docx", "GET", {}),
    ("HEAD", "download/plan.pdf", "HEAD", {}),
    ("umlauts and spaces", "download/Exposé Müller.pdf", "GET", {}),
    ("subfolder", "open/Grundrisse/EG ü.pdf", "GET", {}),
    ("script in the name", "download/<script>alert(1)</script>.pdf", "GET", {}),
    ("quotes in the name", "download/a&b;c\"d'.pdf", "GET", {}),
    ("percent in the name", "download/100%.pdf", "GET", {}),
    ("line break in the name", "download/x\r\nX-Injected: yes.pdf", "GET", {}),
    ("big file", "download/big.bin", "GET", {}),
    ("empty file", "download/empty.txt", "GET", {}),
    ("range", "open/plan.pdf", "GET", {"range": "bytes=10-99"}),
    ("If-None-Match", "open/plan.pdf", "GET", {"if_none_match": '"x"'}),
    ("If-Modified-Since", "open/plan.pdf", "GET", {"if_modified_since": "Fri, 01 Jan 2100"}),
    ("OS junk", "download/.DS_Store", "GET", {}),
    ("AppleDouble", "download/._plan.pdf", "GET", {}),
    ("dot file", "download/.hidden.txt", "GET", {}),
    ("missing file", "download/none.pdf", "GET", {}),
    ("folder", "download/Grundrisse", "GET", {}),
    ("symbolic link", "download/link.pdf", "GET", {}),
    ("through a linked folder", "download/linked-folder/secret.pdf", "GET", {}),
    ("hard link", "download/twin-a.pdf", "GET", {}),
    ("named pipe", "download/pipe.pdf", "GET", {}),
    ("dot segments", "download/Grundrisse/../plan.pdf", "GET", {}),
    ("double slash", "download//plan.pdf", "GET", {}),
    ("trailing slash", "download/plan.pdf/", "GET", {}),
    ("another property's file", "download/../../obj-2/secret.pdf", "GET", {}),
    ("thumbnail URL", "thumb/plan.pdf", "GET", {}),
    ("unknown action", "delete/plan.pdf", "GET", {}),
]


@pytest.mark.parametrize("name,action,method,headers", CASES, ids=[c[0] for c in CASES])
def test_answers_as_the_web_app_does(site, monkeypatch, name, action, method, headers):
    app, link, _ = site
    path = f"{link}/{action}"
    fast = call(app, method, path, **headers)
    reference = via_web_app(monkeypatch, app, method, path, **headers)
    assert normalised(fast) == normalised(reference)


def test_link_states_answer_as_the_web_app_does(site, config, monkeypatch):
    app, link, consent_link = site
    token = link.rsplit("/", 1)[1]
    cases = {
        "consent not given": f"{consent_link}/download/a.pdf",
        "unknown token": link.replace(token, token[:-4] + "AAAA") + "/download/plan.pdf",
        "preview link": f"/p/{token}/download/plan.pdf",
    }
    for name, path in cases.items():
        fast = call(app, "GET", path)
        assert normalised(fast) == normalised(via_web_app(monkeypatch, app, "GET", path)), name
    assert call(app, "GET", cases["consent not given"]).status.startswith("303")

    grants.revoke_access("obj-1", "4711")
    revoked = call(app, "GET", f"{link}/download/plan.pdf")
    assert revoked.status.startswith("404")
    assert normalised(revoked) == normalised(
        via_web_app(monkeypatch, app, "GET", f"{link}/download/plan.pdf")
    )
    assert [e.action for e in events()] == ["denied", "denied"]

    make_grant(config, "obj-1", "4711", expires=datetime.date(2000, 1, 1))
    assert call(app, "GET", f"{link}/download/plan.pdf").status.startswith("404")


def test_plain_file_urls_never_reach_the_web_app(site, monkeypatch):
    app, link, _ = site

    def no_web_app(environ, start_response):
        raise AssertionError("the web app was asked")

    monkeypatch.setattr(app.web, "app", no_web_app)
    assert call(app, "GET", f"{link}/download/plan.pdf").body == PDF
    assert call(app, "GET", f"{link}/open/Grundrisse/EG ü.pdf").body == PDF[:300]
    assert call(app, "GET", f"{link}/download/big.bin").body == BIG
    assert call(app, "HEAD", f"{link}/download/plan.pdf").body == b""
    headers = call(app, "GET", f"{link}/open/notes.txt").headers
    assert ("Content-Type", "text/plain; charset=utf-8") in headers  # once, not twice
    assert dict(headers)["Content-Disposition"] == "inline; filename=notes.txt"
    name = "Exposé Müller.pdf"
    disposition = dict(call(app, "GET", f"{link}/download/{name}").headers)["Content-Disposition"]
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe="!#$&+-.^_`|~"))


def test_a_download_is_tracked_as_through_the_web_app(site, monkeypatch):
    app, link, _ = site
    for action in ("download/plan.pdf", "open/plan.pdf", "download/big.bin"):
        call(app, "GET", f"{link}/{action}", user_agent="Firefox")
        via_web_app(monkeypatch, app, "GET", f"{link}/{action}", user_agent="Firefox")
    rows = [comparable(e) for e in events()]
    assert rows[0] == rows[1] and rows[2] == rows[3] and rows[4] == rows[5]
    download, opened, big = rows[0], rows[2], rows[4]
    assert (download["channel"], download["action"], download["contact"]) == (
        "web",
        "download",
        "4711",
    )
    assert opened["action"] == "open"
    assert (download["bytes"], download["complete"], download["sha256"]) == (
        len(PDF),
        True,
        hashlib.sha256(PDF).hexdigest(),
    )
    assert (big["bytes"], big["complete"]) == (len(BIG), True)
