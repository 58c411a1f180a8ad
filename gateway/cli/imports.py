"""``immoshare import``: properties and their documents from a CRM's export."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.services import openimmo

_STATE_WORDS = {
    "created": "neu angelegt / created",
    "updated": "aktualisiert / updated",
    "unchanged": "unverändert / unchanged",
    "archived": "archiviert / archived",
    "not_found": "nicht vorhanden / not here",
}


@cli.group("import", short_help="Import properties from a CRM's export (OpenImmo).")
def import_group():
    """Import properties and their documents from a CRM's export."""


@import_group.command("openimmo", short_help="Import an OpenImmo ZIP or folder.")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
@json_option
@click.pass_obj
def import_openimmo(obj, path, dry_run, as_json):
    """Import an OpenImmo export (a ZIP with the XML and its attachments, or the
    unpacked folder): one property per listing, its attachments in folders by kind
    (Grundrisse, Fotos, Lageplan, Energieausweis, Dokumente). Safe to repeat: only
    what changed is written; nothing is ever deleted.

    \b
    Example:
        immoshare import openimmo export.zip --dry-run
        immoshare import openimmo export.zip
    """
    config = obj.config()
    bar = None

    def on_plan(total: int) -> None:
        nonlocal bar
        if not as_json and total and sys.stderr.isatty():
            bar = click.progressbar(length=total, label="Entpacken / unpacking", file=sys.stderr)
            bar.__enter__()

    try:
        report = openimmo.import_openimmo(
            config,
            path,
            dry_run=dry_run,
            on_plan=on_plan,
            progress=lambda n: bar.update(n) if bar else None,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        print_json(report.as_json())
        return
    rows = []
    for listing in report.listings:
        for attachment in listing.attachments:
            rows.append(
                [
                    listing.key,
                    attachment.path or attachment.source,
                    attachment.state,
                    attachment.reason,
                ]
            )
        for kept in listing.kept:
            rows.append([listing.key, kept, "kept", "no longer in the export; not deleted"])
    if rows:
        print_table(rows, ["property", "file", "state", "reason"])
    totals = report.totals()
    for listing in report.listings:
        note(f"{listing.key}: {_STATE_WORDS[listing.state]} — {listing.title}")
    prefix = "Would import" if dry_run else "Imported"
    note(
        f"{prefix}: {totals['created']} created, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged, {totals['archived']} archived; files "
        f"{totals['added']} added, {totals['replaced']} replaced, "
        f"{totals['unchanged_files']} unchanged, {totals['skipped']} skipped, "
        f"{totals['kept']} kept."
    )
