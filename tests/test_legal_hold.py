"""`contact erase` keeps the proof of a consent under a legal hold (GDPR Art. 17
(3)(e)) and erases everything else; `--include-evidence` and the daily clean-up after
the hold erase the proof too. Checked across every table and the files of the home,
with `tracking verify` passing each time."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from pathlib import Path

import peewee as pw
import pytest
import requests

from gateway import models
from gateway.models import AccessEvent, ConsentRecord, ConsentText, Contact, Credential, Grant
from gateway.services import consent, privacy, retention, tracking
from tests.contact_page import consent_fields
from tests.factories import make_contact, make_grant, make_property
from tests.tools import ThreadedServer
from tests.tracking_tools import wait_for_events

pytestmark = [pytest.mark.server, pytest.mark.each_database]

REF, NAME, EMAIL = "K-90417", "Erika Mustermann", "erika.mustermann@example.de"
PERSONAL = (REF, NAME, EMAIL)
DATABASE_FILES = ("immoshare.db", "immoshare.db-wal", "immoshare.db-shm")


@dataclasses.dataclass
class Consented:
    link: str
    dav: tuple[str, str]
    record: ConsentRecord
    texts: list[tuple[str, int, str]]  # kind, version, sha256 of the texts accepted
    server: ThreadedServer


@pytest.fixture
def consented(config):
    """REF consented to obj-c (files opened on the web) and read obj-2 over WebDAV;
    the server that saw it is stopped, so its journal is stored and gone."""
    make_property(config, "obj-c", requires_consent=True, files={"Exposé.pdf": b"%PDF ex" * 50})
    make_property(config, "obj-2", files={"Lageplan.pdf": b"%PDF lageplan"})
    make_contact(REF, NAME, EMAIL)
    granted = make_grant(config, "obj-c", REF)
    make_grant(config, "obj-2", REF)
    link = "/s/" + granted.link.rsplit("/s/", 1)[1]
    dav = (granted.username, granted.password)
    server = ThreadedServer(config)
    try:
        with requests.Session() as browser:
            fields = consent_fields(browser.get(server.url + link).text)
            posted = browser.post(server.url + link + "/consent", data=fields)
            assert posted.status_code == 200, posted.text
            assert browser.get(server.url + link + "/download/Exposé.pdf").status_code == 200
        assert requests.get(server.url + "/view/obj-2/Lageplan.pdf", auth=dav).status_code == 200
        wait_for_events(2, action="download")
        wait_for_events(1, action="consent")
    finally:
        server.stop()
    record = ConsentRecord.get()
    texts = [(t.kind, t.version, t.sha256) for t in ConsentText.select()]
    return Consented(link, dav, record, texts, server)


def personal_cells(*needles: str) -> list[tuple[str, int, str, str]]:
    """Every text cell of every table that contains one of ``needles``:
    (table, row id, column, value)."""
    found = []
    for model in models.ALL_MODELS:
        columns = [
            f for f in model._meta.sorted_fields if isinstance(f, (pw.CharField, pw.TextField))
        ]
        key = model._meta.primary_key
        for row in model.select(key, *columns).dicts():
            for column, value in row.items():
                if isinstance(value, str) and any(n in value for n in needles):
                    found.append((model._meta.table_name, row[key.name], column, value))
    return found


def personal_files(home: Path, *needles: str, database: bool = False) -> list[Path]:
    """Files of the home, other than the agents' own files, that contain one of
    ``needles`` (journals, logs, anything written beside; the database's own files,
    deleted pages included, with ``database``)."""
    found = []
    for path in home.rglob("*"):
        if not path.is_file() or (path.name in DATABASE_FILES and not database):
            continue
        if path.is_relative_to(home / "properties"):
            continue
        data = path.read_bytes()
        if any(n.encode() in data for n in needles):
            found.append(path)
    return found


def verified(cli) -> str:
    result = cli("tracking", "verify")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_erase_keeps_the_consent_evidence_and_erases_everything_else(cli, home, consented):
    events_before = {e.id: tracking.public_event(e) for e in AccessEvent.select()}
    erased = cli("contact", "erase", REF, "--yes")
    assert erased.exit_code == 0, erased.output
    until = datetime.date(consented.record.at.year + 3, 12, 31).isoformat()
    assert f"is kept until {until}, then erased" in erased.stderr
    assert f"contact erase {REF} --include-evidence" in erased.stderr

    # the proof: identity, the consent record with its texts, the consent event
    contact = Contact.get(Contact.ref == REF)
    assert (contact.name, contact.email, contact.held_until.isoformat()) == (NAME, EMAIL, until)
    [record] = ConsentRecord.select()
    assert record.__data__ == consented.record.__data__
    assert record.grant.property.key == "obj-c" and record.grant.contact.ref == REF
    assert [(t.kind, t.version, t.sha256) for t in ConsentText.select()] == consented.texts
    shown = consent.text_version("widerruf", record.widerruf_version)
    assert shown.sha256 == record.widerruf_sha256
    [kept_event] = AccessEvent.select().where(AccessEvent.contact == REF)
    assert kept_event.action == "consent" and kept_event.ip == events_before[kept_event.id]["ip"]
    exported = json.loads(cli("contact", "export", REF, "--json").stdout)
    assert [g["property"] for g in exported["grants"]] == ["obj-c"]
    assert exported["grants"][0]["consents"][0]["widerruf_sha256"] == record.widerruf_sha256

    # nothing else: no login, no other grant, every other event under a pseudonym
    assert Credential.select().count() == 0
    assert [g.property.key for g in Grant.select()] == ["obj-c"]
    assert not Grant.get().active
    others = AccessEvent.select().where(AccessEvent.id != kept_event.id)
    assert {(e.contact.startswith("erased-"), e.ip, e.user_agent) for e in others} == {
        (True, None, None)
    }
    assert [(e.id, e.path, e.bytes, e.sha256) for e in others] == [
        (i, e["path"], e["bytes"], e["sha256"])
        for i, e in events_before.items()
        if i != kept_event.id
    ]
    allowed = {("contact", "ref"), ("contact", "name"), ("contact", "email")}
    allowed.add(("access_event", "contact"))  # the consent event, checked above
    cells = personal_cells(*PERSONAL)
    assert {(table, column) for table, _, column, _ in cells} <= allowed, cells
    assert [row for table, row, _, _ in cells if table == "access_event"] == [kept_event.id]
    assert personal_files(home, *PERSONAL) == []
    assert verified(cli).startswith(f"{len(events_before)} event(s) checked")

    # the held contact is evidence only: no link, no login, no new grant, no changes
    server = ThreadedServer(open_config(home))
    try:
        assert requests.get(server.url + consented.link).status_code == 404
        assert requests.get(server.url + "/view/", auth=consented.dav).status_code == 401
    finally:
        server.stop()
    for args in (
        ("grant", "obj-c", REF),
        ("grant", "obj-2", REF),
        ("link", "obj-c", REF),
        ("contact", "set", REF),
    ):
        refused = cli(*args, "--email", "neu@example.de") if args[0] == "contact" else cli(*args)
        assert refused.exit_code == 1, args
        assert f"contact '{REF}' was erased; only its consent evidence is kept" in refused.stderr
    assert Grant.select().count() == 1 and Contact.get().email == EMAIL
    listed = cli("contact", "list")
    assert re.search(rf"{REF}\s+{NAME}\s+{EMAIL}\s+erased, held until {until}", listed.stdout)
    assert json.loads(cli("contact", "list", "--json").stdout)[0]["held_until"] == until

    # erasing again keeps the hold; with --include-evidence nothing personal remains
    again = cli("contact", "erase", REF, "--yes")
    assert again.exit_code == 0 and f"kept until {until}" in again.stderr
    assert_nothing_personal_remains(cli, home, len(events_before), ("--include-evidence",))
    assert [(t.kind, t.version, t.sha256) for t in ConsentText.select()] == consented.texts


def open_config(home):
    from gateway.services.home import open_home

    return open_home(home)


def assert_nothing_personal_remains(
    cli, home, events: int, erase_args: tuple[str, ...] | None = ()
) -> None:
    """After ``contact erase REF ERASE_ARGS --yes`` (none: already erased)."""
    if erase_args is not None:
        result = cli("contact", "erase", REF, *erase_args, "--yes")
        assert result.exit_code == 0, result.output
        assert "legal hold" not in result.stderr.lower()
    assert personal_cells(*PERSONAL) == []
    assert personal_files(home, *PERSONAL, database=True) == []
    assert Contact.select().count() == 0 and ConsentRecord.select().count() == 0
    assert Grant.select().count() == 0 and Credential.select().count() == 0
    assert {e.contact.startswith("erased-") for e in AccessEvent.select()} == {True}
    assert {(e.ip, e.user_agent) for e in AccessEvent.select()} == {(None, None)}
    assert AccessEvent.select().count() == events  # the facts of every access stay
    exported = json.loads(cli("contact", "export", REF, "--json").stdout)
    assert (exported["contact"], exported["grants"], exported["events"]) == (None, [], [])
    assert verified(cli).startswith(f"{events} event(s) checked")


def test_include_evidence_erases_the_proof_at_once(cli, home, consented):
    events = AccessEvent.select().count()
    assert_nothing_personal_remains(cli, home, events, ("--include-evidence",))
    assert ConsentText.select().count() == len(consented.texts)  # the agency's, no one's data


def test_the_daily_clean_up_erases_held_evidence_once_the_hold_ends(
    cli, home, config, consented, monkeypatch
):
    events = AccessEvent.select().count()
    assert cli("contact", "erase", REF, "--yes").exit_code == 0
    held_until = Contact.get().held_until

    def run_daily_cleanups_on(day: datetime.date) -> None:
        moved = datetime.datetime.combine(day, datetime.time(3), datetime.UTC)
        monkeypatch.setattr(privacy, "utc_now", lambda: moved)
        for job in retention.daily_cleanups(config):
            job()

    run_daily_cleanups_on(held_until)  # the last day of the hold: still kept
    assert Contact.get().held_until == held_until and ConsentRecord.select().count() == 1
    verified(cli)
    run_daily_cleanups_on(held_until + datetime.timedelta(days=1))
    assert_nothing_personal_remains(cli, home, events, None)


def test_the_hold_counts_from_the_end_of_the_year_of_the_newest_consent(cli, home, consented):
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as settings:
        settings.write("\nevidence_retention_years: 10\n")
    year = consented.record.at.year
    assert privacy.hold_end(datetime.datetime(year, 1, 1, tzinfo=datetime.UTC), 10) == (
        datetime.date(year + 10, 12, 31)
    )
    erased = cli("contact", "erase", REF, "--yes")
    assert erased.exit_code == 0, erased.output
    assert f"kept until {year + 10}-12-31" in erased.stderr


def test_a_consent_whose_hold_has_passed_is_erased_at_once(cli, home, consented):
    ConsentRecord.update(at=datetime.datetime(2015, 6, 1, tzinfo=datetime.UTC)).execute()
    events = AccessEvent.select().count()
    assert_nothing_personal_remains(cli, home, events)


def test_a_contact_who_never_consented_is_erased_at_once(cli, home, config):
    make_property(config, "obj-2", files={"Lageplan.pdf": b"%PDF"})
    make_contact(REF, NAME, EMAIL)
    make_grant(config, "obj-2", REF)
    tracking.record_event(
        tracking.Event(property="obj-2", channel="web", action="list", contact=REF)
    )
    assert_nothing_personal_remains(cli, home, 1)


def test_the_migration_adds_the_hold_columns_to_an_older_database(config):
    from gateway import migrations
    from gateway.db import database

    for column in ("erased_at", "held_until"):
        database.execute_sql(f"ALTER TABLE contact DROP COLUMN {column}")
    migrations.AppliedMigration.delete().where(
        migrations.AppliedMigration.name == "0008_legal_hold"
    ).execute()
    assert migrations.apply_migrations() == ["0008_legal_hold"]
    assert {"erased_at", "held_until"} <= {c.name for c in database.get_columns("contact")}
