"""Refused destructive WebDAV requests change nothing.

WsgiDAV deletes a collection member by member and asks the collection itself last;
MOVE and COPY with ``Overwrite: T`` delete the target tree first. So a refusal at the
property folder came after its files were gone. Here every DELETE, MOVE and COPY of
the agents' root ``/dav/`` or a property folder, or onto one, with every Overwrite and
Depth, in several spellings, must be refused and leave every byte under
``properties/`` where it was, and nothing in the trash. The contacts' ``/view/`` stays
untouchable the same way.
"""

from __future__ import annotations

import itertools

import pytest

from tests.security import rawhttp
from tests.trees import tree_hashes

pytestmark = pytest.mark.server

#: The root and the property folders, as a client may spell them.
PROTECTED = [
    b"/dav/",
    b"/dav",
    b"/dav/obj-1",
    b"/dav/obj-1/",
    b"/dav//obj-1//",
    b"/dav/obj%2D1/",
    b"/dav/%6Fbj-1",
    b"/dav/./obj-1/",
    b"/dav/obj-1/Unterlagen/../",
    b"/dav/obj-2/",
    b"/dav/obj-c",
]
#: Destinations naming the root or a property folder (existing or new).
PROTECTED_DESTINATIONS = [
    "/dav/",
    "/dav/obj-1",
    "/dav/obj-1/",
    "/dav/obj%2D1/",
    "/dav//obj-1/",
    "/dav/obj-2/",
    "/dav/obj-9/",
    "/dav/neu.pdf",
    "/dav/obj-1/Unterlagen/../",
]
#: Sources inside properties: a file, a folder, and another property's file.
INSIDE = [b"/dav/obj-1/plan.pdf", b"/dav/obj-1/Unterlagen/", b"/dav/obj-2/secret.pdf"]
HEADER_VARIANTS = [
    {**overwrite, **depth}
    for overwrite, depth in itertools.product(
        [{}, {"Overwrite": "T"}, {"Overwrite": "F"}],
        [{}, {"Depth": "infinity"}, {"Depth": "0"}],
    )
]
#: 403 is the refusal; WsgiDAV's own checks of Depth (400), of Overwrite: F onto
#: something that exists (412) and of a Destination outside the share (502) come
#: first for some combinations. All of them must change nothing.
REFUSED = {400, 403, 412, 502}


@pytest.fixture
def agent_auth(world):
    return {"Authorization": rawhttp.basic(*world.agent)}


@pytest.fixture
def unchanged(world):
    """Call after requests: asserts every file and folder under ``properties/`` is as it
    was, byte for byte, and that nothing went to the trash."""
    properties = world.config.properties_dir
    (properties / "obj-1" / "Unterlagen" / "Keller").mkdir()
    (properties / "obj-1" / "Unterlagen" / "Keller" / "ug.pdf").write_bytes(b"%PDF-ug")
    before = tree_hashes(properties)
    assert len(before) >= 8

    def check(context):
        assert tree_hashes(properties) == before, context
        trash = world.config.trash_dir
        assert not trash.exists() or not [p for p in trash.rglob("*") if p.is_file()], context

    return check


def _absolute(path: str) -> str:
    """``path`` as an absolute URL on the host ``rawhttp`` names."""
    return f"http://127.0.0.1{path}"


def test_delete_of_the_root_or_a_property_folder_is_refused(server, agent_auth, unchanged):
    for target, depth in itertools.product(PROTECTED, [{}, {"Depth": "infinity"}, {"Depth": "0"}]):
        r = rawhttp.request(server.port, "DELETE", target, {**agent_auth, **depth})
        context = ("DELETE", target, depth, r.status)
        assert r.status in REFUSED, context
        if not depth:
            assert r.status == 403, context
        assert b"Traceback" not in r.body
        unchanged(context)


@pytest.mark.parametrize("method", ["MOVE", "COPY"])
def test_the_root_or_a_property_folder_is_never_moved_or_copied(
    server, agent_auth, unchanged, method
):
    destinations = ["/dav/obj-1/Unterlagen/neu/", "/dav/obj-2/neu/", "/dav/obj-9/"]
    for target, destination, headers in itertools.product(PROTECTED, destinations, HEADER_VARIANTS):
        for spelled in (destination, _absolute(destination)):
            request_headers = {**agent_auth, **headers, "Destination": spelled}
            r = rawhttp.request(server.port, method, target, request_headers)
            context = (method, target, spelled, headers, r.status)
            assert r.status in REFUSED, context
            if not headers and target != b"/dav":
                assert r.status == 403, context
            unchanged(context)


@pytest.mark.parametrize("method", ["MOVE", "COPY"])
def test_nothing_is_moved_or_copied_onto_the_root_or_a_property_folder(
    server, agent_auth, unchanged, method
):
    for source, destination, headers in itertools.product(
        INSIDE, PROTECTED_DESTINATIONS, HEADER_VARIANTS
    ):
        for spelled in (destination, _absolute(destination)):
            request_headers = {**agent_auth, **headers, "Destination": spelled}
            r = rawhttp.request(server.port, method, source, request_headers)
            context = (method, source, spelled, headers, r.status)
            assert r.status in REFUSED, context
            if not headers or headers == {"Overwrite": "T"}:
                assert r.status == 403, context
            unchanged(context)


def test_no_property_is_created_at_the_root(server, agent_auth, unchanged):
    for method, target in [
        ("MKCOL", b"/dav/obj-9/"),
        ("MKCOL", b"/dav/"),
        ("PUT", b"/dav/neu.pdf"),
        ("PUT", b"/dav/"),
        ("PUT", b"/dav/obj-1"),
    ]:
        body = b"x" if method == "PUT" else b""
        r = rawhttp.request(server.port, method, target, agent_auth, body=body)
        context = (method, target, r.status)
        assert r.status in (403, 405), context
        unchanged(context)


def test_the_contacts_share_is_untouchable(server, world, unchanged):
    """Read-only: WsgiDAV answers 405 for methods a read-only share does not offer."""
    auth = {"Authorization": rawhttp.basic(*world.contact)}
    targets = [b"/view/", b"/view/obj-1", b"/view/obj-1/", b"/view/obj-1/Unterlagen/"]
    for target in targets:
        r = rawhttp.request(server.port, "DELETE", target, auth)
        assert r.status in (403, 405), (target, r.status)
        unchanged(("DELETE", target))
        for method, destination, overwrite in itertools.product(
            ["MOVE", "COPY"],
            ["/view/obj-1/neu/", "/view/", "/view/obj-1/", "/dav/obj-1/neu/"],
            ["T", "F"],
        ):
            headers = {**auth, "Destination": destination, "Overwrite": overwrite}
            r = rawhttp.request(server.port, method, target, headers)
            context = (method, target, destination, overwrite, r.status)
            assert r.status in REFUSED | {405}, context
            unchanged(context)
