"""``immoshare branding``: the agency name and logo on every contact page."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import json_option, print_json
from gateway.services import branding as branding_service


def _data(current) -> dict:
    return {"name": current.name, "logo": current.logo_file}


@cli.group("branding")
def branding_group():
    """Branding: the agency's name and logo on every contact page."""


@branding_group.command("set", short_help="Set the agency name and/or logo.")
@click.option("--name", help="Agency name, shown in the page header and footer.")
@click.option(
    "--logo",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Logo file: PNG, JPEG, GIF or WebP, up to 2 MB.",
)
@json_option
@click.pass_obj
def branding_set(obj, name, logo, as_json):
    """Set the agency name and/or logo; pages show the change at once, no restart.

    \b
    Example:
        immoshare branding set --name "Muster Immobilien GmbH" --logo logo.png
    """
    if name is None and logo is None:
        raise click.UsageError("give --name, --logo or both")
    config = obj.config()
    current = branding_service.set_branding(config, name=name, logo=logo)
    if as_json:
        print_json(_data(current))
        return
    click.echo(
        f"Branding set: name {current.name or '(none)'}, logo {current.logo_file or '(none)'}."
    )


@branding_group.command("show")
@json_option
@click.pass_obj
def branding_show(obj, as_json):
    """Show the current agency name and logo file.

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
