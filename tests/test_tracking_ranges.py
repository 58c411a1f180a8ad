"""Range downloads are tracked with one rule on the web and over WebDAV: ``bytes`` is
what went out, the range's start is kept, and ``complete`` is true only when every
byte of the whole file went out (``tracking.settle_transfer``)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import requests

from gateway.models import AccessEvent
from tests.factories import make_contact, make_grant, make_property
from tests.tracking_tools import wait_for_events

pytestmark = pytest.mark.server

SIZE = 10_000
PLAN = bytes(range(250)) * (SIZE // 250)

#: Range header → (status, body, range start as stored, bytes, complete)
RANGES = [
    ("bytes=0-0", 206, PLAN[:1], 0, 1, False),
    ("bytes=100-199", 206, PLAN[100:200], 100, 100, False),
    ("bytes=-100", 206, PLAN[-100:], SIZE - 100, 100, False),
    ("bytes=9000-", 206, PLAN[9000:], 9000, 1000, False),
    ("bytes=0-", 206, PLAN, 0, SIZE, True),
    ("bytes=0-99999", 206, PLAN, 0, SIZE, True),
    ("bytes=-99999", 206, PLAN, 0, SIZE, True),
    (None, 200, PLAN, None, SIZE, True),
]
WEB_ACTIONS = ["open", "download"]


@pytest.fixture
def granted(config):
    make_property(config, "obj-1", files={"plan.pdf": PLAN, "eins.txt": b"1"})
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


@pytest.fixture
def fetch(server, granted):
    """GET a file of the share by the personal link (``open``, ``download``) or by the
    contact's WebDAV login (``dav``), with a ``Range`` header if given."""
    link = server.url + urlsplit(granted.link).path

    def get(channel: str, header: str | None, name: str = "plan.pdf") -> requests.Response:
        headers = {"Range": header} if header else {}
        if channel == "dav":
            auth = (granted.username, granted.password)
            return requests.get(f"{server.url}/view/obj-1/{name}", auth=auth, headers=headers)
        return requests.get(f"{link}/{channel}/{name}", headers=headers)

    return get


def exported(cli) -> list[dict]:
    result = cli("tracking", "export", "--format", "ndjson")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("channel", [*WEB_ACTIONS, "dav"])
@pytest.mark.parametrize(("header", "status", "body", "start", "sent", "complete"), RANGES)
def test_a_range_is_complete_only_when_it_covers_the_whole_file(
    cli, fetch, channel, header, status, body, start, sent, complete
):
    r = fetch(channel, header)
    assert (r.status_code, r.content) == (status, body)
    [stored] = wait_for_events(1, status=status)
    [event] = [e for e in exported(cli) if e["id"] == stored["id"]]
    assert (event["path"], event["status"], event["bytes"], event["size"]) == (
        "plan.pdf",
        status,
        sent,
        SIZE,
    )
    assert event["complete"] is complete
    assert event["channel"] == ("dav" if channel == "dav" else "web")
    assert AccessEvent.get_by_id(event["id"]).range_start == (start if status == 206 else None)


def test_a_range_of_a_one_byte_file_is_the_whole_file(cli, fetch):
    for channel in [*WEB_ACTIONS, "dav"]:
        r = fetch(channel, "bytes=0-0", name="eins.txt")
        assert (r.status_code, r.content) == (206, b"1")
    events = wait_for_events(3, path="eins.txt")
    assert [(e["bytes"], e["size"], e["complete"]) for e in events] == [(1, 1, True)] * 3


def test_several_ranges_on_the_web_are_refused_and_not_recorded(cli, fetch):
    for action in WEB_ACTIONS:
        r = fetch(action, "bytes=0-0,5000-5001")
        assert r.status_code == 416
    # one plain read afterwards, so a wrongly recorded range would be stored by now
    assert fetch("download", None).status_code == 200
    events = wait_for_events(1)
    assert [(e["status"], e["complete"]) for e in events] == [(200, True)]
    assert len(exported(cli)) == 1


def test_several_ranges_over_webdav_send_one_and_are_no_complete_download(cli, fetch):
    r = fetch("dav", "bytes=0-0,5000-5001")
    assert r.status_code == 206  # WsgiDAV answers one of them
    start = int(r.headers["Content-Range"].split()[1].split("-")[0])
    assert r.content == PLAN[start : start + len(r.content)]
    [stored] = wait_for_events(1)
    [event] = exported(cli)
    assert event["id"] == stored["id"]
    assert (event["bytes"], event["complete"]) == (len(r.content), False)
    assert AccessEvent.get_by_id(event["id"]).range_start == start


def test_web_ranges_that_together_cover_the_file_make_one_complete_access(cli, fetch):
    for header in ("bytes=0-4999", "bytes=5000-"):
        r = fetch("open", header)
        assert r.status_code == 206
    assert [e["complete"] for e in wait_for_events(2)] == [False, False]
    result = cli("tracking", "show", "--property", "obj-1", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["contacts"]
    assert (row["path"], row["opens"], row["complete"]) == ("plan.pdf", 1, True)
