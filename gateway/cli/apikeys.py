"""``immoshare apikey``: bearer keys for the CRM's pull from ``/api/v1/events``."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import apikeys


@cli.group()
def apikey():
    """API keys for /api/v1 (the CRM's event export)."""


@apikey.command("create")
@click.argument("name")
@json_option
@click.pass_obj
def apikey_create(obj, name, as_json):
    """Create a key named NAME and print it; it is shown only this once.

    \b
    Example:
        immoshare apikey create crm --json
    """
    obj.config()
    row, key = apikeys.create_key(name)
    if as_json:
        print_json({"name": row.name, "key": key})
        return
    click.echo(key)
    note(
        f"API key '{name}' created; it is shown only now. The CRM sends it as "
        "'Authorization: Bearer KEY' to /api/v1/events."
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
            [r["name"], r["created_at"], r["revoked_at"] or "active", r["last_pull_at"] or "never"]
            for r in rows
        ],
        ["NAME", "CREATED", "REVOKED", "LAST PULL"],
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
