"""``immoshare doctor``: a healthy home passes; each fault it knows, provoked for real
on that home, is an error with its code and a fix, and exit code 1."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import signal
import sqlite3
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import requests
import yaml

from gateway.models import AccessEvent, ConsentRecord, ConsentText
from gateway.services import (
    catalog,
    confirmations,
    consent,
    doctor,
    grants,
    journal,
    outbox,
    tracking,
)
from gateway.services.home import open_home
from tests.factories import expire_grant, make_contact, make_grant, make_property
from tests.tools import ServerProcess, free_port

pytestmark = pytest.mark.server

PLAN = b"%PDF-1.7 Expose " + bytes(range(256)) * 40
OWN_WIDERRUF = "Widerrufsbelehrung der Muster Immobilien GmbH.\n\nSie haben das Recht ..."
PAIR = ("--property", "obj-1", "--contact", "4711")


def settings(home) -> dict:
    return yaml.safe_load((home / "immoshare.yaml").read_text(encoding="utf-8")) or {}


def write_settings(home, **changes) -> None:
    """Change settings in immoshare.yaml; a value of None removes the setting."""
    values = settings(home)
    values.update(changes)
    values = {k: v for k, v in values.items() if v is not None}
    (home / "immoshare.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")


@pytest.fixture
def config(home, smtp_port):
    """The server's settings: SMTP on the test inbox (the conftest ``server`` uses them)."""
    write_settings(
        home, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="unterlagen@muster.de"
    )
    return open_home(home)


def wait_for(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.05)
    return result


def consent_through_the_form(server, link_path: str) -> None:
    with requests.Session() as session:
        page = session.get(server.url + link_path).text
        fields = dict(
            re.findall(r'name="(csrf|widerruf_version|agb_version)" value="([^"]*)"', page)
        )
        fields.update(early_start="yes", widerruf="yes")
        r = session.post(server.url + link_path + "/consent", data=fields, allow_redirects=False)
        assert r.status_code == 303, r.text[:300]


def link_path(link: str) -> str:
    return "/s/" + link.rsplit("/s/", 1)[1]


@pytest.fixture
def healthy(home, config, server, inbox, cli, tmp_path):
    """A home with nothing wrong: own consent text, SMTP, a consent property with its
    energy certificate marked, whose contact consented (mail sent) and downloaded over
    WebDAV, a CRM that pulled every event, and base_url pointing at the running server."""
    own = tmp_path / "widerruf.txt"
    own.write_text(OWN_WIDERRUF, encoding="utf-8")
    assert cli("consent", "set", "widerruf", str(own)).exit_code == 0
    agency = ("--name", "Muster Immobilien GmbH", "--imprint", "https://example.de/impressum")
    privacy = ("--privacy-contact", "datenschutz@example.de")
    assert cli("branding", "set", *agency, *privacy).exit_code == 0
    make_property(
        config,
        "obj-1",
        requires_consent=True,
        files={"Exposé.pdf": PLAN, "Energieausweis.pdf": b"%PDF-1.4 EA"},
    )
    marked = cli("property", "set", "obj-1", "--energy-certificate", "Energieausweis.pdf")
    assert marked.exit_code == 0, marked.output
    make_contact("4711", email="erika@example.de")
    granted = make_grant(config, "obj-1", "4711")
    consent_through_the_form(server, link_path(granted.link))
    wait_for(lambda: ConsentRecord.get().mail_state == "sent", "the confirmation mail")
    auth = (granted.username, granted.password)
    assert requests.get(server.url + "/view/obj-1/Exposé.pdf", auth=auth).content == PLAN
    wait_for(lambda: tracking.flush() and _stored_downloads(), "the download event")
    created = cli("apikey", "create", "crm", "--json")
    bearer = {"Authorization": "Bearer " + json.loads(created.stdout)["key"]}
    cursor = "0"
    while True:  # the CRM pulls until it has everything
        page = requests.get(
            server.url + "/api/v1/events", params={"since": cursor}, headers=bearer
        ).json()
        if not page["events"]:
            break
        cursor = page["next"]
    # The running server's watcher catalogs the files nobody fetched yet within seconds.
    wait_for(lambda: catalog.catalog_drift(config, "obj-1").total == 0, "the catalog")
    write_settings(home, base_url=server.url)
    return SimpleNamespace(server=server, grant=granted, auth=auth, bearer=bearer, cursor=cursor)


def _stored_downloads():
    return [e for e in tracking.public_events_after(0, 1000) if e["action"] == "download"]


def run_doctor(cli, *args) -> tuple[int, dict]:
    result = cli("doctor", *args, "--json")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def errors_of(data: dict) -> dict[str, dict]:
    return {f["code"]: f for f in data["findings"] if f["severity"] == "error"}


def assert_error(cli, code: str, *args, also: tuple[str, ...] = ()) -> dict:
    """Doctor exits 1 with ``code`` among its errors, with a fix; besides it, only
    the errors in ``also`` (which the provocation brings along)."""
    exit_code, data = run_doctor(cli, *args)
    errors = errors_of(data)
    assert exit_code == 1 and data["ok"] is False, data
    assert code in errors, data
    assert errors[code]["fix"].strip() and errors[code]["message"].strip()
    assert set(errors) - {code} <= set(also), data
    return errors[code]


def fresh_diagnosis(home, **kwargs) -> doctor.Diagnosis:
    return doctor.diagnose(open_home(home, require_current=False), **kwargs)


def diagnosed_error(diagnosis: doctor.Diagnosis, code: str) -> doctor.Finding:
    assert not diagnosis.ok
    [finding] = [f for f in diagnosis.findings if f.code == code]
    assert finding.severity == doctor.ERROR and finding.fix.strip()
    return finding


# ---------------------------------------------------------------- a healthy home


def test_a_healthy_home_passes(healthy, cli):
    for args in (PAIR, ("--property", "obj-1"), ("--contact", "4711"), ()):
        exit_code, data = run_doctor(cli, *args)
        assert (exit_code, data) == (0, {"ok": True, "findings": []}), args
    text = cli("doctor", *PAIR)
    assert text.exit_code == 0 and "Nothing wrong found." in text.stdout


def test_text_output_names_code_subject_and_fix(healthy, cli):
    assert cli("revoke", "obj-1", "4711").exit_code == 0
    result = cli("doctor", *PAIR)
    assert result.exit_code == 1
    assert "ERROR grant_revoked (grant obj-1 4711)" in result.stdout
    assert re.search(r"fix: `immoshare --home \S+ grant obj-1 4711`", result.stdout)
    assert result.stdout.rstrip().endswith("1 error(s), 0 warning(s).")


@pytest.mark.parametrize("option", ["--property", "--contact"])
def test_unknown_property_or_contact_is_one_line(healthy, cli, option):
    result = cli("doctor", option, "nope")
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "'nope' not found — see `immoshare" in line


# ---------------------------------------------------------------- the share is not shown


def test_revoked_grant(healthy, cli):
    assert cli("revoke", "obj-1", "4711").exit_code == 0
    finding = assert_error(cli, "grant_revoked", *PAIR)
    assert "grant obj-1 4711" in finding["fix"]
    # Looking at the whole property, a revoke is most likely meant: a warning, and
    # the error says that no contact is left.
    _, data = run_doctor(cli, "--property", "obj-1")
    assert [(f["severity"], f["code"]) for f in data["findings"]] == [
        ("warning", "grant_revoked"),
        ("error", "grant_missing"),
    ]


def test_expired_grant(healthy, cli):
    expire_grant("obj-1", "4711", datetime.date(2020, 6, 30))
    finding = assert_error(cli, "grant_expired", *PAIR)
    assert "2020-06-30" in finding["message"] and "--expires" in finding["fix"]


def test_missing_grant(healthy, cli):
    make_contact("4712", email="max@example.de")
    finding = assert_error(
        cli, "grant_missing", "--property", "obj-1", "--contact", "4712", also=("no_events",)
    )
    assert "grant obj-1 4712" in finding["fix"]


def test_consent_pending(healthy, cli, config):
    make_contact("4712", email="max@example.de")
    make_grant(config, "obj-1", "4712")
    finding = assert_error(
        cli, "consent_pending", "--property", "obj-1", "--contact", "4712", also=("no_events",)
    )
    assert "link obj-1 4712" in finding["fix"]


def test_contact_without_email(healthy, cli, config):
    make_contact("4712", email=None)
    granted = make_grant(config, "obj-1", "4712")
    consent_through_the_form(healthy.server, link_path(granted.link))
    assert ConsentRecord.get(ConsentRecord.grant == grants.get_grant("obj-1", "4712")).mail_state
    tracking.flush()
    finding = assert_error(cli, "contact_email_missing", "--property", "obj-1", "--contact", "4712")
    assert "contact set 4712 --email" in finding["fix"]
    assert cli("contact", "set", "4712", "--email", "max@example.de").exit_code == 0
    assert run_doctor(cli, "--property", "obj-1", "--contact", "4712")[0] == 0


def test_failed_confirmation_mail(healthy, home, cli):
    write_settings(home, smtp_port=free_port())  # nothing listens there
    closed = open_home(home)
    make_contact("4712", email="max@example.de")
    make_grant(closed, "obj-1", "4712")
    grant = grants.get_grant("obj-1", "4712")
    texts = consent.current_texts()
    record = consent.record_consent(
        closed,
        grant,
        ticked=set(texts.statement_ids),
        shown_versions={"widerruf": texts.widerruf.version, "agb": None},
        language="de",
        ip="127.0.0.1",
        user_agent="test",
    )
    tracking.flush()
    for _ in range(len(outbox.RETRY_DELAYS) + 1):  # each retry when it is due
        due = ConsentRecord.get_by_id(record.id).mail_next_at
        later = (due if due.tzinfo else due.replace(tzinfo=datetime.UTC)) + datetime.timedelta(
            seconds=1
        )
        state = confirmations.deliver(closed, record.id, now=later)
    assert state == "failed"
    finding = assert_error(
        cli, "confirmation_mail_failed", "--property", "obj-1", "--contact", "4712"
    )
    assert "smtp_" in finding["fix"] and "Connection refused" in finding["message"]


def test_server_not_running(healthy, home, cli):
    healthy.server.stop()
    write_settings(home, base_url=None, port=healthy.server.port)
    finding = assert_error(cli, "server_not_running", *PAIR)
    assert "serve" in finding["fix"]
    _, data = run_doctor(cli, *PAIR)
    assert "base_url_unset" in {f["code"] for f in data["findings"] if f["severity"] == "warning"}


def test_base_url_pointing_at_a_closed_port(healthy, home, cli):
    write_settings(home, base_url=f"http://127.0.0.1:{free_port()}")
    finding = assert_error(cli, "link_base_unreachable", *PAIR)
    assert "link base not reachable" in finding["message"]


# ---------------------------------------------------------------- the tracking has no data


def test_property_without_events(healthy, cli, config):
    make_property(config, "obj-2", requires_consent=False)
    make_grant(config, "obj-2", "4711")
    finding = assert_error(cli, "no_events", "--property", "obj-2")
    assert "link obj-2 4711" not in finding["fix"]  # no contact named: the generic form
    assert "tracking show --property obj-2" in finding["fix"]


@contextmanager
def database_locked(home):
    """Another program holds SQLite's write lock (a backup tool, say): readers go
    on, every write waits."""
    locker = sqlite3.connect(home / "immoshare.db", timeout=30)
    locker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        locker.rollback()
        locker.close()


def journaled_but_not_stored(home, *, live: bool) -> set[str]:
    """Uids finished in the journals of live (or dead) processes and not stored."""
    files = [f for f in journal.journal_files(home / "journal") if f.live == live]
    finished = {uid for f in files for uid in f.finished}
    return finished - {e.uid for e in AccessEvent.select(AccessEvent.uid)}


def test_journal_left_behind_by_a_killed_server(healthy, home, cli):
    second = ServerProcess(home)
    try:
        with database_locked(home):
            r = requests.get(second.url + "/view/obj-1/Exposé.pdf", auth=healthy.auth)
            assert r.content == PLAN
            wait_for(lambda: journaled_but_not_stored(home, live=True), "the journal line")
            second.stop(signal.SIGKILL)
    finally:
        second.stop()
    assert journaled_but_not_stored(home, live=False)
    finding = assert_error(cli, "journal_unstored", *PAIR)
    assert "tracking verify" in finding["fix"]
    assert cli("tracking", "verify").exit_code == 0  # stores them, as the fix says
    assert run_doctor(cli, *PAIR)[0] == 0


def test_tracking_writer_that_cannot_write(healthy, home):
    with database_locked(home):
        r = requests.get(healthy.server.url + "/view/obj-1/Exposé.pdf", auth=healthy.auth)
        assert r.content == PLAN
        wait_for(lambda: journaled_but_not_stored(home, live=True), "the journal line")
        diagnosis = fresh_diagnosis(
            home,
            property_key="obj-1",
            contact_ref="4711",
            limits=doctor.Limits(writer_grace_seconds=1),
        )
    finding = diagnosed_error(diagnosis, "tracking_writer_stalled")
    assert "restart" in finding.fix
    assert {f.code for f in diagnosis.findings if f.severity == doctor.ERROR} == {
        "tracking_writer_stalled"
    }


def test_no_api_key(healthy, cli):
    assert cli("apikey", "revoke", "crm").exit_code == 0
    finding = assert_error(cli, "no_api_key", *PAIR)
    assert "apikey create" in finding["fix"]


def test_a_crm_cursor_far_behind_via_the_real_api(healthy, home, cli):
    for _ in range(3):  # three more downloads the CRM has not pulled
        requests.get(healthy.server.url + "/view/obj-1/Exposé.pdf", auth=healthy.auth)
    wait_for(lambda: tracking.flush() and len(_stored_downloads()) == 4, "the downloads")
    assert run_doctor(cli, *PAIR)[0] == 0  # 3 behind: not far under the default limit
    behind = fresh_diagnosis(home, limits=doctor.Limits(cursor_behind_events=2))
    finding = diagnosed_error(behind, "crm_cursor_behind")
    assert "3 event(s) behind" in finding.message and f"cursor {healthy.cursor}" in finding.message
    idle = fresh_diagnosis(home, limits=doctor.Limits(cursor_behind_days=0))
    diagnosed_error(idle, "crm_cursor_behind")
    # The CRM pulls on and passes back each "next": nothing is behind any more.
    api = healthy.server.url + "/api/v1/events"
    page = requests.get(api, params={"since": healthy.cursor}, headers=healthy.bearer).json()
    requests.get(api, params={"since": page["next"]}, headers=healthy.bearer).raise_for_status()
    assert fresh_diagnosis(home, limits=doctor.Limits(cursor_behind_events=0)).ok


# ---------------------------------------------------------------- the installation


def test_pending_migration_is_a_finding_not_a_refusal(healthy, cli):
    from gateway.db import database

    database.execute_sql("DELETE FROM _migrations WHERE name = ?", (doctor_last_migration(),))
    finding = assert_error(cli, "migrations_pending", *PAIR)
    assert "init" in finding["fix"]
    assert cli("init").exit_code == 0
    assert run_doctor(cli, *PAIR)[0] == 0


def doctor_last_migration() -> str:
    from gateway.migrations import MIGRATIONS

    return MIGRATIONS[-1][0]


def test_no_smtp_with_a_consent_property(healthy, home, cli):
    write_settings(home, smtp_host=None, smtp_port=None, smtp_from=None, consent_requires_mail=True)
    finding = assert_error(cli, "smtp_missing", *PAIR)
    assert "smtp_host" in finding["fix"]


def test_unedited_sample_text(healthy, cli, tmp_path):
    # as stored unasked by versions before `consent set` refused samples
    body = consent.parse_text(consent.shipped_sample("widerruf"), "sample")
    ConsentText.create(kind="widerruf", version=99, body=body, sha256=consent.text_sha256(body))
    finding = assert_error(cli, "consent_sample_text", *PAIR)
    assert "consent set widerruf" in finding["fix"]


@pytest.mark.parametrize("damage", ["folder", "empty", "garbled", "missing"])
def test_unreadable_secret_key(healthy, home, cli, damage):
    key = home / "secret.key"
    key.unlink()
    if damage == "folder":
        key.mkdir()
    elif damage == "empty":
        key.write_bytes(b"")
    elif damage == "garbled":
        key.write_bytes(b"\xff\xfe\x00\x81 not text")
    finding = assert_error(cli, "secret_key_unreadable", *PAIR)
    assert "backup" in finding["fix"]


def test_secret_key_readable_by_others_is_a_warning(healthy, home, cli):
    (home / "secret.key").chmod(0o644)
    exit_code, data = run_doctor(cli, *PAIR)
    assert exit_code == 0
    [finding] = data["findings"]
    assert (finding["severity"], finding["code"]) == ("warning", "secret_key_permissions")
    assert finding["fix"] == f"chmod 600 {home / 'secret.key'}"


def test_low_disk_space_through_the_threshold(healthy, home):
    free = shutil.disk_usage(home).free
    low = fresh_diagnosis(home, limits=doctor.Limits(min_free_bytes=free * 2))
    assert "only" in diagnosed_error(low, "disk_space_low").message
    assert fresh_diagnosis(home, limits=doctor.Limits(min_free_bytes=free // 2)).ok
    assert doctor.Limits().min_free_bytes == 1024**3


def test_catalog_out_of_sync(healthy, home, cli):
    healthy.server.stop()  # no watcher: nothing sees the new file
    (home / "properties" / "obj-1" / "Grundriss EG.pdf").write_bytes(b"%PDF-1.4 neu")
    finding = assert_error(cli, "catalog_out_of_sync", *PAIR, also=("link_base_unreachable",))
    assert "1 file(s) not catalogued" in finding["message"] and "serve" in finding["fix"]


def test_missing_property_folder(healthy, home, cli):
    shutil.rmtree(home / "properties" / "obj-1")
    finding = assert_error(cli, "property_folder_missing", *PAIR)
    assert "mkdir -p" in finding["fix"]
