"""The energy certificate: the agent marks it, `users` shows when each contact
received it whole, and `doctor` warns while a shared property has none."""

from __future__ import annotations

import datetime
import json
import os
from urllib.parse import quote

import pytest
import requests

from gateway.services import energy_certificate, tracking
from tests.factories import make_contact, make_grant, make_property
from tests.tools import sha, wait_until

CERTIFICATE = "Unterlagen/Energieausweis_2024.pdf"
FILES = {
    CERTIFICATE: b"%PDF-1.7 Energieausweis " + b"e" * 150_000,
    "Exposé.pdf": b"%PDF-1.7 Expose " + b"x" * 1_000,
    ".DS_Store": b"junk",
}


@pytest.fixture
def prop(config):
    return make_property(config, "obj-1", files=FILES)


def show(cli) -> dict:
    result = cli("property", "show", "obj-1", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def users(cli) -> dict[str, dict]:
    result = cli("users", "obj-1", "--json")
    assert result.exit_code == 0, result.output
    return {row["contact"]: row for row in json.loads(result.stdout)}


def test_mark_and_clear_the_certificate(cli, prop):
    result = cli("property", "set", "obj-1", "--energy-certificate", "/" + CERTIFICATE)
    assert result.exit_code == 0, result.output
    assert CERTIFICATE in result.stdout
    assert show(cli)["energy_certificate"] == CERTIFICATE
    as_json = cli("property", "set", "obj-1", "--energy-certificate", CERTIFICATE, "--json")
    assert json.loads(as_json.stdout)["energy_certificate"] == CERTIFICATE
    cleared = cli("property", "set", "obj-1", "--no-energy-certificate")
    assert cleared.exit_code == 0, cleared.output
    assert show(cli)["energy_certificate"] is None


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("Fehlt.pdf", "not in property 'obj-1'"),
        ("Unterlagen", "not a file contacts of 'obj-1' can get"),
        ("../secret.key", "not a file path inside property"),
        ("Unterlagen/../../secret.key", "not a file path inside property"),
        ("", "not a file path inside property"),
        (".DS_Store", "hidden from contacts"),
        ("Link.pdf", "leads outside property"),
        ("Zweitname.pdf", "not a file contacts of 'obj-1' can get"),
        ("a" * 2000, "longer than 1024"),
        ("Expos\x00é.pdf", "not a file path inside property"),
    ],
)
def test_a_path_contacts_cannot_get_is_refused(cli, config, prop, home, path, says):
    folder = config.properties_dir / "obj-1"
    os.symlink(home / "secret.key", folder / "Link.pdf")
    os.link(folder / "Exposé.pdf", folder / "Zweitname.pdf")
    assert cli("property", "set", "obj-1", "--energy-certificate", CERTIFICATE).exit_code == 0
    result = cli("property", "set", "obj-1", "--energy-certificate", path)
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert says in line and "Traceback" not in result.output
    assert show(cli)["energy_certificate"] == CERTIFICATE  # unchanged


@pytest.mark.parametrize(
    "args",
    [
        ("obj-1",),
        ("obj-1", "--energy-certificate", CERTIFICATE, "--no-energy-certificate"),
    ],
)
def test_set_needs_exactly_one_change(cli, prop, args):
    result = cli("property", "set", *args)
    assert result.exit_code == 2
    assert show(cli)["energy_certificate"] is None


def test_unknown_property_is_one_line(cli, prop):
    result = cli("property", "set", "obj-9", "--energy-certificate", CERTIFICATE)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: property 'obj-9' not found — see `immoshare property list`"
    )


@pytest.mark.server
def test_users_show_the_delivery_after_a_complete_download_only(server, cli, config, prop):
    make_contact("4711")
    make_contact("4712", name="Max Muster")
    erika = make_grant(config, "obj-1", "4711")
    max_ = make_grant(config, "obj-1", "4712")
    assert cli("property", "set", "obj-1", "--energy-certificate", CERTIFICATE).exit_code == 0
    link = server.url + "/s/" + erika.link.split("/s/", 1)[1]
    url = f"{link}/download/{quote(CERTIFICATE)}"

    one_byte = requests.get(url, headers={"Range": "bytes=0-0"})
    assert one_byte.status_code == 206 and len(one_byte.content) == 1
    dav_piece = requests.get(
        server.url + "/view/obj-1/" + quote(CERTIFICATE),
        auth=(max_.username, max_.password),
        headers={"Range": "bytes=0-99"},
    )
    assert dav_piece.status_code == 206
    other_file = requests.get(f"{link}/download/{quote('Exposé.pdf')}")
    assert other_file.ok
    wait_until(lambda: tracking.flush() and users(cli)["4711"]["last_access"], message="events")
    rows = users(cli)
    assert (rows["4711"]["energy_certificate"], rows["4712"]["energy_certificate"]) == (None, None)
    assert energy_certificate.certificate_facts(config, "obj-1", "4711") == {
        "path": CERTIFICATE,
        "sha256": sha(FILES[CERTIFICATE]),
        "delivered": False,
        "delivered_at": None,
    }

    before = datetime.datetime.now(datetime.UTC)
    assert requests.get(url).content == FILES[CERTIFICATE]
    delivered = wait_until(
        lambda: tracking.flush() and users(cli)["4711"]["energy_certificate"],
        message="the delivery",
    )
    at = datetime.datetime.fromisoformat(delivered.replace("Z", "+00:00"))
    assert before - datetime.timedelta(seconds=1) <= at <= datetime.datetime.now(datetime.UTC)
    assert users(cli)["4712"]["energy_certificate"] is None
    facts = energy_certificate.certificate_facts(config, "obj-1", "4711")
    assert (facts["delivered"], facts["delivered_at"]) == (True, delivered)
    table = cli("users", "obj-1")
    assert "ENERGY CERTIFICATE" in table.stdout
    [erika_line] = [line for line in table.stdout.splitlines() if line.startswith("4711")]
    assert delivered in erika_line

    # the whole file over WebDAV counts for the other contact as well
    dav = requests.get(
        server.url + "/view/obj-1/" + quote(CERTIFICATE), auth=(max_.username, max_.password)
    )
    assert dav.content == FILES[CERTIFICATE]
    wait_until(
        lambda: tracking.flush() and users(cli)["4712"]["energy_certificate"],
        message="the WebDAV delivery",
    )


@pytest.mark.server
def test_opening_the_whole_certificate_in_the_viewer_counts(server, cli, config, prop):
    make_contact("4711")
    erika = make_grant(config, "obj-1", "4711")
    assert cli("property", "set", "obj-1", "--energy-certificate", CERTIFICATE).exit_code == 0
    link = server.url + "/s/" + erika.link.split("/s/", 1)[1]
    opened = requests.get(f"{link}/open/{quote(CERTIFICATE)}")
    assert opened.content == FILES[CERTIFICATE]
    wait_until(
        lambda: tracking.flush() and users(cli)["4711"]["energy_certificate"],
        message="the delivery",
    )


def test_no_certificate_marked_is_null(cli, config, prop):
    make_contact("4711")
    make_grant(config, "obj-1", "4711")
    assert users(cli)["4711"]["energy_certificate"] is None


def doctor_findings(cli, *args) -> dict[str, dict]:
    result = cli("doctor", *args, "--json")
    assert result.exit_code in (0, 1), result.output
    return {f["code"]: f for f in json.loads(result.stdout)["findings"]}


def test_doctor_warns_and_proposes_the_energieausweis(cli, config, prop):
    assert "energy_certificate_missing" not in doctor_findings(cli, "--property", "obj-1")
    make_contact("4711")
    make_grant(config, "obj-1", "4711")
    finding = doctor_findings(cli, "--property", "obj-1")["energy_certificate_missing"]
    assert finding["severity"] == "warning" and finding["subject"] == "property obj-1"
    assert f"property set obj-1 --energy-certificate {CERTIFICATE}`" in finding["fix"]
    assert "energy_certificate_missing" in doctor_findings(cli, "--contact", "4711")

    # the command the fix names works, and the warning is gone
    assert cli("property", "set", "obj-1", "--energy-certificate", CERTIFICATE).exit_code == 0
    findings = doctor_findings(cli, "--property", "obj-1")
    assert not {"energy_certificate_missing", "energy_certificate_gone"} & set(findings)

    # the marked file is deleted: warned again
    (config.properties_dir / "obj-1" / CERTIFICATE).unlink()
    gone = doctor_findings(cli, "--property", "obj-1")["energy_certificate_gone"]
    assert CERTIFICATE in gone["message"] and "--energy-certificate PATH" in gone["fix"]


def test_doctor_without_a_file_named_energieausweis_says_to_add_one(cli, config):
    make_property(
        config, "obj-2", files={"Exposé.pdf": b"x", "ENERGIE/.hidden-energieausweis": b"x"}
    )
    make_contact("4711")
    make_grant(config, "obj-2", "4711")
    finding = doctor_findings(cli, "--property", "obj-2")["energy_certificate_missing"]
    assert finding["fix"].startswith("put the energy certificate into the folder of 'obj-2'")
    assert "--energy-certificate PATH`" in finding["fix"]
