"""Property-based tests (hypothesis) of path normalisation and confinement: no generated
path ever resolves outside its property folder, neither in ``gateway.shares`` nor
through the running server."""

from __future__ import annotations

import os
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.shares import confine, split_share_path
from tests.security import rawhttp

SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "..",
            ".",
            "...",
            "obj-1",
            "obj-2",
            "obj-c",
            "plan.pdf",
            "secret.pdf",
            "outside.txt",
            "Unterlagen",
            "expose.pdf",
            "",
            "~",
            "link",
            "link-out",
            "..\\..",
            "%2e%2e",
            "%252e%252e",
            ".%2e",
            "%c0%ae%c0%ae",
            "\0",
            "ü",
            "obj-1.",
            "OBJ-1",
            "obj-1 ",
            "::$DATA",
            "%00",
            "/etc/passwd",
        ]
    ),
    st.text(alphabet="./\\%2e5cfAO0ü\0", max_size=8),
)
SEPARATORS = st.sampled_from(["/", "//", "\\", "%2f", "%2F", "%5c", "%252f"])


@st.composite
def share_paths(draw) -> str:
    parts = draw(st.lists(SEGMENTS, min_size=1, max_size=7))
    text = ""
    for part in parts:
        text += draw(SEPARATORS) + part
    return text


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """properties/ with two property folders, links pointing out, and a file beside."""
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "properties"
    (root / "obj-1" / "Unterlagen").mkdir(parents=True)
    (root / "obj-2").mkdir()
    (base / "outside.txt").write_text("outside")
    os.symlink(base / "outside.txt", root / "obj-1" / "link")
    os.symlink(base, root / "obj-1" / "link-out")
    os.symlink("../obj-2", root / "obj-1" / "Unterlagen" / "up")
    return root


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=share_paths())
def test_confined_paths_stay_in_their_property(tree, path):
    for decoded in {path, unquote(path), unquote(unquote(path))}:
        parts = split_share_path(decoded)
        if parts is None or not parts:
            continue
        resolved = confine(str(tree), parts)
        if resolved is None:
            continue
        property_folder = os.path.join(str(tree), parts[0])
        # inside the property named by the first segment, with no link on the way
        assert os.path.commonpath([property_folder, resolved]) == property_folder
        assert os.path.realpath(resolved) == resolved
        assert ".." not in parts and "." not in parts


@pytest.mark.server
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=share_paths(), method=st.sampled_from(["GET", "PROPFIND"]), encode=st.booleans())
def test_server_serves_nothing_outside_the_contacts_property(server, world, path, method, encode):
    target = quote(path, safe="/%\\") if encode else path
    headers = {"Authorization": rawhttp.basic(*world.contact)}
    if method == "PROPFIND":
        headers["Depth"] = "1"
    response = rawhttp.request(
        server.port, method, b"/view" + target.encode("utf-8", "surrogateescape"), headers
    )
    assert response.status in (200, 207, 400, 401, 403, 404), (target, response.status)
    assert not world.leaked(response.raw), target
    if method == "GET" and response.status == 200:
        assert response.body in (b"%PDF-public-obj1", b"%PDF-expose"), target
