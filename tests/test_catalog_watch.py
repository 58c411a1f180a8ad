"""The catalog follows files changed directly on disk, and every event names the
version it served."""

from __future__ import annotations

import os

import pytest
import requests

from gateway.services import catalog
from tests.factories import make_contact, make_grant, make_property
from tests.tools import sha, wait_until
from tests.tracking_tools import wait_for_events

pytestmark = pytest.mark.server

OLD = b"%PDF-1.7 Energieausweis 2019 " + b"a" * 50_000
NEW = b"%PDF-1.7 Energieausweis 2024 " + b"b" * 60_000


def replace_on_disk(target, data: bytes) -> None:
    """As rsync or an SMB client does: a temporary file renamed over the old one."""
    temporary = target.with_name(".rsync-tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def catalogued(key: str) -> dict[str, str]:
    return {e.path: e.sha256 for e in catalog.catalog_entries(key)}


def wait_for_catalog(key: str, expected: dict[str, str]) -> dict[str, str]:
    wait_until(lambda: catalogued(key) == expected, message=lambda: f"catalog: {catalogued(key)}")
    return catalogued(key)


@pytest.fixture
def granted(config):
    make_property(config, "obj-1", files={"Energieausweis.pdf": OLD})
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


def test_a_file_replaced_on_disk_is_served_and_tracked_as_the_new_version(server, config, granted):
    dav = (granted.username, granted.password)
    url = server.url + "/view/obj-1/Energieausweis.pdf"
    assert requests.get(url, auth=dav).content == OLD
    replace_on_disk(config.properties_dir / "obj-1" / "Energieausweis.pdf", NEW)
    assert requests.get(url, auth=dav).content == NEW
    link = "/s/" + granted.link.rsplit("/s/", 1)[1]
    web = requests.get(server.url + link + "/download/Energieausweis.pdf")
    assert web.content == NEW
    events = wait_for_events(3, action="download")
    assert [(e["channel"], e["sha256"], e["size"]) for e in events] == [
        ("dav", sha(OLD), len(OLD)),
        ("dav", sha(NEW), len(NEW)),
        ("web", sha(NEW), len(NEW)),
    ]


def test_the_watcher_catalogs_changes_made_on_disk(server, config, granted):
    folder = config.properties_dir / "obj-1"
    assert wait_for_catalog("obj-1", {"Energieausweis.pdf": sha(OLD)}) == {
        "Energieausweis.pdf": sha(OLD)
    }
    (folder / "Lageplan").mkdir()
    (folder / "Lageplan" / "Flurkarte.pdf").write_bytes(b"%PDF flurkarte")
    replace_on_disk(folder / "Energieausweis.pdf", NEW)
    (folder / ".DS_Store").write_bytes(b"junk")
    expected = {"Energieausweis.pdf": sha(NEW), "Lageplan/Flurkarte.pdf": sha(b"%PDF flurkarte")}
    assert wait_for_catalog("obj-1", expected) == expected
    os.rename(folder / "Lageplan", folder / "Karten")
    (folder / "Energieausweis.pdf").unlink()
    expected = {"Karten/Flurkarte.pdf": sha(b"%PDF flurkarte")}
    assert wait_for_catalog("obj-1", expected) == expected
