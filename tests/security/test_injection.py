"""HTML and JavaScript injection through file names, folder names, property titles,
the branding name, consent texts and the search box: everything arrives escaped,
no page carries inline script, and no file is ever served as HTML."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import requests

from gateway.models import Property
from gateway.services import branding, consent
from tests.security.htmlcheck import active_content

pytestmark = pytest.mark.server

NAMES = [
    "<script>alert(1).pdf",
    "<svg onload=alert(11)>.pdf",
    '"><img src=x onerror=alert(2)>.pdf',
    "'onmouseover='alert(3)'.txt",
    "javascript:alert(4).pdf",
    "{{7*7}}.pdf",
    "x\r\nX-Injected: yes.pdf",
]
FOLDER = "<i onclick=alert(10)>fett"
TITLE = '<script>alert("titel")</script> & "Quotes" <img src=x onerror=alert(5)>'
BRAND = '<script>alert("brand")</script><style>body{display:none}</style>'
WIDERRUF = (
    'Widerrufsbelehrung <script>alert("w")</script>\n\n'
    '<a href="javascript:alert(6)">klick</a> <iframe src="https://evil.example"></iframe>'
)
AGB = 'AGB <img src=x onerror=alert("agb")>'

RAW_MARKERS = [
    b"<script>alert",
    b"<img src=x onerror",
    b"<i onclick",
    b"<svg onload",
    b'href="javascript:',
    b"<iframe",
    b"<style>body",
    b"'onmouseover='",
]


@pytest.fixture
def hostile(world):
    folder = world.config.properties_dir / "obj-1"
    for name in NAMES:
        (folder / name).write_bytes(b"%PDF-hostile")
    (folder / FOLDER).mkdir()
    (folder / FOLDER / "inner.pdf").write_bytes(b"%PDF-inner")
    (folder / "evil.html").write_bytes(b"<html><script>alert(8)</script></html>")
    (folder / "evil.svg").write_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(9)</script></svg>'
    )
    Property.update(title=TITLE).where(Property.key.in_(["obj-1", "obj-c"])).execute()
    branding.set_branding(world.config, name=BRAND)
    consent.add_text("widerruf", WIDERRUF)
    consent.add_text("agb", AGB)


def _assert_clean(label, response):
    body = response.content
    for marker in RAW_MARKERS:
        assert marker not in body, (label, marker)
    if response.headers.get("Content-Type", "").startswith("text/html"):
        assert active_content(response.text) == [], label
    for name, value in response.headers.items():
        assert "\n" not in value and "\r" not in value, (label, name)
    assert "X-Injected" not in response.headers, label


def test_hostile_names_titles_branding_and_texts_are_escaped(hostile, server, world):
    base = f"{server.url}/s/{world.link}"
    pages = {
        "share": requests.get(base + "/"),
        "tiles": requests.get(base + "/", params={"view": "tiles"}),
        "folder": requests.get(base + "/browse/" + quote(FOLDER)),
        "search": requests.get(base + "/", params={"q": '<script>alert("q")</script>'}),
        "search all": requests.get(base + "/", params={"q": "alert"}),
        "preview": requests.get(f"{server.url}/p/{world.preview}/"),
        "consent": requests.get(f"{server.url}/s/{world.consent_link}/"),
        "not found": requests.get(f"{server.url}/s/" + "A" * 43),
        "forbidden": requests.get(f"{server.url}/p/{world.preview}/download/plan.pdf"),
    }
    for label, page in pages.items():
        assert page.headers["Content-Type"].startswith("text/html"), label
        _assert_clean(label, page)
    share = pages["share"].text
    assert "&lt;script&gt;alert(1).pdf" in share  # shown, as text
    assert re.search(r"&lt;script&gt;alert\((&#34;|&quot;)titel", share)
    assert re.search(r"&lt;script&gt;alert\((&#34;|&quot;)w", pages["consent"].text)


def test_hostile_names_in_downloads_and_zips(hostile, server, world):
    base = f"{server.url}/s/{world.link}"
    for name in NAMES:
        for action in ("download", "open"):
            r = requests.get(f"{base}/{action}/{quote(name)}")
            assert r.status_code in (200, 404), (action, name, r.status_code)
            _assert_clean(f"{action} {name!r}", r)
    for zip_url in (base + "/zip", base + "/zip?dir=" + quote(FOLDER)):
        r = requests.get(zip_url)
        assert r.status_code == 200
        for name, value in r.headers.items():
            assert "\n" not in value and "\r" not in value and "<script" not in value, name


@pytest.mark.parametrize("name", ["evil.html", "evil.svg"])
def test_active_content_is_never_served_as_a_page(hostile, server, world, name):
    for url, auth in (
        (f"{server.url}/s/{world.link}/open/{name}", None),
        (f"{server.url}/s/{world.link}/download/{name}", None),
        (f"{server.url}/view/obj-1/{name}", world.contact),
    ):
        r = requests.get(url, auth=auth)
        assert r.status_code == 200, url
        kind = r.headers.get("Content-Type", "")
        disposition = r.headers.get("Content-Disposition", "")
        sandboxed = r.headers.get("Content-Security-Policy", "").startswith("sandbox")
        assert r.headers["X-Content-Type-Options"] == "nosniff", url
        # inert: not a page type, or downloaded, or rendered in a script-less sandbox
        assert (
            not kind.startswith(("text/html", "image/svg"))
            or disposition.startswith("attachment")
            or sandboxed
        ), (url, kind)
