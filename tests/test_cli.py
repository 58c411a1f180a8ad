"""The CLI: output contract of INTERFACE.md and one readable line for each bad input."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tests.tools import REPO


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def test_init_is_idempotent(tmp_path, cli):
    home = tmp_path / "fresh"
    from click.testing import CliRunner

    from gateway.cli import cli as root

    runner = CliRunner()
    first = runner.invoke(root, ["--home", str(home), "init"])
    assert first.exit_code == 0, first.output
    assert (home / "immoshare.yaml").exists()
    assert (home / "immoshare.db").exists()
    assert (home / "properties").is_dir()
    (home / "immoshare.yaml").write_text("port: 9999\n")
    second = runner.invoke(root, ["--home", str(home), "init"])
    assert second.exit_code == 0 and "up to date" in second.output
    assert (home / "immoshare.yaml").read_text() == "port: 9999\n"


def test_sqlite_runs_in_wal_mode(home):
    import sqlite3

    with sqlite3.connect(home / "immoshare.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_grant_json_fields_and_users(cli, consent_texts):
    ok(cli("property", "add", "obj-17", "--title", "Musterstraße 5"))
    ok(cli("contact", "add", "4711", "--name", "Erika Muster", "--email", "e@example.de"))
    data = json.loads(ok(cli("grant", "obj-17", "4711", "--json")).stdout)
    assert set(data) == {
        "property",
        "contact",
        "link",
        "dav_url",
        "username",
        "password",
        "expires",
        "state",
    }
    assert data["property"] == "obj-17" and data["contact"] == "4711"
    assert "/s/" in data["link"] and data["password"]
    again = json.loads(ok(cli("grant", "obj-17", "4711", "--json")).stdout)
    assert again["password"] is None and again["link"] == data["link"]
    users = json.loads(ok(cli("users", "obj-17", "--json")).stdout)
    assert [(u["contact"], u["active"]) for u in users] == [("4711", True)]
    ok(cli("revoke", "obj-17", "4711"))
    users = json.loads(ok(cli("users", "obj-17", "--json")).stdout)
    assert [(u["contact"], u["active"]) for u in users] == [("4711", False)]
    assert cli("link", "obj-17", "4711").exit_code == 1
    ok(cli("grant", "obj-17", "4711"))
    assert ok(cli("link", "obj-17", "4711")).stdout.strip() == data["link"]


def test_json_output_of_every_data_command(cli):
    assert json.loads(ok(cli("agent", "add", "anna", "--json")).stdout)["password"]
    assert json.loads(ok(cli("property", "add", "p1", "--title", "T", "--json")).stdout)["key"]
    assert json.loads(ok(cli("contact", "add", "c1", "--name", "N", "--json")).stdout)["ref"]
    assert [a["name"] for a in json.loads(ok(cli("agent", "list", "--json")).stdout)] == ["anna"]
    assert [p["key"] for p in json.loads(ok(cli("property", "list", "--json")).stdout)] == ["p1"]
    assert [c["ref"] for c in json.loads(ok(cli("contact", "list", "--json")).stdout)] == ["c1"]
    shown = json.loads(ok(cli("property", "show", "p1", "--json")).stdout)
    assert shown["title"] == "T" and shown["consent_required"] is True


def test_agent_password_from_stdin(cli, config):
    from gateway.services.access import authenticate_agent

    result = ok(cli("agent", "add", "ben", "--password-stdin", input="S3cret pass 12\n"))
    assert "S3cret" not in result.output
    assert authenticate_agent("ben", "S3cret pass 12") is not None


@pytest.mark.parametrize(
    "setting,password,accepted",
    [
        (None, "elf-zeichen", False),  # 11 characters: the default asks for 12
        (None, "zwoelf-zeich", True),
        ("min_password_length: 20\n", "a-long-passphrase", False),
        ("min_password_length: 20\n", "a-much-longer-passphrase", True),
        (None, "x" * 1025, False),
    ],
)
def test_agent_passwords_shorter_than_the_setting_are_refused(
    cli, home, setting, password, accepted
):
    from gateway.models import Agent

    if setting:
        with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
            fh.write(setting)
    result = cli("agent", "add", "ben", "--password-stdin", input=password + "\n")
    if accepted:
        ok(result)
        assert Agent.select().count() == 1
        return
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert "characters" in line and password not in line
    assert Agent.select().count() == 0


def test_no_consent_flag(cli):
    ok(cli("property", "add", "p2", "--title", "T", "--no-consent"))
    assert (
        json.loads(ok(cli("property", "show", "p2", "--json")).stdout)["consent_required"] is False
    )


def test_remove_commands(cli, home):
    ok(cli("property", "add", "gone", "--title", "T"))
    ok(cli("property", "remove", "gone", "--yes"))
    assert json.loads(ok(cli("property", "list", "--json")).stdout) == []
    assert (home / "properties" / "gone").is_dir()  # files stay unless --delete-files
    ok(cli("agent", "add", "x"))
    ok(cli("agent", "remove", "x"))
    assert json.loads(ok(cli("agent", "list", "--json")).stdout) == []


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["property", "add", "../evil", "--title", "T"], 1, "invalid property key"),
        (["property", "add", ".hidden", "--title", "T"], 1, "invalid property key"),
        (["property", "add", "a" * 65, "--title", "T"], 1, "invalid property key"),
        (["property", "add", "dup", "--title", "T"], 1, "property 'dup' exists already"),
        (["property", "show", "nope"], 1, "property 'nope' not found"),
        (["grant", "nope", "c1"], 1, "property 'nope' not found"),
        (["grant", "dup", "nobody"], 1, "contact 'nobody' not found"),
        (["revoke", "dup", "c1"], 1, "contact 'c1' has no grant"),
        (["grant", "dup", "c1", "--expires", "31.12.2026"], 2, "YYYY-MM-DD"),
        (["grant", "dup", "c1", "--expires", "2026-02-30"], 2, "YYYY-MM-DD"),
        (["contact", "add", "c1", "--name", "Again"], 1, "contact 'c1' exists already"),
        (["contact", "add", "c2", "--name", "X", "--email", "not-an-address"], 1, "invalid e-mail"),
        (["agent", "remove", "ghost"], 1, "agent 'ghost' not found"),
        (["contact", "set", "nope", "--email", "a@example.de"], 1, "contact 'nope' not found"),
        (["contact", "set", "c1", "--email", "not-an-address"], 1, "invalid e-mail"),
        (["contact", "set", "c1", "--name", " "], 1, "the name is empty"),
        (["contact", "set", "c1"], 2, "give --name, --email or both"),
        (["property", "add", "x"], 2, "Missing option '--title'"),
        (
            ["tracking", "show", "--property", "nope"],
            1,
            "property 'nope' not found — see `immoshare property list`",
        ),
        (
            ["tracking", "show", "--contact", "nope"],
            1,
            "contact 'nope' not found — see `immoshare contact list`",
        ),
        (["tracking", "show", "--property", "dup", "--contact", "nope"], 1, "contact 'nope'"),
    ],
)
def test_bad_input_one_line_no_traceback(cli, home, args, code, message):
    ok(cli("property", "add", "dup", "--title", "T"))
    ok(cli("contact", "add", "c1", "--name", "N"))
    result = cli(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1
    # nothing half-created
    assert sorted(p.name for p in (home / "properties").iterdir()) == ["dup"]


def test_missing_home(tmp_path):
    from click.testing import CliRunner

    from gateway.cli import cli as root

    result = CliRunner().invoke(root, ["--home", str(tmp_path / "none"), "property", "list"])
    assert result.exit_code == 1
    assert "no immoshare home" in result.output and "init" in result.output


def test_database_unreachable(home):
    from click.testing import CliRunner

    from gateway.cli import cli as root

    result = CliRunner().invoke(
        root,
        ["--home", str(home), "property", "list"],
        env={"IMMOSHARE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
    )
    assert result.exit_code == 1, result.output
    assert "database" in result.output and "Traceback" not in result.output


def test_bad_setting_value(home):
    from click.testing import CliRunner

    from gateway.cli import cli as root

    (home / "immoshare.yaml").write_text("port: many\n")
    result = CliRunner().invoke(root, ["--home", str(home), "property", "list"])
    assert result.exit_code == 1 and "setting port" in result.output


def test_settings_precedence(home):
    from gateway.config import load_config

    (home / "immoshare.yaml").write_text("port: 9001\nhost: 0.0.0.0\n")
    config = load_config(
        home, {"port": 9003}, environ={"IMMOSHARE_PORT": "9002", "IMMOSHARE_HOST": "127.0.0.2"}
    )
    assert config.port == 9003
    assert config.host == "127.0.0.2"
    assert load_config(home, environ={}).port == 9001
    assert load_config(home, environ={}).block_size >= 65536


def test_port_in_use(home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "--home", str(home), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_pending_migrations(home):
    from gateway.db import database

    database.execute_sql("DELETE FROM _migrations")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--home", str(home), "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 1
    assert "migration" in result.stderr and "init" in result.stderr


def test_every_command_has_help_with_example(cli):
    import click

    from gateway.cli import cli as root

    def walk(group, prefix):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, prefix + [name])
            else:
                yield prefix + [name], command

    for path, command in walk(root, []):
        assert command.help and "Example:" in command.help, " ".join(path)
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help",):
                assert param.help, f"{' '.join(path)} {param.name}"


def test_tracking_show_of_a_removed_property_still_shows_its_events(cli, config):
    from gateway.services.tracking import Event, record_event

    ok(cli("property", "add", "old", "--title", "T"))
    ok(cli("contact", "add", "c1", "--name", "N"))
    record_event(Event(property="old", channel="web", action="download", contact="c1", path="a"))
    ok(cli("property", "remove", "old", "--yes"))
    shown = json.loads(ok(cli("tracking", "show", "--property", "old", "--json")).stdout)
    assert [row["path"] for row in shown["contacts"]] == ["a"]
    by_contact = json.loads(ok(cli("tracking", "show", "--contact", "c1", "--json")).stdout)
    assert [row["property"] for row in by_contact["contacts"]] == ["old"]


def test_contact_set_changes_only_what_is_given(cli):
    ok(cli("contact", "add", "c1", "--name", "Erika Muster", "--email", "e@example.de"))
    changed = json.loads(
        ok(cli("contact", "set", "c1", "--email", "neu@example.de", "--json")).stdout
    )
    assert (changed["name"], changed["email"]) == ("Erika Muster", "neu@example.de")
    ok(cli("contact", "set", "c1", "--name", "Erika Neu"))
    [listed] = json.loads(ok(cli("contact", "list", "--json")).stdout)
    assert (listed["name"], listed["email"]) == ("Erika Neu", "neu@example.de")
