"""`tracking show`: per property and per contact, each document with first and last
access, opens, downloads and completeness; range reads fold into one access."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest

from gateway.services import tracking

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
FILM = 3_000_000


def record(minutes: float, **fields) -> None:
    values = {
        "property": "obj-1",
        "channel": "web",
        "action": "download",
        "status": 200,
        "complete": True,
        "sha256": "cd" * 32,
    } | fields
    tracking.record_event(tracking.Event(at=START + datetime.timedelta(minutes=minutes), **values))


@pytest.fixture
def history(config):
    record(0, action="list", contact="4711", path="")
    record(1, action="open", contact="4711", path="Exposé.pdf", bytes=900, size=900)
    record(30, action="open", contact="4711", path="Exposé.pdf", bytes=900, size=900)
    record(31, contact="4711", path="Exposé.pdf", bytes=300, size=900, complete=False)
    # Finder reads the film in three ranges: one access, complete together
    for minute, start, length in (
        (40, 0, 1_000_000),
        (40.5, 2_000_000, 1_000_000),
        (41, 1_000_000, 1_000_000),
    ):
        record(
            minute,
            channel="dav",
            contact="4711",
            path="Film.mp4",
            status=206,
            range_start=start,
            bytes=length,
            size=FILM,
        )
    record(50, contact="4712", path="Exposé.pdf", bytes=100, size=900, complete=False)
    record(55, channel="dav", agent="anna", path="Exposé.pdf", bytes=900, size=900)
    record(60, property="obj-2", contact="4711", path="Lageplan.pdf", bytes=50, size=50)


def show(cli, *args):
    result = cli("tracking", "show", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_property_report_per_contact_and_document(cli, history):
    report = json.loads(show(cli, "--property", "obj-1", "--json"))
    rows = {(r["contact"], r["path"]): r for r in report["contacts"]}
    assert sorted(rows) == [("4711", "Exposé.pdf"), ("4711", "Film.mp4"), ("4712", "Exposé.pdf")]
    expose = rows["4711", "Exposé.pdf"]
    assert (expose["opens"], expose["downloads"], expose["complete"]) == (2, 1, True)
    assert (expose["first"], expose["last"]) == ("2026-03-02T09:01:00Z", "2026-03-02T09:31:00Z")
    film = rows["4711", "Film.mp4"]
    assert (film["downloads"], film["complete"], film["bytes"]) == (1, True, FILM)
    assert len(film["events"]) == 3 and set(film["events"][0]) == set(tracking.PUBLIC_FIELDS)
    assert (rows["4712", "Exposé.pdf"]["complete"], rows["4712", "Exposé.pdf"]["downloads"]) == (
        False,
        1,
    )
    assert [(r["agent"], r["path"]) for r in report["agents"]] == [("anna", "Exposé.pdf")]


def test_contact_report_per_property(cli, history):
    rows = list(csv.DictReader(io.StringIO(show(cli, "--contact", "4711", "--csv"))))
    assert [(r["property"], r["path"], r["complete"]) for r in rows] == [
        ("obj-1", "Exposé.pdf", "true"),
        ("obj-1", "Film.mp4", "true"),
        ("obj-2", "Lageplan.pdf", "true"),
    ]
    table = show(cli, "--contact", "4711")
    assert table.splitlines()[0].split()[:2] == ["PROPERTY", "DOCUMENT"]
    assert "Lageplan.pdf" in table and "anna" not in table


def test_table_keeps_agents_apart(cli, history):
    table = show(cli, "--property", "obj-1")
    contacts, agents = table.split("Agents' own reads:")
    assert "4712" in contacts and "anna" not in contacts
    assert "anna" in agents and "4711" not in agents


def test_range_reads_of_another_version_or_much_later_are_new_accesses(cli, config):
    record(
        0,
        channel="dav",
        contact="4711",
        path="Film.mp4",
        status=206,
        range_start=0,
        bytes=1_000_000,
        size=FILM,
    )
    record(
        1,
        channel="dav",
        contact="4711",
        path="Film.mp4",
        status=206,
        range_start=1_000_000,
        bytes=2_000_000,
        size=FILM,
        sha256="ef" * 32,
    )
    record(
        90,
        channel="dav",
        contact="4711",
        path="Film.mp4",
        status=206,
        range_start=0,
        bytes=FILM,
        size=FILM,
        sha256="ef" * 32,
    )
    [row] = json.loads(show(cli, "--property", "obj-1", "--json"))["contacts"]
    assert (row["downloads"], row["complete"]) == (3, True)


def test_both_filters_json_and_csv_together_is_a_usage_error(cli, config):
    assert cli("tracking", "show", "--json", "--csv").exit_code == 2
