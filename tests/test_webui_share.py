"""The contact page over HTTP against the real server: links, listing, search, sort,
files, zip, preview, bad names and paths, headers, branding."""

from __future__ import annotations

import datetime
import http.client
import io
import os
import re
import zipfile
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from gateway.services import branding, grants
from tests.contact_page import FILES, VISIBLE_FILES, entries, entry_names, find, make_share
from tests.factories import make_grant
from tests.tracking_tools import recorded_events as events

pytestmark = pytest.mark.server


@pytest.fixture
def share(config):
    return make_share(config)


def get(server, path, **kwargs):
    return requests.get(server.url + path, allow_redirects=False, **kwargs)


def raw_get(server, path):
    """GET ``path`` exactly as written (requests would resolve ``..`` itself)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def settle(session, server):
    """One more request on the same connection: the server has closed (and so
    tracked) every earlier response on it before it answers."""
    session.get(server.url + "/healthz")


# --- links -----------------------------------------------------------------------


def test_unknown_revoked_and_expired_links_get_the_same_404(server, config, share):
    make_share(config, key="obj-2", ref="4712")
    grants.revoke_access("obj-2", "4712")
    make_share(config, key="obj-3", ref="4713")
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    expired = make_grant(config, "obj-3", "4713", expires=yesterday)
    revoked = (
        "/s/" + grants.personal_link(config, grants.get_grant("obj-2", "4712")).rsplit("/", 1)[1]
    )
    unknown = "/s/" + "A" * 43
    pages = [
        get(server, path) for path in (unknown, revoked, "/s/" + expired.link.rsplit("/", 1)[1])
    ]
    assert [p.status_code for p in pages] == [404, 404, 404]
    assert pages[0].text == pages[1].text == pages[2].text
    assert "Dieser Link ist nicht (mehr) gültig" in pages[0].text
    assert (
        "This link is not (or no longer) valid"
        in get(server, unknown, headers={"Accept-Language": "en"}).text
    )
    for page in pages:
        assert "Musterstraße" not in page.text and "obj-" not in page.text
        assert page.headers["Cache-Control"] == "no-store"
    # a deep URL of a revoked link learns nothing either
    deep = get(server, revoked + "/download/notizen.txt")
    assert deep.status_code == 404 and deep.text == pages[0].text


def test_personal_pages_are_not_cached_and_send_no_referrer(server, share):
    for path in (
        "/",
        "/browse/Grundrisse",
        "/download/notizen.txt",
        "/open/notizen.txt",
        "/zip",
        "/thumb/GRUNDRISS%20OG.pdf",
    ):
        r = get(server, share.link + path)
        assert r.status_code in (200, 302), path
        assert r.headers["Cache-Control"] == "no-store", path
        assert r.headers["Referrer-Policy"] == "no-referrer", path
    csp = get(server, share.link + "/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


# --- listing -----------------------------------------------------------------------


def test_top_folder_lists_folders_first_and_hides_os_junk(server, share):
    r = get(server, share.link)
    assert r.status_code == 200
    assert find(r.text, "share-title")[0].text.strip() == "Musterstraße 5, 90402 Nürnberg"
    shown = entries(r.text)
    kinds = [e.attrs["data-kind"] for e in shown]
    assert kinds == sorted(kinds, key=lambda k: k != "folder")
    names = [e.attrs["data-name"] for e in shown]
    assert names == [
        "<script>alert(1)<",
        "Energieausweis",
        "Fotos",
        "Grundrisse",
        "<img src=x onerror=alert(1)>.txt",
        "Exposé Musterstraße 5.pdf",
        "GRUNDRISS OG.pdf",
        "notizen.txt",
    ]
    sizes = {
        e.attrs["data-name"]: int(e.attrs["data-size"])
        for e in shown
        if e.attrs["data-kind"] == "file"
    }
    assert sizes["notizen.txt"] == len(FILES["notizen.txt"])
    assert ".DS_Store" not in r.text and "Thumbs.db" not in r.text and "._Expos" not in r.text


def test_folder_page_has_breadcrumb_and_its_own_entries(server, share):
    r = get(server, share.link + "/browse/Grundrisse")
    assert entry_names(r.text) == ["Grundriß_EG.pdf", "Grundriss Keller.pdf"]
    assert find(r.text, "breadcrumb")


@pytest.mark.parametrize(
    "path",
    [
        "/browse/..",
        "/browse/../../etc",
        "/browse/%2e%2e/%2e%2e",
        "/download/../obj-2/x.pdf",
        "/download/..%2Fsecret.txt",
        "/open/%2Fetc%2Fpasswd",
        "/download/Grundrisse",
        "/download/.DS_Store",
        "/download/Thumbs.db",
        "/thumb/../../secret.txt",
        "/browse/notizen.txt",
        "/download/missing.pdf",
        "/zip?dir=../..",
        "/zip?dir=notizen.txt",
        "/nonsense/notizen.txt",
    ],
)
def test_paths_outside_the_share_or_hidden_are_404(server, config, share, path):
    (config.properties_dir / "secret.txt").write_text("outside every property")
    status, body = raw_get(server, share.link + path)
    assert status == 404, body[:200]
    assert "outside every property" not in body


def test_symlinks_and_hard_links_are_not_shown_or_served(server, config, share):
    folder = config.properties_dir / "obj-1"
    secret = config.home / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, folder / "link.txt")
    os.link(secret, folder / "hard.txt")
    assert "link.txt" not in entry_names(get(server, share.link).text)
    assert "hard.txt" not in entry_names(get(server, share.link).text)
    assert get(server, share.link + "/download/link.txt").status_code == 404
    assert get(server, share.link + "/download/hard.txt").status_code == 404


# --- search and sort ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query,expected",
    [
        (
            "grundriss",
            {"Grundrisse", "Grundriß_EG.pdf", "Grundriss Keller.pdf", "GRUNDRISS OG.pdf"},
        ),
        ("GRUNDRIß eg", {"Grundriß_EG.pdf"}),
        ("expose", {"Exposé Musterstraße 5.pdf"}),
        ("musterstrasse", {"Exposé Musterstraße 5.pdf"}),
        ("schoen", {'Garten #1 100% "schön"?.jpg'}),
        ("<script", {"<script>alert(1)<"}),
        ("nichts-da", set()),
    ],
)
def test_search_covers_the_whole_share_case_and_umlaut_insensitive(server, share, query, expected):
    r = get(server, share.link + "/browse/Fotos", params={"q": query})
    assert set(entry_names(r.text)) == expected
    if not expected:
        assert find(r.text, "no-results")
        assert not find(r.text, "zip")


def test_sort_by_name_and_size_and_a_second_click_reverses(server, share):
    page = get(server, share.link).text
    link = find(page, "sort-size")[0].attrs["href"]
    by_size = get(server, share.link + "/" + link).text
    files = [e for e in entries(by_size) if e.attrs["data-kind"] == "file"]
    sizes = [int(e.attrs["data-size"]) for e in files]
    assert sizes == sorted(sizes) and len(set(sizes)) > 1
    reverse = find(by_size, "sort-size")[0].attrs["href"]
    by_size_desc = get(server, share.link + "/" + reverse).text
    files = [e for e in entries(by_size_desc) if e.attrs["data-kind"] == "file"]
    assert [int(e.attrs["data-size"]) for e in files] == sorted(sizes, reverse=True)
    name_desc = find(get(server, share.link).text, "sort-name")[0].attrs["href"]
    names = [
        e.attrs["data-name"]
        for e in entries(get(server, share.link + "/" + name_desc).text)
        if e.attrs["data-kind"] == "file"
    ]
    assert names == [
        "notizen.txt",
        "GRUNDRISS OG.pdf",
        "Exposé Musterstraße 5.pdf",
        "<img src=x onerror=alert(1)>.txt",
    ]


def test_view_choice_is_remembered_in_a_cookie(server, share):
    with requests.Session() as session:
        r = session.get(server.url + share.link + "/", params={"view": "tiles"})
        assert 'data-view="tiles"' in r.text
        assert 'data-view="tiles"' in session.get(server.url + share.link + "/").text


def test_english_from_accept_language_and_from_the_switch(server, share):
    german = get(server, share.link)
    assert "Herunterladen" in german.text and '<html lang="de">' in german.text
    english = get(server, share.link, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Download all shown" in english.text and '<html lang="en">' in english.text
    with requests.Session() as session:
        session.get(server.url + share.link + "/?lang=en")
        assert "Download all shown" in session.get(server.url + share.link).text


# --- files -------------------------------------------------------------------------


@pytest.mark.parametrize("relative", VISIBLE_FILES)
def test_every_awkward_name_downloads_with_its_bytes_and_name(server, share, relative):
    url = server.url + share.link + "/download/" + quote(relative)
    r = requests.get(url)
    assert r.status_code == 200
    assert r.content == FILES[relative]
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert (
        quote(relative.rsplit("/", 1)[-1], safe="!#$&+-.^_`|~") in r.headers["Content-Disposition"]
        or relative.rsplit("/", 1)[-1] in r.headers["Content-Disposition"]
    )


def test_download_links_on_the_page_work_for_every_file(server, share):
    page = get(server, share.link + "/", params={"q": "a"}).text  # a spans most names
    for entry in entries(page):
        for control in entry.children:
            if control.testid in ("download", "open"):
                r = requests.get(server.url + control.attrs["href"])
                assert r.status_code == 200, control.attrs["href"]
                assert r.content == FILES[entry.attrs["data-path"]]


def test_script_names_are_shown_as_text(server, share):
    page = get(server, share.link).text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    folder = get(server, share.link + "/browse/" + quote("<script>alert(1)<")).text
    assert entry_names(folder) == ["script>.pdf"]
    assert "<script>alert" not in folder


def test_open_is_inline_only_for_safe_types(server, share, config):
    folder = config.properties_dir / "obj-1"
    (folder / "page.html").write_text("<script>alert(1)</script>")
    pdf = get(server, share.link + "/open/" + quote("GRUNDRISS OG.pdf"))
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("inline")
    html = get(server, share.link + "/open/page.html")
    assert html.headers["Content-Disposition"].startswith("attachment")
    assert "html" not in html.headers["Content-Type"]
    assert not [
        c
        for e in entries(get(server, share.link).text)
        if e.attrs["data-name"] == "page.html"
        for c in e.children
        if c.testid == "open"
    ]


def test_range_requests_for_pdf_viewers(server, share):
    r = get(server, share.link + "/open/notizen.txt", headers={"Range": "bytes=0-5"})
    assert r.status_code == 206 and r.content == FILES["notizen.txt"][:6]


def test_thumbnails_for_images_and_pdfs(server, share, config):
    folder = config.properties_dir / "obj-1"
    Image.new("RGB", (1200, 800), (200, 30, 30)).save(folder / "foto.jpg")
    Image.new("RGB", (595, 842), "white").save(folder / "plan.pdf")
    for name in ("foto.jpg", "plan.pdf"):
        r = get(server, share.link + "/thumb/" + name)
        assert r.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(r.content))
        assert max(image.size) <= 320
    cached = list((config.home / "cache" / "thumbnails").rglob("*.jpg"))
    assert len(cached) == 2
    get(server, share.link + "/thumb/foto.jpg")
    assert len(list((config.home / "cache" / "thumbnails").rglob("*.jpg"))) == 2
    broken = get(server, share.link + "/thumb/" + quote("GRUNDRISS OG.pdf"))
    assert broken.status_code == 302 and "/icons/pdf.svg" in broken.headers["Location"]


# --- zip ---------------------------------------------------------------------------


def zip_of(server, page_html):
    href = find(page_html, "zip")[0].attrs["href"]
    r = requests.get(server.url + href)
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_zip_after_search_holds_exactly_the_entries_shown(server, share):
    page = get(server, share.link + "/", params={"q": "grundriss eg"}).text
    shown = [e.attrs["data-path"] for e in entries(page)]
    archive = zip_of(server, page)
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(shown) == ["Grundrisse/Grundriß_EG.pdf"]
    assert archive.read("Grundrisse/Grundriß_EG.pdf") == FILES["Grundrisse/Grundriß_EG.pdf"]
    info = archive.getinfo("Grundrisse/Grundriß_EG.pdf")
    assert info.flag_bits & 0x800  # UTF-8 name


def test_zip_of_a_folder_page_recurses_and_names_relative_to_it(server, share):
    archive = zip_of(server, get(server, share.link).text)
    expected = {k: v for k, v in FILES.items() if k in VISIBLE_FILES}
    assert sorted(archive.namelist()) == sorted(expected)
    for name, content in expected.items():
        assert archive.read(name) == content
    sub = zip_of(server, get(server, share.link + "/browse/Grundrisse").text)
    assert sorted(sub.namelist()) == sorted(["Grundriss Keller.pdf", "Grundriß_EG.pdf"])


def test_zip_of_an_empty_selection_is_a_message_not_a_file(server, share):
    r = get(server, share.link + "/zip", params={"q": "gibt es nicht"})
    assert r.status_code == 422
    assert r.headers["Content-Type"].startswith("text/html")
    assert find(r.text, "empty-zip")


def test_zip_stays_valid_when_a_file_changes_while_streaming(server, share, config):
    folder = config.properties_dir / "obj-1"
    big = folder / "big.bin"
    big.write_bytes(b"a" * (8 * 1024 * 1024))
    small = folder / "zz-last.txt"
    small.write_bytes(b"before")
    r = requests.get(server.url + share.link + "/zip", stream=True)
    size = int(r.headers["Content-Length"])
    body = io.BytesIO()
    chunks = r.iter_content(64 * 1024)
    body.write(next(chunks))
    small.write_bytes(b"after, and longer than before")  # rewritten in place
    big.with_name("big.tmp").write_bytes(b"b" * 100)
    os.replace(big.with_name("big.tmp"), big)  # replaced, as WebDAV does
    for chunk in chunks:
        body.write(chunk)
    assert body.tell() == size
    archive = zipfile.ZipFile(body)
    assert archive.testzip() is None
    assert archive.read("big.bin") == b"a" * (8 * 1024 * 1024)  # the version shown
    assert len(archive.read("zz-last.txt")) == len(b"before")


# --- tracking ----------------------------------------------------------------------


def test_page_views_opens_downloads_and_zips_are_tracked(server, share, http):
    http.get(server.url + share.link + "/browse/Grundrisse")
    http.get(server.url + share.link + "/open/notizen.txt")
    http.get(server.url + share.link + "/download/notizen.txt")
    http.get(server.url + share.link + "/zip", params={"dir": "Grundrisse"})
    settle(http, server)
    recorded = [(e.action, e.path, e.bytes, e.complete, e.contact) for e in events()]
    size = len(FILES["notizen.txt"])
    assert ("list", "Grundrisse", 0, False, "4711") in recorded
    assert ("open", "notizen.txt", size, True, "4711") in recorded
    assert ("download", "notizen.txt", size, True, "4711") in recorded
    assert [r[0] for r in recorded if r[0] in ("zip", "download")].count("download") == 3
    zip_event = next(e for e in events("zip"))
    assert zip_event.complete and zip_event.bytes == zip_event.size > 0
    member = next(e for e in events("download") if e.path == "Grundrisse/Grundriß_EG.pdf")
    assert member.complete and member.bytes == len(FILES["Grundrisse/Grundriß_EG.pdf"])
    assert member.sha256 and re.fullmatch("[0-9a-f]{64}", member.sha256)


def test_revoked_link_records_a_denied_event(server, share):
    grants.revoke_access("obj-1", "4711")
    assert get(server, share.link).status_code == 404
    denied = events("denied")
    assert [(e.contact, e.property) for e in denied] == [("4711", "obj-1")]


# --- preview -----------------------------------------------------------------------

PREVIEW_FILE_URLS = [
    "/download/notizen.txt",
    "/open/notizen.txt",
    "/download/" + quote("GRUNDRISS OG.pdf"),
    "/zip",
    "/zip?q=grundriss",
    "/zip?dir=Grundrisse",
    "/download/missing.pdf",
    "/download/../../etc/passwd",
    "/download/%2e%2e/secret",
    "/open/Grundrisse",
    "/DOWNLOAD/notizen.txt",
    "/download//notizen.txt",
    "/s/notizen.txt",
    "/raw/notizen.txt",
]


def test_preview_shows_the_page_without_download_controls(server, share):
    r = get(server, share.preview)
    assert r.status_code == 200
    assert find(r.text, "preview-banner")
    assert not find(r.text, "download") and not find(r.text, "open") and not find(r.text, "zip")
    assert "/download/" not in r.text and "/zip" not in r.text and "/open/" not in r.text
    assert events() == []
    assert set(entry_names(r.text)) == set(entry_names(get(server, share.link).text))


@pytest.mark.parametrize("path", PREVIEW_FILE_URLS)
def test_preview_refuses_every_file_and_zip_url(server, share, path):
    status, body = raw_get(server, share.preview + path)
    assert status == 403, body[:200]
    assert "Downloads sind in der Vorschau deaktiviert" in body
    assert events() == []


def test_preview_records_nothing_and_its_consent_step_is_only_shown(server, config):
    share = make_share(config, requires_consent=True)
    with requests.Session() as agent:
        assert find(agent.get(server.url + share.preview).text, "consent-form")
        agent.post(server.url + share.preview + "/consent")  # only leads on to the share
        r = agent.get(server.url + share.preview + "/browse/Grundrisse", allow_redirects=False)
        assert r.status_code == 200 and entry_names(r.text)
        thumb = agent.get(
            server.url + share.preview + "/thumb/" + quote("GRUNDRISS OG.pdf"),
            allow_redirects=False,
        )
        assert thumb.status_code == 302
    assert events() == []


# --- branding ----------------------------------------------------------------------


def test_branding_shows_at_once_and_the_logo_is_cached(server, config, share, tmp_path):
    assert not find(get(server, share.link).text, "logo")
    Image.new("RGB", (240, 60), (10, 80, 150)).save(tmp_path / "logo.png")
    branding.set_branding(config, name="Muster <Immobilien> GmbH", logo=tmp_path / "logo.png")
    page = get(server, share.link).text
    logo = find(page, "logo")[0]
    assert logo.attrs["alt"] == "Muster <Immobilien> GmbH"
    assert "Muster &lt;Immobilien&gt; GmbH" in page
    image = get(server, logo.attrs["src"])
    assert image.headers["Content-Type"] == "image/png"
    assert "immutable" in image.headers["Cache-Control"]
    Image.new("RGB", (240, 60), (150, 80, 10)).save(tmp_path / "logo2.png")
    branding.set_branding(config, logo=tmp_path / "logo2.png")
    new_src = find(get(server, share.link).text, "logo")[0].attrs["src"]
    assert new_src != logo.attrs["src"]
    assert get(server, new_src).status_code == 200
    assert get(server, logo.attrs["src"]).status_code == 404
    not_found = get(server, "/s/" + "B" * 43)
    assert "Muster &lt;Immobilien&gt; GmbH" in not_found.text
