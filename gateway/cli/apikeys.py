"""``immoshare apikey``: bearer keys for the CRM's use of ``/api/v1``: read keys pull
events, write keys also provision properties, contacts and grants."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import apikeys


@cli.group()
def apikey():
    """API keys for /api/v1 (the CRM's event export and provisioning)."""


@apikey.command("create")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(sorted(apikeys.SCOPES)),
    default=apikeys.READ,
    show_default=True,
    help="read: events and who has access; write: also create and change properties, "
    "contacts and grants.",
)
@json_option
@click.pass_obj
def apikey_create(obj, name, scope, as_json):
    """Create a key named NAME and print it; it is shown only this once.

    \b
    Example:
        immoshare apikey create crm --json
        immoshare apikey create crm-sync --scope write
    """
    obj.config()
    row, key = apikeys.create_key(name, scope)
    if as_json:
        print_json({"name": row.name, "key": key, "scope": row.scope})
        return
    click.echo(key)
    note(
        f"API key '{name}' ({scope}) created; it is shown only now. The CRM sends it as "
        "'Authorization: Bearer KEY' to /api/v1/ (see /api/v1/openapi.json)."
    )


@apikey.command("list", short_help="List keys and when each last pulled events.")
@json_option
@click.pass_obj
def apikey_list(obj, as_json):
    """List keys by name (never the keys themselves) and when each last pulled events.

    \b
    Example:
        immoshare apikey list
    """
    obj.config()
    rows = [
        {
            "name": k.name,
            "scope": k.scope,
            "created_at": iso(k.created_at),
            "revoked_at": iso(k.revoked_at),
            "last_pull_at": iso(k.last_pull_at),
            "last_cursor": k.last_cursor,
        }
        for k in apikeys.list_keys()
    ]
    if as_json:
        print_json(rows)
        return
    print_table(
        [
            [
                r["name"],
                r["scope"],
                r["created_at"],
                r["revoked_at"] or "active",
                r["last_pull_at"] or "never",
            ]
            for r in rows
        ],
        ["NAME", "SCOPE", "CREATED", "REVOKED", "LAST PULL"],
    )


@apikey.command("revoke")
@click.argument("name")
@click.pass_obj
def apikey_revoke(obj, name):
    """Revoke the key NAME; requests with it fail from now on.

    \b
    Example:
        immoshare apikey revoke crm
    """
    obj.config()
    apikeys.revoke_key(name)
    note(f"API key '{name}' revoked.")
