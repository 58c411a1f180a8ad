"""``grant``, ``revoke``, ``users``, ``link``, ``preview``: who may see which property."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import grants


def _date(ctx, param, value):
    try:
        return grants.parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@cli.command()
@click.argument("property_key", metavar="PROPERTY")
@click.argument("ref")
@click.option(
    "--expires",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Last day the link and WebDAV login work.",
)
@json_option
@click.pass_obj
def grant(obj, property_key, ref, expires, as_json):
    """Give contact REF access to PROPERTY; again after revoke, it re-activates the
    same link.

    \b
    Example:
        immoshare grant obj-17 4711 --expires 2027-03-31
    """
    config = obj.config()
    result = grants.grant_access(config, property_key, ref, expires=expires)
    if as_json:
        data = {
            k: getattr(result, k)
            for k in ("property", "contact", "link", "dav_url", "username", "password")
        }
        print_json(data)
        return
    click.echo(f"Grant created. Link: {result.link}")
    click.echo(
        f"WebDAV (read-only): {result.dav_url}  user: {result.username}"
        + (f"  password: {result.password}" if result.password else "  (password unchanged)")
    )
    note("Offer templates take the link as {Feld:OImmoCloudLink}.")


@cli.command()
@click.argument("property_key", metavar="PROPERTY")
@click.argument("ref")
@click.pass_obj
def revoke(obj, property_key, ref):
    """Revoke REF's access to PROPERTY; link and WebDAV fail from the next request.

    \b
    Example:
        immoshare revoke obj-17 4711
    """
    obj.config()
    grants.revoke_access(property_key, ref)
    note(f"Access of '{ref}' to '{property_key}' revoked.")


@cli.command()
@click.argument("property_key", metavar="PROPERTY")
@json_option
@click.pass_obj
def users(obj, property_key, as_json):
    """Who has access to PROPERTY: contact, active, consent time, last access.

    \b
    Example:
        immoshare users obj-17 --json
    """
    obj.config()
    rows = grants.list_users(property_key)
    if as_json:
        print_json(rows)
        return
    print_table(
        [
            [
                r.contact,
                r.name,
                "yes" if r.active else "no",
                iso(r.consent_at),
                r.consent_mail,
                iso(r.last_access),
            ]
            for r in rows
        ],
        ["CONTACT", "NAME", "ACTIVE", "CONSENT", "MAIL", "LAST ACCESS"],
    )


@cli.command()
@click.argument("property_key", metavar="PROPERTY")
@click.argument("ref")
@click.pass_obj
def link(obj, property_key, ref):
    """Print REF's personal link to PROPERTY.

    \b
    Example:
        immoshare link obj-17 4711
    """
    config = obj.config()
    click.echo(grants.personal_link(config, grants.get_grant(property_key, ref)))


@cli.command()
@click.argument("property_key", metavar="PROPERTY")
@click.pass_obj
def preview(obj, property_key):
    """Print the agent's preview link of PROPERTY: the contact's view, without
    downloads, not tracked as a contact.

    \b
    Example:
        immoshare preview obj-17
    """
    config = obj.config()
    click.echo(grants.preview_link(config, property_key))
