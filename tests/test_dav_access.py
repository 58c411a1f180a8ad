"""WebDAV over the real server: agents write, contacts read what they were granted."""

from __future__ import annotations

import pytest
import requests

from gateway.services import grants
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import basic, wait_until
from tests.webdav_bodies import lock_body

pytestmark = [pytest.mark.server, pytest.mark.each_database]

PROPFIND_BODY = b'<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'


@pytest.fixture
def setup(config):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5")
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-secret"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    return granted


def propfind(url, auth, depth="1"):
    return requests.request(
        "PROPFIND", url, auth=auth, headers={"Depth": depth}, data=PROPFIND_BODY
    )


def test_agent_put_then_contact_get_same_bytes(server, setup):
    agent = ("anna", AGENT_PASSWORD)
    contact = (setup.username, setup.password)
    payload = bytes(range(256)) * 1000
    r = requests.put(server.url + "/dav/obj-1/Grundrisse%20%C3%BC/EG.pdf", data=payload, auth=agent)
    assert r.status_code == 409  # parent folder missing
    assert (
        requests.request(
            "MKCOL", server.url + "/dav/obj-1/Grundrisse%20%C3%BC/", auth=agent
        ).status_code
        == 201
    )
    r = requests.put(server.url + "/dav/obj-1/Grundrisse%20%C3%BC/EG.pdf", data=payload, auth=agent)
    assert r.status_code == 201
    r = requests.get(server.url + "/view/obj-1/Grundrisse%20%C3%BC/EG.pdf", auth=contact)
    assert r.status_code == 200
    assert r.content == payload


@pytest.mark.parametrize(
    "method,path,headers",
    [
        ("PUT", "/view/obj-1/new.txt", {}),
        ("DELETE", "/view/obj-1/plan.pdf", {}),
        ("MKCOL", "/view/obj-1/newdir/", {}),
        ("MOVE", "/view/obj-1/plan.pdf", {"Destination": "/view/obj-1/moved.pdf"}),
        ("COPY", "/view/obj-1/plan.pdf", {"Destination": "/view/obj-1/copy.pdf"}),
        ("LOCK", "/view/obj-1/plan.pdf", {}),
        ("PROPPATCH", "/view/obj-1/plan.pdf", {}),
    ],
)
def test_contact_writes_are_refused(server, setup, config, method, path, headers):
    folder = config.properties_dir / "obj-1"
    (folder / "plan.pdf").write_bytes(b"%PDF-plan")
    before = sorted(p.name for p in folder.iterdir())
    r = requests.request(
        method, server.url + path, auth=(setup.username, setup.password), headers=headers, data=b"x"
    )
    assert r.status_code in (403, 405), r.text
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / "plan.pdf").read_bytes() == b"%PDF-plan"


def test_contact_share_advertises_read_only(server, setup):
    r = requests.options(server.url + "/view/", auth=(setup.username, setup.password))
    assert r.headers["DAV"].replace(" ", "").split(",")[0] == "1"
    assert "2" not in r.headers["DAV"].replace(" ", "").split(",")
    assert "PUT" not in r.headers.get("Allow", "")


def test_contact_without_grant_sees_no_trace(server, setup, config):
    contact = (setup.username, setup.password)
    listing = propfind(server.url + "/view/", contact)
    assert listing.status_code == 207
    assert "obj-1" in listing.text and "obj-2" not in listing.text
    assert "Geheimweg" not in listing.text
    for path in ("/view/obj-2/", "/view/obj-2/secret.pdf", "/view/obj-3/"):
        assert requests.get(server.url + path, auth=contact).status_code == 404
        assert propfind(server.url + path, contact, "0").status_code == 404


def test_agent_login_does_not_open_contact_share_and_vice_versa(server, setup):
    assert propfind(server.url + "/view/", ("anna", AGENT_PASSWORD)).status_code == 401
    assert propfind(server.url + "/dav/", (setup.username, setup.password)).status_code == 401
    assert propfind(server.url + "/dav/", ("anna", "wrong")).status_code == 401


def test_revoke_then_grant_again_same_link(server, setup, config, http):
    contact = (setup.username, setup.password)
    (config.properties_dir / "obj-1" / "a.pdf").write_bytes(b"%PDF-a")
    token = setup.link.rsplit("/", 1)[1]
    assert requests.get(server.url + "/view/obj-1/a.pdf", auth=contact).status_code == 200
    assert http.get(server.url + "/s/" + token).status_code == 200

    grants.revoke_access("obj-1", "4711")
    assert requests.get(server.url + "/view/obj-1/a.pdf", auth=contact).status_code == 404
    assert "obj-1" not in propfind(server.url + "/view/", contact).text
    assert http.get(server.url + "/s/" + token).status_code == 404

    again = make_grant(config, "obj-1", "4711")
    assert again.link == setup.link
    assert again.password is None  # the contact keeps their WebDAV login
    assert requests.get(server.url + "/view/obj-1/a.pdf", auth=contact).status_code == 200
    assert http.get(server.url + "/s/" + token).status_code == 200


def test_expired_grant_is_refused(server, setup, config):
    import datetime

    make_grant(config, "obj-1", "4711", expires=datetime.date(2020, 1, 1))
    r = requests.request(
        "PROPFIND",
        server.url + "/view/obj-1/",
        auth=(setup.username, setup.password),
        headers={"Depth": "0"},
    )
    assert r.status_code == 404


def test_consent_required_hides_property_until_consent(server, config):
    make_property(config, "obj-c", "Mit Widerruf", requires_consent=True)
    make_contact("9")
    granted = make_grant(config, "obj-c", "9")
    r = propfind(server.url + "/view/", (granted.username, granted.password))
    assert r.status_code == 207 and "obj-c" not in r.text


def test_property_folder_cannot_be_deleted_or_moved(server, setup, config):
    agent = ("anna", AGENT_PASSWORD)
    assert requests.delete(server.url + "/dav/obj-1/", auth=agent).status_code == 403
    r = requests.request(
        "MOVE",
        server.url + "/dav/obj-1/",
        auth=agent,
        headers={"Destination": server.url + "/dav/renamed/"},
    )
    assert r.status_code in (403, 409)
    assert (config.properties_dir / "obj-1").is_dir()
    assert not (config.properties_dir / "renamed").exists()
    r = requests.request("MKCOL", server.url + "/dav/new-property/", auth=agent)
    assert r.status_code in (403, 405, 409)
    assert not (config.properties_dir / "new-property").exists()


def test_move_cannot_leave_the_property_folders(server, setup, config):
    agent = ("anna", AGENT_PASSWORD)
    (config.properties_dir / "obj-1" / "a.pdf").write_bytes(b"%PDF-a")
    r = requests.request(
        "MOVE",
        server.url + "/dav/obj-1/a.pdf",
        auth=agent,
        headers={"Destination": server.url + "/dav/stray.pdf"},
    )
    assert r.status_code in (403, 409)
    assert not (config.properties_dir / "stray.pdf").exists()
    assert (config.properties_dir / "obj-1" / "a.pdf").exists()


def test_os_junk_accepted_from_agents_hidden_from_contacts(server, setup, config):
    agent = ("anna", AGENT_PASSWORD)
    contact = (setup.username, setup.password)
    for name in (".DS_Store", "._plan.pdf", "Thumbs.db", "desktop.ini", "plan.pdf"):
        assert (
            requests.put(server.url + f"/dav/obj-1/{name}", data=b"x", auth=agent).status_code
            == 201
        )
    listing = propfind(server.url + "/view/obj-1/", contact)
    assert "plan.pdf" in listing.text
    for name in (".DS_Store", "._plan.pdf", "Thumbs.db", "desktop.ini"):
        assert name not in listing.text
        assert requests.get(server.url + f"/view/obj-1/{name}", auth=contact).status_code == 404
    assert "._plan.pdf" in propfind(server.url + "/dav/obj-1/", agent).text


def test_broken_upload_leaves_old_version(server, setup, config):
    """A PUT whose body is cut short must not replace (or tear) the existing file."""
    import socket

    target = config.properties_dir / "obj-1" / "plan.pdf"
    target.write_bytes(b"old version")
    credentials = basic("anna", AGENT_PASSWORD)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"PUT /dav/obj-1/plan.pdf HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: {credentials}\r\n".encode()
            + b"Content-Length: 100000\r\n\r\n"
            + b"y" * 5000
        )
    # the server notices the closed connection and drops the temporary file
    wait_until(
        lambda: not any(p.name.startswith(".~immoshare-upload-") for p in target.parent.iterdir()),
        message="temporary upload file left behind",
    )
    assert target.read_bytes() == b"old version"
    listing = propfind(server.url + "/dav/obj-1/", ("anna", AGENT_PASSWORD))
    assert ".~immoshare-upload-" not in listing.text


def test_windows_root_options_probe(server):
    r = requests.options(server.url + "/", headers={"User-Agent": "DavClnt"})
    assert r.status_code == 200
    assert "1" in r.headers["DAV"]


def test_healthz_and_friendly_404(server, http):
    assert http.get(server.url + "/healthz").text == "ok"
    r = http.get(server.url + "/nothing-here")
    assert r.status_code == 404 and "nicht" in r.text


def test_unknown_token_404(server, setup, http):
    r = http.get(server.url + "/s/" + "A" * 43)
    assert r.status_code == 404
    assert "Musterstraße" not in r.text


def test_grant_link_resolves(server, setup, http):
    r = http.get(setup.link.replace("http://127.0.0.1:8080", server.url))
    assert r.status_code == 200
    assert "Musterstraße 5" in r.text


def test_password_change_is_effective_at_once(server, setup):
    from gateway.models import Agent
    from gateway.security import hash_password

    agent = ("anna", AGENT_PASSWORD)
    assert propfind(server.url + "/dav/", agent).status_code == 207
    Agent.update(password_hash=hash_password("new-one")).where(Agent.name == "anna").execute()
    assert propfind(server.url + "/dav/", agent).status_code == 401
    assert propfind(server.url + "/dav/", ("anna", "new-one")).status_code == 207


def test_grants_link_base_url(config):
    assert grants.base_url(config) == "http://127.0.0.1:8080"


def test_delete_of_folder_keeps_a_locked_file(server, setup, config):
    """A locked file survives a DELETE of its folder by someone without the token."""
    agent = ("anna", AGENT_PASSWORD)
    folder = config.properties_dir / "obj-1" / "Pläne"
    folder.mkdir()
    (folder / "locked.pdf").write_bytes(b"%PDF-locked")
    (folder / "free.pdf").write_bytes(b"%PDF-free")
    lock = requests.request(
        "LOCK",
        server.url + "/dav/obj-1/Pl%C3%A4ne/locked.pdf",
        auth=agent,
        data=lock_body("anna"),
        headers={"Timeout": "Second-600", "Depth": "0"},
    )
    assert lock.status_code == 200
    r = requests.delete(server.url + "/dav/obj-1/Pl%C3%A4ne/", auth=agent)
    assert r.status_code in (207, 423), r.text
    assert (folder / "locked.pdf").read_bytes() == b"%PDF-locked"
