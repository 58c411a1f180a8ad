"""``immoshare property``: one share per property (Objekt)."""

from __future__ import annotations

import dataclasses

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.db import database
from gateway.services import properties
from gateway.services.contact_person import contact_person_of, set_contact_person
from gateway.services.energy_certificate import set_energy_certificate
from gateway.services.grants import agent_dav_url, list_users


def _property_data(config, prop) -> dict:
    return {
        "key": prop.key,
        "title": prop.title,
        "consent_required": prop.requires_consent,
        "folder": str(properties.storage_folder(config, prop.key)),
        "dav_url": f"{agent_dav_url(config)}{prop.key}/",
        "created_at": iso(prop.created_at),
        "energy_certificate": prop.energy_certificate,
        "contact_person": dataclasses.asdict(person)
        if (person := contact_person_of(prop))
        else None,
        "archived_at": iso(prop.archived_at),
    }


@cli.group("property")
def property_group():
    """Properties: one WebDAV share and one folder each."""


@property_group.command("add")
@click.argument("key")
@click.option("--title", required=True, help="What contacts see as the share's name.")
@click.option(
    "--no-consent",
    is_flag=True,
    help="Show the files without the cancellation-notice consent step.",
)
@json_option
@click.pass_obj
def property_add(obj, key, title, no_consent, as_json):
    """Create a property and its folder.

    KEY is 1–64 letters, digits, '-', '_', '.', not starting with '.'; it is the
    folder name in WebDAV.

    \b
    Example:
        immoshare property add obj-17 --title "Musterstraße 5, 90402 Nürnberg"
    """
    config = obj.config()
    prop = properties.add_property(config, key, title, requires_consent=not no_consent)
    data = _property_data(config, prop)
    if as_json:
        print_json(data)
        return
    click.echo(f"Property '{key}' created. Agents find it at {data['dav_url']}")
    note(f"Next: immoshare grant {key} REF")


@property_group.command("set", short_help="Change a property's title, consent step, certificate.")
@click.argument("key")
@click.option("--title", help="New name of the share, as contacts see it.")
@click.option(
    "--consent/--no-consent",
    default=None,
    help="Whether contacts accept the cancellation notice before they see the files.",
)
@click.option(
    "--energy-certificate",
    "energy_certificate",
    metavar="PATH",
    help="Mark this file of the property (path inside its folder) as the energy "
    "certificate; `users` shows who received it.",
)
@click.option(
    "--no-energy-certificate",
    is_flag=True,
    help="The property has no energy certificate marked any more.",
)
@click.option(
    "--contact-person",
    metavar="NAME",
    help='Whom contacts call about this property ("" removes it); with --phone, --email.',
)
@click.option("--phone", metavar="PHONE", help="The contact person's phone number.")
@click.option("--email", metavar="EMAIL", help="The contact person's e-mail address.")
@json_option
@click.pass_obj
def property_set(
    obj,
    key,
    title,
    consent,
    energy_certificate,
    no_energy_certificate,
    contact_person,
    phone,
    email,
    as_json,
):
    """Change property KEY: its title, whether contacts consent first (turning it on
    asks every contact who has not consented yet at their next visit), its energy
    certificate, its contact person. All changes are made together or none.

    \b
    Example:
        immoshare property set obj-17 --title "Musterstraße 5, 90402 Nürnberg (reserviert)"
        immoshare property set obj-17 --no-consent
        immoshare property set obj-17 --energy-certificate "Energieausweis/EA_2024.pdf"
        immoshare property set obj-17 --contact-person "Anna Agent" --phone "+49 911 123456"
    """
    if energy_certificate is not None and no_energy_certificate:
        raise click.UsageError("choose one of --energy-certificate and --no-energy-certificate")
    if (phone or email) and contact_person is None:
        raise click.UsageError("--phone and --email go with --contact-person NAME")
    certificate_given = energy_certificate is not None or no_energy_certificate
    if title is None and consent is None and not certificate_given and contact_person is None:
        raise click.UsageError("nothing to change — see `immoshare property set --help`")
    config = obj.config()
    described = []
    with database.atomic():
        prop, changed = properties.update_property(key, title=title, requires_consent=consent)
        words = {"title": f"title '{prop.title}'", "requires_consent": _consent_words(prop)}
        described += [words[c] for c in changed]
        if certificate_given:
            certificate = None if no_energy_certificate else energy_certificate
            prop = set_energy_certificate(config, key, certificate)
            described.append(f"energy certificate {prop.energy_certificate or 'none'}")
        if contact_person is not None:
            prop = set_contact_person(key, contact_person, phone, email)
            person = contact_person_of(prop)
            described.append(f"contact person {person.one_line() if person else 'none'}")
    if as_json:
        print_json(_property_data(config, prop))
        return
    if not described:
        click.echo(f"Property '{key}' unchanged.")
        return
    click.echo(f"Property '{key}' changed: {', '.join(described)}.")
    if certificate_given and prop.energy_certificate:
        note(f"`immoshare users {key}` shows who received the energy certificate.")


def _consent_words(prop) -> str:
    return "consent step on" if prop.requires_consent else "consent step off"


@property_group.command("list")
@json_option
@click.pass_obj
def property_list(obj, as_json):
    """List properties.

    \b
    Example:
        immoshare property list
    """
    config = obj.config()
    rows = [_property_data(config, p) for p in properties.list_properties()]
    if as_json:
        print_json(rows)
        return
    print_table(
        [[r["key"], r["title"], "yes" if r["consent_required"] else "no"] for r in rows],
        ["KEY", "TITLE", "CONSENT"],
    )


@property_group.command("show")
@click.argument("key")
@json_option
@click.pass_obj
def property_show(obj, key, as_json):
    """Show one property and who has access.

    \b
    Example:
        immoshare property show obj-17 --json
    """
    config = obj.config()
    data = _property_data(config, properties.get_property(key))
    data["contacts"] = [u.contact for u in list_users(key)]
    if as_json:
        print_json(data)
        return
    for name in (
        "key",
        "title",
        "consent_required",
        "folder",
        "dav_url",
        "created_at",
        "energy_certificate",
    ):
        click.echo(f"{name}: {data[name]}")
    click.echo(f"contacts: {', '.join(data['contacts']) or '(none)'}")


@property_group.command("remove", short_help="Remove a property and its grants.")
@click.argument("key")
@click.option("--delete-files", is_flag=True, help="Also delete the property's folder.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def property_remove(obj, key, delete_files, yes):
    """Remove a property and all its grants (the folder stays unless --delete-files).

    \b
    Example:
        immoshare property remove obj-17 --yes
    """
    config = obj.config()
    properties.get_property(key)
    if not yes:
        click.confirm(f"Remove property '{key}' and all its grants?", abort=True, err=True)
    properties.remove_property(config, key, delete_files=delete_files)
    note(f"Property '{key}' removed.")
