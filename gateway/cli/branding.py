"""``immoshare branding``: the agency name and logo on every contact page, its
Impressum and the controller's contact in the privacy notice."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import json_option, print_json
from gateway.services import branding as branding_service


def _data(current) -> dict:
    return {
        "name": current.name,
        "logo": current.logo_file,
        "imprint": current.imprint,
        "privacy_contact": current.privacy_contact,
    }


@cli.group("branding")
def branding_group():
    """Branding: the agency's name, logo, Impressum and privacy contact."""


@branding_group.command("set", short_help="Set the agency name, logo, Impressum, privacy contact.")
@click.option("--name", help="Agency name, shown in the page header and footer.")
@click.option(
    "--logo",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Logo file: PNG, JPEG, GIF or WebP, up to 2 MB.",
)
@click.option(
    "--imprint",
    metavar="URL_OR_TEXT",
    help="The Impressum: an http(s) URL the footer links to, or its text (line breaks "
    "kept), shown on its own page.",
)
@click.option(
    "--privacy-contact",
    metavar="TEXT",
    help="How to reach the controller about personal data (address, e-mail), named in "
    "the privacy notice.",
)
@json_option
@click.pass_obj
def branding_set(obj, name, logo, imprint, privacy_contact, as_json):
    """Set what is given; pages show the change at once, no restart.

    \b
    Example:
        immoshare branding set --name "Muster Immobilien GmbH" --logo logo.png \\
            --imprint https://www.muster-immobilien.de/impressum \\
            --privacy-contact "Hauptstr. 1, 90402 Nürnberg, datenschutz@muster.de"
    """
    if name is None and logo is None and imprint is None and privacy_contact is None:
        raise click.UsageError("give --name, --logo, --imprint or --privacy-contact")
    config = obj.config()
    current = branding_service.set_branding(
        config, name=name, logo=logo, imprint=imprint, privacy_contact=privacy_contact
    )
    if as_json:
        print_json(_data(current))
        return
    click.echo(
        f"Branding set: name {current.name or '(none)'}, logo {current.logo_file or '(none)'}, "
        f"Impressum {'set' if current.imprint else '(none)'}, "
        f"privacy contact {'set' if current.privacy_contact else '(none)'}."
    )


@branding_group.command("show", short_help="Show the current branding.")
@json_option
@click.pass_obj
def branding_show(obj, as_json):
    """Show the current agency name, logo file, Impressum and privacy contact.

    \b
    Example:
        immoshare branding show --json
    """
    current = branding_service.get_branding(obj.config())
    if as_json:
        print_json(_data(current))
        return
    click.echo(f"name: {current.name or '(none)'}")
    click.echo(f"logo: {current.logo_file or '(none)'}")
    click.echo(f"imprint: {current.imprint or '(none)'}")
    click.echo(f"privacy contact: {current.privacy_contact or '(none)'}")
