"""A contact over WebDAV: no writes anywhere on the read-only share, and no way to
another property, another contact's grant, or a property still awaiting consent."""

from __future__ import annotations

import pytest
import requests

from tests.webdav_bodies import lock_body

pytestmark = pytest.mark.server

PROPPATCH_BODY = (
    b'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x">'
    b"<D:set><D:prop><Z:x>1</Z:x></D:prop></D:set></D:propertyupdate>"
)


def _writes(url):
    return [
        ("PUT", "new.txt", {}, b"x"),
        ("PUT", "plan.pdf", {}, b"overwritten"),
        ("DELETE", "plan.pdf", {}, b""),
        ("DELETE", "", {}, b""),
        ("MKCOL", "neu/", {}, b""),
        ("MOVE", "plan.pdf", {"Destination": f"{url}moved.pdf"}, b""),
        ("COPY", "plan.pdf", {"Destination": f"{url}copy.pdf"}, b""),
        ("MOVE", "plan.pdf", {"Destination": url.replace("/view/", "/dav/") + "m.pdf"}, b""),
        ("PROPPATCH", "plan.pdf", {}, PROPPATCH_BODY),
        ("PROPPATCH", "", {}, PROPPATCH_BODY),
        ("LOCK", "plan.pdf", {"Timeout": "Second-60"}, lock_body()),
        ("LOCK", "", {"Timeout": "Second-60"}, lock_body()),
        ("LOCK", "new-locked.txt", {"Timeout": "Second-60"}, lock_body()),
        ("UNLOCK", "plan.pdf", {"Lock-Token": "<opaquelocktoken:x>"}, b""),
    ]


def _snapshot(properties):
    return {
        p.relative_to(properties).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(properties.rglob("*"))
    }


@pytest.mark.parametrize("base", ["/view/", "/view/obj-1/", "/view/obj-1/Unterlagen/"])
def test_contact_cannot_write_on_the_read_only_share(server, world, base):
    properties = world.config.properties_dir
    (properties / "obj-1" / "Unterlagen" / "plan.pdf").write_bytes(b"%PDF-plan")
    before = _snapshot(properties)
    url = server.url + base
    for method, name, headers, body in _writes(url):
        r = requests.request(method, url + name, auth=world.contact, headers=headers, data=body)
        assert r.status_code in (401, 403, 404, 405, 409), (method, base + name, r.status_code)
    assert _snapshot(properties) == before


def test_contact_share_advertises_read_only_everywhere(server, world):
    for path in ("/view/", "/view/obj-1/", "/view/obj-1/plan.pdf"):
        r = requests.options(server.url + path, auth=world.contact)
        assert r.headers["DAV"].replace(" ", "").split(",")[0] == "1"
        allowed = {m.strip() for m in r.headers.get("Allow", "").split(",")}
        assert not allowed & {"PUT", "DELETE", "MKCOL", "MOVE", "COPY", "PROPPATCH", "LOCK"}


def test_contact_reaches_no_other_property_by_dav(server, world):
    contact = world.contact
    root = requests.request("PROPFIND", server.url + "/view/", auth=contact, headers={"Depth": "1"})
    assert root.status_code == 207
    assert "obj-1" in root.text
    for hidden in ("obj-2", "obj-c", "Geheimweg", "Mit Widerruf"):
        assert hidden not in root.text
    for path in ("obj-2/", "obj-2/secret.pdf", "obj-c/", "obj-c/c.pdf"):
        for method, headers in (
            ("GET", {}),
            ("HEAD", {}),
            ("PROPFIND", {"Depth": "0"}),
            ("GET", {"Range": "bytes=0-3"}),
        ):
            r = requests.request(method, f"{server.url}/view/{path}", auth=contact, headers=headers)
            assert r.status_code == 404, (method, path, r.status_code)
            assert not world.leaked(r.content)
    # the other contact sees obj-2 and nothing of 4711's shares
    other = requests.request(
        "PROPFIND", server.url + "/view/", auth=world.other_contact, headers={"Depth": "1"}
    )
    assert "obj-2" in other.text and "obj-1" not in other.text and "obj-c" not in other.text


def test_contact_credentials_do_not_work_as_another_contact_or_agent(server, world):
    user, password = world.contact
    other_user, _ = world.other_contact
    for share, auth in (
        ("view", (other_user, password)),
        ("dav", (user, password)),
        ("dav", ("anna", password)),
    ):
        r = requests.request(
            "PROPFIND", f"{server.url}/{share}/", auth=auth, headers={"Depth": "1"}
        )
        assert r.status_code == 401, (share, auth[0])
