"""``immoshare render``: fill contacts' personal links into an offer letter."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import note
from gateway.errors import InvalidInput
from gateway.services import render as rendering


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def _warn_if_unfilled(template: Path, rendered: rendering.Rendered) -> None:
    if not rendered.replaced:
        note(
            f"Warning: {template.name} has no {{Feld:{rendering.LINK_FIELD}}}; "
            "nothing was filled in."
        )


@cli.command(short_help="Fill contacts' links into an offer letter.")
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--property",
    "property_key",
    required=True,
    metavar="KEY",
    help="The property whose links go in.",
)
@click.option("--contact", "ref", metavar="REF", help="The contact (CRM ref).")
@click.option("--all", "for_all", is_flag=True, help="One letter per contact with access.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout (--contact).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the letters (--all); created if missing.",
)
@click.option("--strict", is_flag=True, help="Refuse any {Feld:...} other than the link.")
@click.pass_obj
def render(obj, template, property_key, ref, for_all, output, out_dir, strict):
    """Replace {Feld:OImmoCloudLink} in a text, HTML or Word (.docx) TEMPLATE with the
    contact's personal link (HTML-escaped in .html/.htm). Every other {Feld:...} is left
    for the CRM to fill, unless --strict.

    \b
    Example:
        immoshare render angebot.html --property obj-17 --contact 4711 -o angebot-4711.html
        immoshare render angebot.docx --property obj-17 --all --out-dir briefe/
    """
    if bool(ref) == for_all:
        raise click.UsageError("give either --contact REF or --all")
    if for_all and (output or not out_dir):
        raise click.UsageError("--all writes one file per contact: give --out-dir DIR")
    if ref and out_dir:
        raise click.UsageError("--out-dir goes with --all; for one contact use -o FILE")
    config = obj.config()
    if for_all:
        letters = rendering.render_for_all(config, template, property_key, strict=strict)
        if not letters:
            raise InvalidInput(f"no contact has a working link for '{property_key}'")
        _warn_if_unfilled(template, letters[0][1])
        out_dir.mkdir(parents=True, exist_ok=True)
        names = rendering.letter_file_names(template, [ref for ref, _ in letters])
        for name, (_, rendered) in zip(names, letters, strict=True):
            _write_atomically(out_dir / name, rendered.data)
        note(f"Written {len(letters)} letters to {out_dir}.")
        return
    rendered = rendering.render_template(config, template, property_key, ref, strict=strict)
    _warn_if_unfilled(template, rendered)
    if output is None:
        if rendered.kind == "docx":
            raise click.UsageError("a Word letter is not printed: give -o FILE")
        click.echo(rendered.data, nl=False)
        return
    _write_atomically(output, rendered.data)
    note(f"Written to {output}.")
