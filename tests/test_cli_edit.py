"""Editing from the CLI: ``property set``, ``contact set`` and ``apikey --scope``. The
CLI and the API refuse the same values with the same words, because they call the
same domain functions."""

from __future__ import annotations

import json

import pytest

from gateway.db import database
from gateway.migrations import AppliedMigration, apply_migrations
from gateway.models import ApiKey
from tests.api_client import CheckedApi
from tests.factories import make_consent_texts


def cli_json(cli, *args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def obj17(cli, config):
    make_consent_texts()
    assert cli("property", "add", "obj-17", "--title", "Musterstraße 5").exit_code == 0
    assert cli("contact", "add", "4711", "--name", "Erika Muster").exit_code == 0


def test_property_set_changes_title_and_consent_and_says_what(cli, obj17):
    result = cli("property", "set", "obj-17", "--title", "Musterstraße 5 (reserviert)")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Property 'obj-17' changed: title 'Musterstraße 5 (reserviert)'.\n"
    result = cli("property", "set", "obj-17", "--no-consent")
    assert result.stdout == "Property 'obj-17' changed: consent step off.\n"
    result = cli("property", "set", "obj-17", "--no-consent")
    assert result.stdout == "Property 'obj-17' unchanged.\n"
    shown = cli_json(cli, "property", "show", "obj-17")
    assert (shown["title"], shown["consent_required"]) == ("Musterstraße 5 (reserviert)", False)
    result = cli("property", "set", "obj-17", "--consent", "--json")
    assert json.loads(result.stdout)["consent_required"] is True


def test_contact_set_adds_an_email_later_and_keeps_the_grant(cli, obj17):
    assert cli("grant", "obj-17", "4711").exit_code == 0
    result = cli("contact", "set", "4711", "--email", "erika@example.de")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Contact '4711' changed: e-mail erika@example.de.\n"
    assert cli("contact", "set", "4711", "--email", "erika@example.de").stdout == (
        "Contact '4711' unchanged.\n"
    )
    assert cli_json(cli, "contact", "list")[0]["email"] == "erika@example.de"
    assert [u["active"] for u in cli_json(cli, "users", "obj-17")] == [True]


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["property", "set", "obj-99", "--title", "Neu"], 1),
        (["property", "set", "obj-17"], 2),
        (["contact", "set", "9999", "--name", "Max"], 1),
        (["contact", "set", "4711"], 2),
    ],
)
def test_set_without_a_target_or_a_change_fails_in_one_line(cli, obj17, args, status):
    result = cli(*args)
    assert result.exit_code == status
    assert "Traceback" not in result.output
    assert cli_json(cli, "property", "list")[0]["title"] == "Musterstraße 5"


#: (CLI arguments, API path, API body): the same bad value through both adapters.
SAME_RULE = [
    (["property", "set", "obj-17", "--title", " "], "/properties/obj-17", {"title": " "}),
    (
        ["property", "set", "obj-17", "--title", "x" * 301],
        "/properties/obj-17",
        {"title": "x" * 301},
    ),
    (["property", "set", "obj-17", "--title", "a\tb"], "/properties/obj-17", {"title": "a\tb"}),
    (["contact", "set", "4711", "--name", "x" * 201], "/contacts/4711", {"name": "x" * 201}),
    (["contact", "set", "4711", "--email", "a@b"], "/contacts/4711", {"email": "a@b"}),
    (
        ["contact", "set", "4711", "--email", "a@b.de\nBcc: c@d.de"],
        "/contacts/4711",
        {"email": "a@b.de\nBcc: c@d.de"},
    ),
]


@pytest.mark.parametrize(("args", "path", "body"), SAME_RULE, ids=range(len(SAME_RULE)))
def test_cli_and_api_refuse_the_same_values_alike(server, cli, obj17, args, path, body):
    key = cli_json(cli, "apikey", "create", "crm", "--scope", "write")["key"]
    before = (cli_json(cli, "property", "list"), cli_json(cli, "contact", "list"))
    result = cli(*args)
    assert result.exit_code == 1
    api = CheckedApi(server.url)
    answer = api.patch(path, key=key, json=body)
    assert answer.status_code == 422
    assert result.stderr == f"Error: {answer.json()['error']['message']}\n"
    assert (cli_json(cli, "property", "list"), cli_json(cli, "contact", "list")) == before


def test_apikey_scope_is_read_by_default_and_listed(cli):
    assert cli_json(cli, "apikey", "create", "crm")["scope"] == "read"
    assert cli_json(cli, "apikey", "create", "sync", "--scope", "write")["scope"] == "write"
    assert [(k["name"], k["scope"]) for k in cli_json(cli, "apikey", "list")] == [
        ("crm", "read"),
        ("sync", "write"),
    ]
    result = cli("apikey", "create", "admin", "--scope", "admin")
    assert result.exit_code == 2
    assert [k["name"] for k in cli_json(cli, "apikey", "list")] == ["crm", "sync"]


def test_keys_made_before_scopes_existed_become_read_keys(config, cli):
    """A home from before the scope column: its keys keep working, read-only."""
    cli_json(cli, "apikey", "create", "crm")
    database.execute_sql(f"ALTER TABLE {ApiKey._meta.table_name} DROP COLUMN scope")
    AppliedMigration.delete().where(AppliedMigration.name == "0009_api_key_scope").execute()
    assert apply_migrations() == ["0009_api_key_scope"]
    assert [(k["name"], k["scope"]) for k in cli_json(cli, "apikey", "list")] == [("crm", "read")]


@pytest.mark.parametrize(
    "args",
    [
        ["property", "add", "obj-9\n", "--title", "Neu"],
        ["contact", "add", "4712\n", "--name", "Max"],
        ["agent", "add", "anna\n"],
        ["apikey", "create", "crm\n"],
    ],
    ids=["property", "contact", "agent", "apikey"],
)
def test_a_name_with_a_trailing_newline_is_refused(cli, home, args):
    """A key is the folder name in WebDAV: "obj-9\\n" would be a second, invisible twin."""
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1
    assert cli_json(cli, "property", "list") == [] and cli_json(cli, "contact", "list") == []
    assert cli_json(cli, "agent", "list") == [] and cli_json(cli, "apikey", "list") == []
    assert not list((home / "properties").iterdir())


def test_property_set_names_the_contact_person_all_or_nothing(cli, obj17):
    data = cli_json(
        cli,
        "property",
        "set",
        "obj-17",
        "--contact-person",
        "Anna Agent",
        "--phone",
        "+49 911 123456",
        "--email",
        "anna@example.de",
    )
    person = {"name": "Anna Agent", "phone": "+49 911 123456", "email": "anna@example.de"}
    assert data["contact_person"] == person
    title = data["title"]
    bad = cli(
        "property", "set", "obj-17", "--title", "Neu", "--contact-person", "X", "--phone", "abc"
    )
    assert bad.exit_code == 1 and "invalid phone number" in bad.stderr
    after = cli_json(cli, "property", "show", "obj-17")
    assert (after["title"], after["contact_person"]) == (title, person)  # nothing half-set
    alone = cli("property", "set", "obj-17", "--phone", "+49 1")
    assert alone.exit_code == 2
    cleared = cli_json(cli, "property", "set", "obj-17", "--contact-person", "")
    assert cleared["contact_person"] is None
