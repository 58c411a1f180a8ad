"""``immoshare report``: the Nachweis of one contact for one property, as PDF, HTML
or JSON (``gateway.services.nachweis``)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import note, write_atomically
from gateway.services import nachweis, tracking

_OUT_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)


@cli.command(short_help="The Nachweis: what a contact accepted and received.")
@click.argument("property_key", metavar="PROPERTY")
@click.argument("ref", metavar="REF")
@click.option("--pdf", "pdf_file", type=_OUT_FILE, help="Write the report as PDF to this file.")
@click.option(
    "--html", "html_file", type=_OUT_FILE, help="Write the report as a printable HTML page."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report's facts as JSON.")
@click.option(
    "--lang",
    type=click.Choice(nachweis.LANGUAGES),
    default="de",
    show_default=True,
    help="Language of the PDF or HTML.",
)
@click.pass_obj
def report(obj, property_key, ref, pdf_file, html_file, as_json, lang):
    """The Nachweis of contact REF for PROPERTY: agency and contact, each consent with
    the full texts and their sha256, the confirmation mail, every document accessed,
    the energy certificate and the tracking chain's head and check, for a lawyer.

    \b
    Example:
        immoshare report obj-17 4711 --pdf nachweis-4711.pdf
        immoshare report obj-17 4711 --html nachweis-4711.html --lang en
        immoshare report obj-17 4711 --json
    """
    if sum((pdf_file is not None, html_file is not None, as_json)) != 1:
        raise click.UsageError("choose exactly one of --pdf FILE, --html FILE or --json")
    config = obj.config()
    tracking.recover_journals(config)  # what a stopped server delivered belongs in it
    facts = nachweis.build_facts(config, property_key, ref)
    if as_json:
        click.echo(nachweis.json_of(facts))
        return
    if pdf_file is not None:
        write_atomically(pdf_file, nachweis.pdf_of(facts, lang))
        note(f"Nachweis written to {pdf_file}.")
    else:
        write_atomically(html_file, nachweis.html_of(facts, lang).encode("utf-8"))
        note(f"Nachweis written to {html_file}.")
