"""WebDAV reads become tracking events with the bytes really sent."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import basic
from tests.tracking_tools import read_part_and_hang_up, stored_events, wait_for_events

pytestmark = pytest.mark.server

PLAN = bytes(range(256)) * 1200  # 307,200 bytes: several chunks
PLAN_SHA = hashlib.sha256(PLAN).hexdigest()


@pytest.fixture
def granted(config):
    make_agent()
    make_property(config, "obj-1", files={"Grundrisse/EG.pdf": PLAN})
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


def test_contact_get_is_a_complete_download_event(server, granted):
    r = requests.get(
        server.url + "/view/obj-1/Grundrisse/EG.pdf",
        auth=(granted.username, granted.password),
        headers={"User-Agent": "Microsoft-WebDAV-MiniRedir/10.0.19045"},
    )
    assert r.content == PLAN
    [event] = wait_for_events(1)
    assert {k: v for k, v in event.items() if k not in ("id", "at")} == {
        "property": "obj-1",
        "contact": "4711",
        "agent": None,
        "channel": "dav",
        "action": "download",
        "path": "Grundrisse/EG.pdf",
        "bytes": len(PLAN),
        "size": len(PLAN),
        "complete": True,
        "status": 200,
        "sha256": PLAN_SHA,
        "ip": "127.0.0.0",
        "user_agent": "Microsoft-WebDAV-MiniRedir/10.0.19045",
    }
    assert event["at"].endswith("Z")


def test_range_get_counts_the_range_and_is_no_complete_download(server, granted):
    r = requests.get(
        server.url + "/view/obj-1/Grundrisse/EG.pdf",
        auth=(granted.username, granted.password),
        headers={"Range": "bytes=1000-66535"},
    )
    assert r.status_code == 206 and r.content == PLAN[1000:66536]
    [event] = wait_for_events(1)
    assert (event["status"], event["bytes"], event["size"], event["complete"], event["sha256"]) == (
        206,
        65536,
        len(PLAN),
        False,
        PLAN_SHA,
    )


def test_agent_reads_are_recorded_as_the_agent(server, granted):
    r = requests.get(server.url + "/dav/obj-1/Grundrisse/EG.pdf", auth=("anna", AGENT_PASSWORD))
    assert r.content == PLAN
    [event] = wait_for_events(1)
    assert (event["agent"], event["contact"], event["complete"]) == ("anna", None, True)


def test_probes_are_no_accesses(server, granted):
    auth = (granted.username, granted.password)
    url = server.url + "/view/obj-1/Grundrisse/EG.pdf"
    etag = requests.head(url, auth=auth).headers["ETag"]
    assert requests.options(url, auth=auth).status_code == 200
    assert requests.request("PROPFIND", url, auth=auth, headers={"Depth": "0"}).status_code == 207
    assert requests.get(url, auth=auth, headers={"If-None-Match": etag}).status_code == 304
    assert requests.get(url, auth=auth, headers={"Range": "bytes=999999-"}).status_code == 416
    assert requests.get(url, auth=("4711", "wrong")).status_code == 401
    # one real read afterwards, so the probes had time to be recorded if they were
    requests.get(url, auth=auth)
    assert [e["status"] for e in wait_for_events(1)] == [200]
    assert len(stored_events()) == 1


def test_client_that_hangs_up_halfway_is_incomplete(server, config, granted):
    big = b"\x17" * (48 * 1024 * 1024)  # far beyond what socket buffers hold
    (config.properties_dir / "obj-1" / "Video.mp4").write_bytes(big)
    received = read_part_and_hang_up(
        server.port,
        "/view/obj-1/Video.mp4",
        {"Authorization": basic(granted.username, granted.password)},
        keep=len(big) // 2,
    )
    [event] = wait_for_events(1)
    assert event["complete"] is False
    assert received <= event["bytes"] < len(big)
    assert event["size"] == len(big) and event["status"] == 200
