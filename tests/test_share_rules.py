"""The share rules of ``gateway.shares`` hold alike on every way in: a name with a
control character or a hidden name is neither listed nor served, over WebDAV or the
contact page; the catalog scans exactly what a contact's listing shows; a property's
files are served only while they have one link."""

from __future__ import annotations

import os
from urllib.parse import quote, unquote

import pytest
import requests
from lxml import etree

from gateway.models import CatalogEntry
from gateway.services import catalog
from gateway.shares import split_share_path
from tests.contact_page import entry_names, make_share
from tests.factories import AGENT_PASSWORD, make_agent

pytestmark = pytest.mark.server

FILES = {"Exposé.pdf": b"%PDF expose", "Grundrisse/EG.pdf": b"%PDF eg"}
#: Names no share path can have: control characters (line breaks, tab, DEL, C1).
CONTROL_NAMES = ["Zeile\nzwei.pdf", "Tab\there.pdf", "Wagen\rruecklauf.pdf", "del\x7f.pdf"]
#: What operating systems and office suites write; agents see them, contacts never.
JUNK_NAMES = [".DS_Store", "._Exposé.pdf", "Thumbs.db", "desktop.ini", "~$Exposé.docx"]


@pytest.fixture
def share(config):
    made = make_share(config, files=FILES)
    folder = config.properties_dir / "obj-1"
    for name in CONTROL_NAMES + JUNK_NAMES:
        (folder / name).write_bytes(b"not for contacts")
    make_agent()
    return made


def dav_names(server, path: str) -> list[str]:
    """The member names of a PROPFIND of depth 1, as an agent sees them."""
    r = requests.request(
        "PROPFIND",
        server.url + path,
        headers={"Depth": "1"},
        auth=("anna", AGENT_PASSWORD),
        timeout=30,
    )
    assert r.status_code == 207
    hrefs = etree.fromstring(r.content).iter("{DAV:}href")
    return [unquote(h.text.rstrip("/").rsplit("/", 1)[-1]) for h in hrefs][1:]


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_a_name_with_a_control_character_is_no_share_path(name):
    assert split_share_path(f"obj-1/{name}") is None


def test_names_with_control_characters_are_shown_nowhere(server, share, config):
    listing = dav_names(server, "/dav/obj-1/")
    assert "Exposé.pdf" in listing
    for name in CONTROL_NAMES:
        assert name not in listing
    assert entry_names(requests.get(server.url + share.link, timeout=30).text) == [
        "Grundrisse",
        "Exposé.pdf",
    ]
    for name in CONTROL_NAMES:
        r = requests.get(server.url + share.link + "/download/" + quote(name), timeout=30)
        assert r.status_code == 404
        assert "not for contacts" not in r.text
    # the files are still there, untouched
    for name in CONTROL_NAMES:
        assert (config.properties_dir / "obj-1" / name).read_bytes() == b"not for contacts"


def test_agents_see_os_junk_and_contacts_do_not(server, share):
    listing = dav_names(server, "/dav/obj-1/")
    for name in JUNK_NAMES:
        assert name in listing
    assert entry_names(requests.get(server.url + share.link, timeout=30).text) == [
        "Grundrisse",
        "Exposé.pdf",
    ]
    for name in JUNK_NAMES:
        r = requests.get(server.url + share.link + "/download/" + quote(name), timeout=30)
        assert r.status_code == 404


def test_the_catalog_scans_what_a_contact_is_shown(config, share, tmp_path):
    outside = tmp_path / "secret.key"
    outside.write_bytes(b"outside every property")
    folder = config.properties_dir / "obj-1"
    os.symlink(outside, folder / "Verknuepfung.pdf")
    os.link(outside, folder / "Zwilling.pdf")
    catalog.scan_all(config)
    paths = {e.path for e in CatalogEntry.select().where(CatalogEntry.property == "obj-1")}
    assert paths == {"Exposé.pdf", "Grundrisse/EG.pdf"}


def test_a_second_hard_link_ends_serving_at_once(server, share, config, tmp_path):
    download = server.url + share.link + "/download/" + quote("Exposé.pdf")
    assert requests.get(download, timeout=30).content == b"%PDF expose"
    twin = tmp_path / "twin.pdf"
    os.link(config.properties_dir / "obj-1" / "Exposé.pdf", twin)
    assert requests.get(download, timeout=30).status_code == 404
    assert requests.get(download, timeout=30).status_code == 404  # no kept copy either
    twin.unlink()
    assert requests.get(download, timeout=30).content == b"%PDF expose"
