"""The contact page and its preview under attack: path tricks in every deep URL under
``/s/`` and ``/p/``, the preview's download and zip URLs, a contact reaching another
property or a property awaiting consent by link, zip and thumbnail URLs, and CSRF on
the consent form."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import pytest
import requests

from gateway.models import ConsentRecord, Grant
from gateway.security import hash_token
from tests.security import rawhttp

pytestmark = pytest.mark.server

#: Relative to the property folder the link opens (obj-1).
WEB_TRICKS = [
    b"../obj-2/secret.pdf",
    b"./../obj-2/secret.pdf",
    b"%2e%2e/obj-2/secret.pdf",
    b"%2E%2E%2Fobj-2%2Fsecret.pdf",
    b"..%2fobj-2%2fsecret.pdf",
    b"..%5cobj-2%5csecret.pdf",
    b"..\\obj-2\\secret.pdf",
    b"%252e%252e/obj-2/secret.pdf",
    b"%c0%ae%c0%ae/obj-2/secret.pdf",
    b"%ef%bc%8e%ef%bc%8e/obj-2/secret.pdf",
    b"..;/obj-2/secret.pdf",
    b"Unterlagen/../../obj-2/secret.pdf",
    b"Unterlagen/%2e%2e/%2e%2e/obj-c/c.pdf",
    b"../obj-c/c.pdf",
    b"../../outside.txt",
    b"../../../elsewhere.txt",
    b"%2e%2e/%2e%2e/secret.key",
    b"../../immoshare.db",
    b"plan.pdf%00.txt",
    b"plan.pdf%00/../../../outside.txt",
    b"plan.pdf/..%2f..%2f..%2foutside.txt",
    b"....//....//outside.txt",
    b"obj-2/secret.pdf",
    b"plan.pdf.",
    b"PLAN.PDF",
    b"Unterlagen./expose.pdf",
    b"%2fetc%2fpasswd",
]
ACTIONS = [b"browse/", b"open/", b"download/", b"thumb/", b""]


def _absolute(world) -> list[bytes]:
    outside = str(world.home / "outside.txt")
    return [b"/" + outside.lstrip("/").encode(), quote(outside, safe="").encode()]


def _get(server, target: bytes, method="GET", headers=None):
    """The answer to ``target``, after at most one redirect: werkzeug answers a doubled
    slash with a 308 to the merged path, which then has to hold on its own."""
    r = rawhttp.request(server.port, method, target, headers)
    if r.status in (301, 308):
        location = urlsplit(r.headers["location"])
        assert location.netloc in ("", "127.0.0.1"), r.headers["location"]
        r = rawhttp.request(server.port, method, location.path.encode(), headers)
    return r


def test_deep_url_tricks_under_the_contact_link_are_404(server, world):
    for action in ACTIONS:
        for trick in WEB_TRICKS + _absolute(world):
            target = f"/s/{world.link}/".encode() + action + trick
            r = _get(server, target)
            assert r.status == 404, (target, r.status)
            assert not world.leaked(r.raw), target
    for trick in WEB_TRICKS:
        for query in (b"dir=" + trick, b"dir=" + trick + b"&q=secret"):
            target = f"/s/{world.link}/zip?".encode() + query
            r = _get(server, target)
            assert r.status in (404, 422), (target, r.status)
            assert not world.leaked(r.raw) and not r.body.startswith(b"PK"), target
        # a search is no path: it may find the contact's own files, nothing else
        r = _get(server, f"/s/{world.link}/zip?q=".encode() + trick)
        assert not world.leaked(r.raw), trick
    assert _get(server, f"/s/{world.link}/download/plan.pdf".encode()).status == 200


def test_deep_url_tricks_under_the_preview_are_refused(server, world):
    for action in ACTIONS:
        for trick in WEB_TRICKS + _absolute(world):
            target = f"/p/{world.preview}/".encode() + action + trick
            r = _get(server, target)
            assert r.status in (403, 404), (target, r.status)
            assert not world.leaked(r.raw), target


def _preview_bypasses(world) -> list[tuple[str, bytes, dict]]:
    p, s = world.preview, world.link
    targets = [
        f"/p/{p}/download/plan.pdf",
        f"/p/{p}/open/plan.pdf",
        f"/p/{p}/open/Unterlagen/expose.pdf",
        f"/p/{p}/download/Unterlagen/expose.pdf",
        f"/p/{p}/download/Unterlagen%2fexpose.pdf",
        f"/p/{p}/zip",
        f"/p/{p}/zip/",
        f"/p/{p}/zip?dir=Unterlagen",
        f"/p/{p}/zip?q=plan",
        f"/p/{p}/zip.zip",
        f"/p/{p}/plan.pdf",
        f"/p/{p}/Unterlagen/expose.pdf",
        f"/p/{p}/download/plan.pdf?download=1",
        f"/p/{p}/download/plan.pdf/",
        f"/p/{p}//download/plan.pdf",
        f"/p/{p}/./download/plan.pdf",
        f"/p/{p}/browse/../download/plan.pdf",
        f"/p/{p}/browse/%2e%2e/download/plan.pdf",
        f"/p/{p}/%64ownload/plan.pdf",
        f"/p/{p}/DOWNLOAD/plan.pdf",
        f"/p/{p}/Download/plan.pdf",
        f"/p/{p}/download//plan.pdf",
        f"/p/{p}/download/./plan.pdf",
        f"/p/{p}/open/PLAN.PDF",
        f"/p/{p}/raw/plan.pdf",
        f"/p/{p}/file/plan.pdf",
        f"/p/{p}/dl/plan.pdf",
        f"/p/{p}/browse/plan.pdf",
        f"/p/{p}/browse/Unterlagen/expose.pdf",
        f"/p/{p}/thumb/../download/plan.pdf",
        f"/s/{p}/download/plan.pdf",
        f"/s/{p}/zip",
        f"/s/{p}/open/plan.pdf",
        f"/P/{p}/download/plan.pdf",
        f"/p/{p}%2fdownload%2fplan.pdf",
        f"/p/{s}/download/plan.pdf",
        f"/p/{s}/zip",
    ]
    calls = []
    for target in targets:
        for method, headers in (
            ("GET", {}),
            ("HEAD", {}),
            ("GET", {"Range": "bytes=0-"}),
            ("POST", {}),
        ):
            calls.append((method, target.encode(), headers))
    return calls


def test_preview_never_serves_a_file_or_a_zip(server, world):
    for method, target, headers in _preview_bypasses(world):
        r = _get(server, target, method, headers)
        assert r.status in (403, 404, 405), (method, target, r.status)
        for content in (b"%PDF-public-obj1", b"%PDF-expose", b"PK\x03\x04"):
            assert content not in r.body, (method, target)
        assert "attachment" not in r.headers.get("content-disposition", ""), target
    page = requests.get(f"{server.url}/p/{world.preview}/")
    assert page.status_code == 200 and "plan.pdf" in page.text
    assert 'data-testid="download"' not in page.text and 'data-testid="zip"' not in page.text
    assert "/download/" not in page.text and "/zip" not in page.text


def test_contact_link_reaches_only_its_own_property(server, world):
    page = requests.get(f"{server.url}/s/{world.link}/")
    assert page.status_code == 200 and "plan.pdf" in page.text
    for other in ("secret.pdf", "c.pdf", "Geheimweg", "Mit Widerruf"):
        assert other not in page.text
    search = requests.get(f"{server.url}/s/{world.link}/", params={"q": "secret"})
    assert "secret.pdf" not in search.text
    # a token one character off is no token
    tampered = world.link[:-1] + ("A" if world.link[-1] != "A" else "B")
    for action in ("", "download/plan.pdf", "zip", "thumb/plan.pdf"):
        assert requests.get(f"{server.url}/s/{tampered}/{action}").status_code == 404
    # the other contact's grant is theirs alone: nothing of it under 4711's link
    for action in ("download/secret.pdf", "open/secret.pdf", "thumb/secret.pdf", "browse/obj-2"):
        r = requests.get(f"{server.url}/s/{world.link}/{action}")
        assert r.status_code == 404 and not world.leaked(r.content)


def test_consent_required_property_shows_nothing_before_consent(server, world):
    base = f"{server.url}/s/{world.consent_link}"
    page = requests.get(base + "/")
    assert page.status_code == 200 and 'data-testid="consent-form"' in page.text
    assert "c.pdf" not in page.text
    for action in (
        "download/c.pdf",
        "open/c.pdf",
        "thumb/c.pdf",
        "zip",
        "zip?q=c",
        "browse/",
        "c.pdf",
        "download/../c.pdf",
    ):
        r = requests.get(f"{base}/{action}", allow_redirects=False)
        assert r.status_code in (303, 404), (action, r.status_code)
        assert not world.leaked(r.content) and not r.content.startswith(b"PK"), action
        followed = requests.get(f"{base}/{action}")
        assert not world.leaked(followed.content) and "c.pdf" not in followed.text, action
    dav = requests.request(
        "PROPFIND", f"{server.url}/view/obj-c/", auth=world.contact, headers={"Depth": "1"}
    )
    assert dav.status_code == 404


def _consent_form(session, base):
    page = session.get(base + "/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    fields = {"csrf": token}
    for name in ("widerruf_version", "agb_version"):
        match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
        if match:
            fields[name] = match.group(1)
    for box in re.findall(r'type="checkbox" id="[^"]+" name="([^"]+)"', page.text):
        fields[box] = "yes"
    return fields


def _consented(world) -> bool:
    grant = Grant.get(Grant.token_hash == hash_token(world.consent_link))
    return ConsentRecord.select().where(ConsentRecord.grant == grant).exists()


def test_consent_form_refuses_cross_site_posts(server, world):
    base = f"{server.url}/s/{world.consent_link}"
    with requests.Session() as victim:
        fields = _consent_form(victim, base)
        forged = [
            (
                "no token, no cookie",
                requests.post,
                {k: v for k, v in fields.items() if k != "csrf"},
                {},
            ),
            ("token without cookie", requests.post, fields, {}),
            ("cross-site fetch", victim.post, fields, {"Sec-Fetch-Site": "cross-site"}),
            ("foreign origin", victim.post, fields, {"Origin": "https://evil.example"}),
            ("wrong token", victim.post, {**fields, "csrf": "0" * 64}, {}),
        ]
        for label, post, data, headers in forged:
            r = post(base + "/consent", data=data, headers=headers, allow_redirects=False)
            assert r.status_code in (400, 403), (label, r.status_code)
            assert not _consented(world), label
        # another contact's form token does not fit this grant
        with requests.Session() as other:
            other_fields = _consent_form(other, f"{server.url}/s/{world.other_consent_link}")
        r = victim.post(
            base + "/consent",
            data={**fields, "csrf": other_fields.get("csrf", "")},
            allow_redirects=False,
        )
        assert r.status_code in (400, 403) and not _consented(world)
        # the contact's own form, from the page itself, works
        r = victim.post(
            base + "/consent",
            data=fields,
            headers={"Sec-Fetch-Site": "same-origin"},
            allow_redirects=False,
        )
        assert r.status_code == 303 and _consented(world)
        assert "c.pdf" in victim.get(base + "/").text
