"""``immoshare render``: fill a contact's personal link into an offer letter."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import note
from gateway.services import render as rendering


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, target)


@cli.command(short_help="Fill a contact's link into an offer letter.")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--property",
    "property_key",
    required=True,
    metavar="KEY",
    help="The property whose link goes in.",
)
@click.option("--contact", "ref", required=True, metavar="REF", help="The contact (CRM ref).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout.",
)
@click.pass_obj
def render(obj, template, property_key, ref, output):
    """Replace {Feld:OImmoCloudLink} in a text or HTML TEMPLATE with the contact's
    personal link (HTML-escaped in .html/.htm files).

    \b
    Example:
        immoshare render angebot.html --property obj-17 --contact 4711 -o angebot-4711.html
    """
    config = obj.config()
    rendered = rendering.render_template(config, template, property_key, ref)
    if not rendered.replaced:
        note(
            f"Warning: {template.name} has no {{Feld:{rendering.LINK_FIELD}}}; "
            "nothing was filled in."
        )
    data = rendering.encode(rendered)
    if output is None:
        click.echo(data, nl=False)
        return
    _write_atomically(output, data)
    note(f"Written to {output}.")
