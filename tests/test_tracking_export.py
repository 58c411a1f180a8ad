"""The CRM export: cursor paging over the API and the CLI, exactly once and in
order while several writers append, bearer keys."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import threading

import pytest
import requests

from gateway.models import ApiKey
from gateway.services import tracking

pytestmark = pytest.mark.server

PER_WRITER = 60


def event(number: int, writer: int) -> tracking.Event:
    return tracking.Event(
        property="obj-1",
        channel="web",
        action="download",
        path=f"Writer {writer}/Plan {number}.pdf",
        contact=f"47{writer}",
        bytes=number,
        size=number,
        complete=True,
        status=200,
    )


@pytest.fixture
def api_key(cli):
    result = cli("apikey", "create", "crm", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["key"]


def poll(server, key, since, limit=7):
    r = requests.get(
        server.url + "/api/v1/events",
        params={"since": since, "limit": limit},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_four_writers_and_a_polling_consumer_see_every_event_once(server, api_key):
    written: list[str] = []
    lock = threading.Lock()

    def write(writer: int) -> None:
        for number in range(PER_WRITER):
            item = event(number, writer)
            if writer % 2:  # through the server's journal and writer thread
                tracking.record_event(item)
            else:  # appended at once, as another process or a CLI command does
                tracking.append_rows([tracking.to_row(item)])
            with lock:
                written.append(item.uid)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in writers:
        thread.start()
    seen, ids, cursor, idle = [], [], "", 0
    while any(t.is_alive() for t in writers) or (len(seen) < len(written) and idle < 20):
        writing = any(t.is_alive() for t in writers)
        if not writing:
            tracking.flush()
        page = poll(server, api_key, cursor)
        if not writing and not page["events"]:
            idle += 1  # a lost event must fail the test, not hang it
        seen += [e["path"] + "|" + str(e["bytes"]) for e in page["events"]]
        ids += [e["id"] for e in page["events"]]
        cursor = page["next"]
        assert len(seen) <= len(written) + 4  # never more than was written
    for thread in writers:
        thread.join()
    assert len(seen) == len(set(seen)) == 4 * PER_WRITER
    assert ids == sorted(ids)
    assert poll(server, api_key, cursor)["events"] == []
    expected = {f"Writer {w}/Plan {n}.pdf|{n}" for w in range(4) for n in range(PER_WRITER)}
    assert set(seen) == expected


def test_the_same_cursor_gives_the_same_events(server, api_key):
    for number in range(5):
        tracking.append_rows([tracking.to_row(event(number, 1))])
    first = poll(server, api_key, "", limit=3)
    assert [e["id"] for e in first["events"]] == [1, 2, 3] and first["next"] == "3"
    assert poll(server, api_key, "", limit=3) == first
    second = poll(server, api_key, first["next"], limit=3)
    assert [e["id"] for e in second["events"]] == [4, 5] and second["next"] == "5"
    assert list(first["events"][0]) == list(tracking.PUBLIC_FIELDS)


@pytest.mark.parametrize(
    "header", [None, "Bearer imk_not-a-key", "Basic Y3JtOnNlY3JldA==", "Bearer ", "revoked"]
)
def test_missing_wrong_or_revoked_keys_get_the_same_401(server, cli, api_key, header):
    if header == "revoked":
        assert cli("apikey", "revoke", "crm").exit_code == 0
        header = f"Bearer {api_key}"
    r = requests.get(
        server.url + "/api/v1/events", headers={"Authorization": header} if header else {}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_keys_are_stored_hashed_and_listed_without_the_key(cli, api_key):
    assert api_key not in json.dumps([k.__data__ for k in ApiKey.select()], default=str)
    listed = json.loads(cli("apikey", "list", "--json").stdout)
    assert [(k["name"], k["revoked_at"]) for k in listed] == [("crm", None)]
    assert api_key not in cli("apikey", "list").output
    assert cli("apikey", "create", "crm").exit_code == 1
    assert cli("apikey", "revoke", "nope").exit_code == 1


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "9" * 30, "12"])
def test_a_cursor_that_is_not_a_cursor_is_refused(server, cli, api_key, since):
    tracking.append_rows([tracking.to_row(event(1, 1))])
    r = requests.get(
        server.url + "/api/v1/events",
        params={"since": since},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert r.status_code == 400 and "cursor" in r.json()["error"]["message"]
    result = cli("tracking", "export", "--since", since)
    assert result.exit_code == 1
    assert result.stdout == "" and "cursor" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_bad_limit_is_a_400(server, api_key):
    r = requests.get(
        server.url + "/api/v1/events",
        params={"limit": "0"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert r.status_code == 400


def test_cli_export_prints_events_and_the_next_cursor(cli, config):
    for number in range(3):
        tracking.append_rows([tracking.to_row(event(number, 2))])
    first = cli("tracking", "export")
    assert first.exit_code == 0, first.output
    assert [json.loads(line)["id"] for line in first.stdout.splitlines()] == [1, 2, 3]
    assert first.stderr.strip() == "3"
    tracking.append_rows([tracking.to_row(event(9, 2))])
    as_csv = cli("tracking", "export", "--since", "3", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["id"], r["path"], r["complete"], r["agent"]) for r in rows] == [
        ("4", "Writer 2/Plan 9.pdf", "true", "")
    ]
    assert as_csv.stderr.strip() == "4"
    empty = cli("tracking", "export", "--since", "4")
    assert (empty.stdout, empty.stderr.strip()) == ("", "4")


@pytest.mark.parametrize(
    "at",
    [
        datetime.datetime(2026, 1, 12, 13, 46, 39, tzinfo=datetime.UTC),
        datetime.datetime(2026, 1, 12, 13, 46, 39, 120456, tzinfo=datetime.UTC),
        datetime.datetime(
            2026, 3, 29, 1, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
    ],
)
def test_export_times_are_utc_with_a_z_whatever_was_stored(cli, config, at):
    tracking.append_rows([tracking.to_row(dataclasses.replace(event(1, 1), at=at))])
    exported = json.loads(cli("tracking", "export").stdout.splitlines()[-1])
    utc = at.astimezone(datetime.UTC).replace(tzinfo=None)
    assert exported["at"] == utc.isoformat() + "Z"
