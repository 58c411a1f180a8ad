"""Path tricks in WebDAV request targets and in the Destination of MOVE and COPY.

Each target is sent byte for byte. A contact must get 400/401/403/404 and no secret for
every trick towards another property, a property awaiting consent or a file outside
the property folders; an agent must never read or write outside ``properties/``.
"""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest
import requests

from tests.security import rawhttp

pytestmark = pytest.mark.server

#: Towards obj-2 (another contact's grant) and obj-c (consent not given).
TO_OTHER_PROPERTIES = [
    b"obj-2/secret.pdf",
    b"obj-c/c.pdf",
    b"obj-1/../obj-2/secret.pdf",
    b"obj-1/./../obj-2/secret.pdf",
    b"obj-1/%2e%2e/obj-2/secret.pdf",
    b"obj-1/%2E%2E/obj-c/c.pdf",
    b"obj-1/.%2e/obj-2/secret.pdf",
    b"obj-1%2f..%2fobj-2%2fsecret.pdf",
    b"obj-1/..%2fobj-2%2fsecret.pdf",
    b"obj-1/..%5cobj-2%5csecret.pdf",
    b"obj-1\\..\\obj-2\\secret.pdf",
    b"obj-1/%252e%252e/obj-2/secret.pdf",
    b"obj-1/%25252e%25252e/obj-2/secret.pdf",
    b"obj-1/%c0%ae%c0%ae/obj-2/secret.pdf",
    b"obj-1/%c0%af..%c0%afobj-2/secret.pdf",
    b"obj-1/%e0%80%ae%e0%80%ae/obj-2/secret.pdf",
    b"obj-1/%ef%bc%8e%ef%bc%8e/obj-2/secret.pdf",
    b"obj-1/%00/../obj-2/secret.pdf",
    b"obj-2/secret.pdf%00.txt",
    b"obj-1/plan.pdf%00/../../obj-2/secret.pdf",
    b"/obj-2/secret.pdf",
    b"obj-2./secret.pdf",
    b"obj-2%20/secret.pdf",
    b"obj-2::$DATA/secret.pdf",
    b"obj-2/secret.pdf.",
    b"obj-2/secret.pdf::$DATA",
    b"OBJ-2/secret.pdf",
    b"Obj-C/c.pdf",
    b"obj-%e2%80%8b2/secret.pdf",
    b"obj-1/../../view/obj-2/secret.pdf",
    b"obj-1/../../dav/obj-2/secret.pdf",
]

#: Towards files outside every property folder (in the home, and beside it).
TO_OUTSIDE = [
    b"../outside.txt",
    b"%2e%2e/outside.txt",
    b"obj-1/../../outside.txt",
    b"obj-1/%2e%2e/%2e%2e/outside.txt",
    b"obj-1/..%2f..%2foutside.txt",
    b"obj-1/..%5c..%5coutside.txt",
    b"obj-1/%252e%252e/%252e%252e/outside.txt",
    b"obj-1/%c0%ae%c0%ae/%c0%ae%c0%ae/outside.txt",
    b"obj-1/../../../elsewhere.txt",
    b"obj-1/%2e%2e%2f%2e%2e%2f%2e%2e%2felsewhere.txt",
    b"obj-1/../../secret.key",
    b"obj-1/../../immoshare.db",
    b"obj-1/..../..../outside.txt",
    b"obj-1/...%2f...%2foutside.txt",
]


def _absolute_targets(world) -> list[bytes]:
    outside = str(world.home / "outside.txt")
    return [
        b"obj-1/" + outside.encode(),
        b"obj-1" + quote(outside, safe="").encode(),
        b"/" + outside.lstrip("/").encode(),
        b"obj-1/" + quote(outside, safe="").encode(),
    ]


def _assert_refused(world, response, target):
    assert response.status in (400, 401, 403, 404), (target, response.status)
    assert not world.leaked(response.raw), (target, world.leaked(response.raw))


@pytest.mark.parametrize("method", ["GET", "PROPFIND"])
def test_contact_path_tricks_reach_nothing(server, world, method):
    auth = {"Authorization": rawhttp.basic(*world.contact), "Depth": "1"}
    targets = TO_OTHER_PROPERTIES + TO_OUTSIDE + _absolute_targets(world)
    for target in targets:
        response = rawhttp.request(server.port, method, b"/view/" + target, auth)
        _assert_refused(world, response, target)
    # the same contact does reach their own share
    own = rawhttp.request(
        server.port, "GET", b"/view/obj-1/plan.pdf", {"Authorization": auth["Authorization"]}
    )
    assert own.status == 200 and own.body == b"%PDF-public-obj1"


@pytest.mark.parametrize("method", ["GET", "PROPFIND"])
def test_agent_path_tricks_stay_inside_properties(server, world, method):
    auth = {"Authorization": rawhttp.basic(*world.agent), "Depth": "1"}
    for target in TO_OUTSIDE + _absolute_targets(world):
        response = rawhttp.request(server.port, method, b"/dav/" + target, auth)
        assert response.status in (400, 401, 403, 404), (target, response.status)
        assert not world.leaked(response.raw), target


def _tree(root) -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


DESTINATIONS = [
    "/dav/../moved.pdf",
    "/dav/obj-1/../../moved.pdf",
    "/dav/obj-1/../../../moved.pdf",
    "/dav/%2e%2e/moved.pdf",
    "/dav/obj-1/%2e%2e%2f%2e%2e%2fmoved.pdf",
    "/dav/obj-1/..%2f..%2f..%2fmoved.pdf",
    "/dav/obj-1/..%5c..%5cmoved.pdf",
    "/dav/obj-1/%252e%252e/%252e%252e/moved.pdf",
    "/dav/obj-1/%c0%ae%c0%ae/%c0%ae%c0%ae/moved.pdf",
    "/dav/obj-1/moved%00.pdf",
    "/dav/obj-1/moved.pdf%00/../../../x",
    "/dav/moved.pdf",
    "/dav/new-property/moved.pdf",
    "/dav/obj-1./moved.pdf",
    "/dav/OBJ-1/moved.pdf",
    "/dav/obj-1/moved.pdf.",
    "/view/obj-1/moved.pdf",
    "http://evil.example/dav/obj-1/moved.pdf",
    "https://127.0.0.1/dav/obj-1/moved.pdf",
    "//evil.example/dav/obj-1/moved.pdf",
    "file:///tmp/moved.pdf",
    "/dav/obj-1/..",
    "/dav/",
    "/dav",
]


@pytest.mark.parametrize("method", ["COPY", "MOVE"])
def test_destination_tricks_never_write_outside_a_property(server, world, method):
    properties = world.config.properties_dir
    plan = properties / "obj-1" / "plan.pdf"
    auth = {"Authorization": rawhttp.basic(*world.agent)}
    absolute = str(world.home / "moved.pdf")
    for destination in DESTINATIONS + [absolute, "/dav/obj-1" + absolute]:
        before = _tree(world.home.parent)
        response = rawhttp.request(
            server.port,
            method,
            b"/dav/obj-1/plan.pdf",
            {**auth, "Destination": destination, "Overwrite": "F"},
        )
        created = _tree(world.home.parent) - before
        for path in created:
            # anything new is a file inside an existing property folder
            parts = path.split(os.sep)
            assert parts[:2] == ["home", "properties"] and len(parts) >= 4, (destination, path)
            assert parts[2] in ("obj-1", "obj-2", "obj-c"), (destination, path)
        assert sorted(p.name for p in properties.iterdir()) == ["obj-1", "obj-2", "obj-c"]
        assert not world.leaked(response.raw)
        if not plan.exists():  # a MOVE that stayed inside: put the file back
            moved = [properties / p.split(os.sep, 2)[2] for p in created]
            moved[0].rename(plan)
    assert plan.read_bytes() == b"%PDF-public-obj1"


def test_a_name_xml_cannot_carry_does_not_break_the_folder_listing(server, world):
    """A file named with a control character (put there from a shell) is left out of
    listings, so the folder still lists over WebDAV; nobody can upload such a name."""
    folder = world.home / "properties" / "obj-1"
    (folder / "Bad\x01Name.pdf").write_bytes(b"%PDF-bad")
    for share, login in (("/dav", world.agent), ("/view", world.contact)):
        listing = requests.request(
            "PROPFIND", f"{server.url}{share}/obj-1/", auth=login, headers={"Depth": "1"}
        )
        assert listing.status_code == 207, share
        assert "plan.pdf" in listing.text and "Bad" not in listing.text, share
    bad_name = quote("Up\x02load.pdf")
    upload = requests.put(f"{server.url}/dav/obj-1/{bad_name}", data=b"x", auth=world.agent)
    assert upload.status_code >= 400
    assert not any("load.pdf" in name for name in os.listdir(folder))
