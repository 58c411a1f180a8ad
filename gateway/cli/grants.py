"""``grant``, ``revoke``, ``users``, ``link``, ``preview``: who may see which property."""

from __future__ import annotations

import dataclasses

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import contacts, grants, invitations


def _date(ctx, param, value):
    try:
        return grants.parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


#: What ``grant`` says it did, by ``GrantResult.state``.
STATE_MESSAGES = {
    grants.CREATED: "Grant created.",
    grants.REACTIVATED: "Grant re-activated (same link as before).",
    grants.UPDATED: "Grant updated.",
    grants.UNCHANGED: "Grant unchanged (it was live already).",
}


#: What ``grant --send`` says about the invitation, by its ``mail_state``.
INVITATION_MESSAGES = {
    "sent": "Invitation sent to {to}.",
    "pending": "Invitation to {to} queued; the server sends it.",
    "retrying": "Invitation to {to} not sent yet; the server retries it "
    "(`immoshare users` shows its state).",
    "failed": "Invitation to {to} could not be sent.",
}


@cli.command(short_help="Give a contact access to a property.")
@click.argument("property_key", metavar="PROPERTY")
@click.argument("ref")
@click.option(
    "--expires",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Last day the link and WebDAV login work; without it, a grant keeps its expiry.",
)
@click.option(
    "--no-expiry", is_flag=True, help="Remove the expiry date: the link works until revoked."
)
@click.option(
    "--send",
    is_flag=True,
    help="E-mail the contact an invitation with the link (retried if the mail fails).",
)
@json_option
@click.pass_obj
def grant(obj, property_key, ref, expires, no_expiry, send, as_json):
    """Give contact REF access to PROPERTY and print the personal link. Granting
    again re-activates a revoked grant (same link), changes the expiry with
    --expires or --no-expiry, or changes nothing; the first line says which.
    --send mails the contact an invitation with the link, the property's title and
    the expiry; it is refused, and nothing changes, without mail or an address.

    \b
    Example:
        immoshare grant obj-17 4711 --expires 2030-03-31
        immoshare grant obj-17 4711 --no-expiry
        immoshare grant obj-17 4711 --send
    """
    if expires is not None and no_expiry:
        raise click.UsageError("choose one of --expires and --no-expiry")
    config = obj.config()
    if no_expiry:
        expiry = None
    else:
        expiry = grants.KEEP_EXPIRY if expires is None else expires
    if send:  # refused before anything changes
        invitations.require_invitable(config, contacts.get_contact(ref))
    result = grants.grant_access(config, property_key, ref, expires=expiry)
    invitation = None
    if send:
        invitation = invitations.send_invitation(config, grants.get_grant(property_key, ref))
    if as_json:
        fields = dataclasses.asdict(result)  # the fields of docs/interface.md
        if send:
            fields["invitation"] = invitation.mail_state
        print_json(fields)
        return
    until = f" Works until {result.expires.isoformat()}." if result.expires else ""
    click.echo(f"{STATE_MESSAGES[result.state]}{until} Link: {result.link}")
    click.echo(
        f"WebDAV (read-only): {result.dav_url}  user: {result.username}"
        + (f"  password: {result.password}" if result.password else "  (password unchanged)")
    )
    if invitation is not None:
        note(INVITATION_MESSAGES[invitation.mail_state].format(to=invitation.recipient))
    note("Offer templates take the link as {Feld:OImmoCloudLink}.")


@cli.command(short_help="End a contact's access to a property.")
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


@cli.command(short_help="Who has access to a property.")
@click.argument("property_key", metavar="PROPERTY")
@json_option
@click.pass_obj
def users(obj, property_key, as_json):
    """Who has access to PROPERTY: contact, active, consent time and the state of
    its confirmation mail, the state of the invitation mail, last access.

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
                r.invitation,
                iso(r.last_access),
            ]
            for r in rows
        ],
        ["CONTACT", "NAME", "ACTIVE", "CONSENT", "MAIL", "INVITATION", "LAST ACCESS"],
    )


@cli.command(short_help="Print a contact's personal link.")
@click.argument("property_key", metavar="PROPERTY")
@click.argument("ref")
@click.pass_obj
def link(obj, property_key, ref):
    """Print REF's personal link to PROPERTY; exit 1 with the reason when the grant
    is revoked, expired or missing.

    \b
    Example:
        immoshare link obj-17 4711
    """
    config = obj.config()
    click.echo(grants.personal_link(config, grants.get_live_grant(property_key, ref)))


@cli.command(short_help="Print the agent's preview link of a property.")
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
