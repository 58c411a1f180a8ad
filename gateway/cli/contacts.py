"""``immoshare contact``: the CRM's addresses (prospects)."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, print_json, print_table
from gateway.clock import iso
from gateway.services import contacts


def _contact_data(contact) -> dict:
    return {"ref": contact.ref, "name": contact.name, "email": contact.email,
            "created_at": iso(contact.created_at)}


@cli.group()
def contact():
    """Contacts: prospects, keyed by the CRM's address number (REF)."""


@contact.command("add")
@click.argument("ref")
@click.option("--name", required=True, help="Full name as the agent addresses them.")
@click.option("--email", help="Where the consent confirmation goes.")
@json_option
@click.pass_obj
def contact_add(obj, ref, name, email, as_json):
    """Add a contact.

    \b
    Example:
        immoshare contact add 4711 --name "Erika Muster" --email erika@example.de
    """
    obj.config()
    created = contacts.add_contact(ref, name, email)
    if as_json:
        print_json(_contact_data(created))
        return
    click.echo(f"Contact '{ref}' added. Next: immoshare grant PROPERTY {ref}")


@contact.command("list")
@json_option
@click.pass_obj
def contact_list(obj, as_json):
    """List contacts.

    \b
    Example:
        immoshare contact list --json
    """
    obj.config()
    rows = [_contact_data(c) for c in contacts.list_contacts()]
    if as_json:
        print_json(rows)
        return
    print_table([[r["ref"], r["name"], r["email"]] for r in rows], ["REF", "NAME", "EMAIL"])
