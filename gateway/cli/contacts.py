"""``immoshare contact``: the CRM's addresses (prospects)."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import contacts, privacy


def _contact_data(contact) -> dict:
    return {
        "ref": contact.ref,
        "name": contact.name,
        "email": contact.email,
        "created_at": iso(contact.created_at),
        "held_until": contact.held_until.isoformat() if contact.held_until else None,
    }


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


@contact.command("set")
@click.argument("ref")
@click.option("--name", help="New full name.")
@click.option("--email", help="New address for the consent confirmation.")
@json_option
@click.pass_obj
def contact_set(obj, ref, name, email, as_json):
    """Change a contact's name or e-mail address.

    \b
    Example:
        immoshare contact set 4711 --email erika.muster@example.de
    """
    if name is None and email is None:
        raise click.UsageError("give --name, --email or both")
    obj.config()
    contact, changed = contacts.change_contact(ref, name=name, email=email)
    if as_json:
        print_json(_contact_data(contact))
        return
    if not changed:
        click.echo(f"Contact '{ref}' unchanged.")
        return
    described = {"name": f"name '{contact.name}'", "email": f"e-mail {contact.email}"}
    click.echo(f"Contact '{ref}' changed: {', '.join(described[c] for c in changed)}.")


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
    print_table(
        [
            [
                r["ref"],
                r["name"],
                r["email"],
                r["held_until"] and f"erased, held until {r['held_until']}",
            ]
            for r in rows
        ],
        ["REF", "NAME", "EMAIL", "NOTE"],
    )


@contact.command("export", short_help="Everything stored about a contact (GDPR Art. 15).")
@click.argument("ref")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON (the only format; the flag is accepted for scripts).",
)
@click.pass_obj
def contact_export(obj, ref, as_json):
    """Print everything stored about contact REF (GDPR Art. 15): record, WebDAV
    login, grants, consents and tracking events.

    \b
    Example:
        immoshare contact export 4711 --json > auskunft-4711.json
    """
    obj.config()
    print_json(privacy.export_contact(ref))


@contact.command("erase", short_help="Erase a contact (GDPR Art. 17).")
@click.argument("ref")
@click.option(
    "--include-evidence",
    is_flag=True,
    help="Erase the consent evidence too, instead of keeping it under a legal hold.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def contact_erase(obj, ref, include_evidence, yes):
    """Erase contact REF (GDPR Art. 17): WebDAV login and grants go, links stop
    working, and the tracking events stay under a pseudonym; `tracking verify` still
    passes. Where REF consented, the proof of that consent (ref, name, e-mail, the
    consent records with their texts and confirmation mail, the consent events) is
    kept under a legal hold until evidence_retention_years after the end of the
    year of the consent (GDPR Art. 17 (3)(e)), then erased by the server's daily
    clean-up; --include-evidence erases it now.

    \b
    Example:
        immoshare contact erase 4711 --yes
    """
    config = obj.config()
    if not yes:
        what = "with its consent evidence" if include_evidence else "(consent evidence is kept)"
        click.confirm(
            f"Erase contact '{ref}' {what}? Links and logins stop working.",
            abort=True,
            err=True,
        )
    result = privacy.erase_contact(
        ref, retention_years=config.evidence_retention_years, include_evidence=include_evidence
    )
    note(
        f"Contact '{ref}' erased: {result.grants} grant(s) ended, {result.events} "
        f"event(s) kept under the pseudonym {result.pseudonym}."
    )
    if result.held_until is not None:
        note(
            f"Legal hold (GDPR Art. 17 (3)(e)): the proof of {result.consents} consent(s) — "
            f"ref, name, e-mail, consent records and {result.held_events} consent event(s) "
            f"— is kept until {result.held_until.isoformat()}, then erased. "
            f"`immoshare contact erase {ref} --include-evidence` erases it now."
        )
