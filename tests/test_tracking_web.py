"""Contact-page accesses become the events INTERFACE.md describes, beside WebDAV
ones."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote

import pytest
import requests

from tests.factories import make_contact, make_grant, make_property
from tests.tools import sha
from tests.tracking_tools import read_part_and_hang_up, wait_for_events

pytestmark = pytest.mark.server

FILES = {
    "Exposé.pdf": b"%PDF-1.7 Expose " + b"e" * 300_000,
    "Grundrisse/EG.pdf": b"%PDF-1.7 EG " + b"g" * 120_000,
    "Grundrisse/OG.pdf": b"%PDF-1.7 OG " + b"o" * 90_000,
    "Grundrisse/Keller.pdf": b"%PDF-1.7 Keller " + b"k" * 70_000,
    "notizen.txt": "Besichtigung am Montag, Schlüssel beim Hausmeister".encode(),
}


@pytest.fixture
def granted(config):
    make_property(config, "obj-1", files=FILES)
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


@pytest.fixture
def link(granted):
    return granted.link.split("/s/", 1)[1]


def facts(event: dict) -> tuple:
    return (
        event["channel"],
        event["action"],
        event["path"],
        event["bytes"],
        event["size"],
        event["complete"],
        event["status"],
        event["sha256"],
        event["contact"],
    )


def test_open_download_zip_dav_get_and_range_get(server, granted, link):
    with requests.Session() as web:
        opened = web.get(f"{server.url}/s/{link}/open/notizen.txt")
        downloaded = web.get(f"{server.url}/s/{link}/download/{quote('Exposé.pdf')}")
        zipped = web.get(f"{server.url}/s/{link}/zip", params={"dir": "Grundrisse"})
    assert opened.content == FILES["notizen.txt"]
    assert downloaded.content == FILES["Exposé.pdf"]
    assert sorted(zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()) == [
        "EG.pdf",
        "Keller.pdf",
        "OG.pdf",
    ]
    dav = (granted.username, granted.password)
    full = requests.get(server.url + "/view/obj-1/Grundrisse/EG.pdf", auth=dav)
    part = requests.get(
        server.url + "/view/obj-1/Exposé.pdf", auth=dav, headers={"Range": "bytes=100-4195"}
    )
    assert full.content == FILES["Grundrisse/EG.pdf"] and part.status_code == 206
    events = wait_for_events(8)
    recorded = {facts(e) for e in events}
    notes, expose = FILES["notizen.txt"], FILES["Exposé.pdf"]
    expected = {
        ("web", "open", "notizen.txt", len(notes), len(notes), True, 200, sha(notes), "4711"),
        ("web", "download", "Exposé.pdf", len(expose), len(expose), True, 200, sha(expose), "4711"),
        (
            "dav",
            "download",
            "Grundrisse/EG.pdf",
            120_012,
            120_012,
            True,
            200,
            sha(FILES["Grundrisse/EG.pdf"]),
            "4711",
        ),
        ("dav", "download", "Exposé.pdf", 4096, len(expose), False, 206, sha(expose), "4711"),
    }
    for name in ("EG.pdf", "OG.pdf", "Keller.pdf"):
        data = FILES["Grundrisse/" + name]
        expected.add(
            (
                "web",
                "download",
                "Grundrisse/" + name,
                len(data),
                len(data),
                True,
                200,
                sha(data),
                "4711",
            )
        )
    assert expected <= recorded
    [zip_event] = [e for e in events if e["action"] == "zip"]
    assert (zip_event["path"], zip_event["bytes"], zip_event["size"], zip_event["complete"]) == (
        "Grundrisse",
        len(zipped.content),
        len(zipped.content),
        True,
    )
    assert all(e["ip"] == "127.0.0.0" and e["at"].endswith("Z") for e in events)


def test_web_download_abandoned_halfway_is_incomplete(server, config, link):
    big = b"\x00\x01" * (24 * 1024 * 1024)
    (config.properties_dir / "obj-1" / "Rundgang.mp4").write_bytes(big)
    received = read_part_and_hang_up(
        server.port, f"/s/{link}/download/Rundgang.mp4", {}, keep=len(big) // 2
    )
    [event] = wait_for_events(1, action="download", path="Rundgang.mp4")
    assert event["complete"] is False
    assert received <= event["bytes"] < len(big) == event["size"]
