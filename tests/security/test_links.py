"""Symbolic and hard links inside a property folder that point outside it.

Someone with shell access (a sync tool, a careless admin) may leave links in a
property folder. Nobody is served what they point at, nobody writes through them, and
they are not listed: not to contacts, and not to agents either (an agent has no
business reading ``secret.key`` or the database through a hard link).
"""

from __future__ import annotations

import os

import pytest
import requests

from tests.factories import make_grant, make_property
from tests.security import rawhttp

pytestmark = pytest.mark.server

LINK_NAMES = (
    "link-outside.txt",
    "link-obj2",
    "link-etc",
    "link-out-dir",
    "hard-outside.txt",
    "hard-secret.key",
    "up",
)


@pytest.fixture
def links(world):
    obj1 = world.config.properties_dir / "obj-1"
    outdir = world.home.parent / "outdir"
    outdir.mkdir()
    (outdir / "inner.txt").write_bytes(b"SECRET-ELSEWHERE inner")
    os.symlink(world.home / "outside.txt", obj1 / "link-outside.txt")
    os.symlink(world.config.properties_dir / "obj-2", obj1 / "link-obj2")
    os.symlink("/etc", obj1 / "link-etc")
    os.symlink(outdir, obj1 / "link-out-dir")
    os.symlink("../../obj-2", obj1 / "Unterlagen" / "up")
    os.link(world.home / "outside.txt", obj1 / "hard-outside.txt")
    os.link(world.home / "secret.key", obj1 / "hard-secret.key")
    return outdir


TARGETS = [
    "link-outside.txt",
    "link-obj2/secret.pdf",
    "link-obj2/",
    "link-etc/passwd",
    "link-out-dir/inner.txt",
    "link-out-dir/",
    "hard-outside.txt",
    "hard-secret.key",
    "Unterlagen/up/secret.pdf",
    "Unterlagen/up/",
]


@pytest.mark.parametrize("share,who", [("view", "contact"), ("dav", "agent")])
def test_links_are_not_followed_or_listed(server, world, links, share, who):
    auth = getattr(world, who)
    for target in TARGETS:
        for method, headers in (("GET", {}), ("PROPFIND", {"Depth": "1"})):
            r = requests.request(
                method, f"{server.url}/{share}/obj-1/{target}", auth=auth, headers=headers
            )
            assert r.status_code in (403, 404), (share, method, target, r.status_code)
            assert not world.leaked(r.content), (share, target)
    for folder in ("obj-1/", "obj-1/Unterlagen/"):
        listing = requests.request(
            "PROPFIND", f"{server.url}/{share}/{folder}", auth=auth, headers={"Depth": "1"}
        )
        assert listing.status_code == 207
        for name in LINK_NAMES:
            assert f"/{name}<" not in listing.text and f"/{name}/<" not in listing.text, name
    assert requests.get(f"{server.url}/{share}/obj-1/plan.pdf", auth=auth).status_code == 200


def test_agent_cannot_write_through_links(server, world, links):
    agent = world.agent
    outside_before = sorted(p.name for p in links.iterdir())
    url = f"{server.url}/dav/obj-1"
    attempts = [
        ("PUT", "link-out-dir/new.txt", {}),
        ("PUT", "link-outside.txt", {}),
        ("PUT", "hard-outside.txt", {}),
        ("MKCOL", "link-out-dir/sub/", {}),
        ("DELETE", "link-out-dir/inner.txt", {}),
        ("MOVE", "plan.pdf", {"Destination": f"{url}/link-out-dir/plan.pdf"}),
        ("COPY", "plan.pdf", {"Destination": f"{url}/link-out-dir/plan.pdf"}),
        ("COPY", "plan.pdf", {"Destination": f"{url}/link-outside.txt"}),
        ("PROPPATCH", "link-outside.txt", {}),
    ]
    for method, path, headers in attempts:
        r = requests.request(method, f"{url}/{path}", auth=agent, headers=headers, data=b"x")
        assert r.status_code >= 400, (method, path, r.status_code)
    assert sorted(p.name for p in links.iterdir()) == outside_before
    assert (links / "inner.txt").read_bytes() == b"SECRET-ELSEWHERE inner"
    assert (world.home / "outside.txt").read_bytes() == b"SECRET-OUTSIDE"
    assert (world.config.properties_dir / "obj-1" / "plan.pdf").read_bytes() == b"%PDF-public-obj1"


def test_copy_and_delete_of_a_folder_with_links_stay_inside(server, world, links):
    agent = world.agent
    url = f"{server.url}/dav/obj-1"
    r = requests.request(
        "COPY", f"{url}/Unterlagen/", auth=agent, headers={"Destination": f"{url}/Kopie/"}
    )
    assert r.status_code == 201
    copy = world.config.properties_dir / "obj-1" / "Kopie"
    assert sorted(p.name for p in copy.iterdir()) == ["expose.pdf"]
    # a folder holding links it does not show cannot be emptied over WebDAV (424), or
    # goes with its links; either way what they point at stays
    assert requests.delete(f"{url}/Unterlagen/", auth=agent).status_code in (204, 424)
    assert (world.config.properties_dir / "obj-2" / "secret.pdf").exists()
    assert (world.home / "outside.txt").read_bytes() == b"SECRET-OUTSIDE"


def test_property_folder_that_is_a_symlink_is_not_served(server, world):
    elsewhere = world.home.parent / "elsewhere-property"
    elsewhere.mkdir()
    (elsewhere / "x.pdf").write_bytes(b"SECRET-ELSEWHERE property")
    make_property(world.config, "obj-s", "Verlinkt")
    folder = world.config.properties_dir / "obj-s"
    folder.rmdir()
    os.symlink(elsewhere, folder)
    make_grant(world.config, "obj-s", "4711")
    for share, auth in (("view", world.contact), ("dav", world.agent)):
        for method, path in (("GET", "obj-s/x.pdf"), ("PROPFIND", "obj-s/")):
            headers = {"Authorization": rawhttp.basic(*auth)}
            if method == "PROPFIND":
                headers["Depth"] = "1"
            r = rawhttp.request(server.port, method, f"/{share}/{path}".encode(), headers)
            assert r.status in (403, 404), (share, path, r.status)
            assert not world.leaked(r.raw)


def test_links_are_not_reached_from_the_contact_page(server, world, links):
    base = f"{server.url}/s/{world.link}"
    for target in TARGETS:
        for action in ("download", "open", "thumb", "browse"):
            r = requests.get(f"{base}/{action}/{target}")
            assert r.status_code == 404, (action, target, r.status_code)
            assert not world.leaked(r.content), (action, target)
    for page in (base + "/", base + "/browse/Unterlagen", base + "/?q=link"):
        text = requests.get(page).text
        for name in LINK_NAMES:
            assert f'data-name="{name}"' not in text, (page, name)
    for query in ("", "?dir=Unterlagen", "?q=link"):
        r = requests.get(f"{base}/zip{query}")
        assert not world.leaked(r.content), query
