"""``immoshare consent``: the versioned Widerrufsbelehrung and AGB shown before the files."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import consent as consent_service


def _text_data(text, current_ids: set[int]) -> dict:
    return {
        "kind": text.kind,
        "version": text.version,
        "sha256": text.sha256,
        "created_at": iso(text.created_at),
        "current": text.id in current_ids,
        "sample": consent_service.is_sample(text),
        "characters": len(text.body),
    }


@cli.group("consent", short_help="Consent texts: Widerrufsbelehrung and AGB.")
def consent_group():
    """Consent texts: the Widerrufsbelehrung (with the model withdrawal form) and the
    AGB that contacts accept before they see the files."""


@consent_group.command("set", short_help="Store a new version of a consent text.")
@click.argument("kind", type=click.Choice(consent_service.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def consent_set(obj, kind, file, as_json):
    """Store FILE (UTF-8 text) as a new version of the Widerruf text or the AGB;
    contact pages show it from now on. Paragraphs are separated by blank lines.

    \b
    Example:
        immoshare consent set widerruf widerrufsbelehrung.txt
        immoshare consent set agb agb-2026.txt
    """
    obj.config()
    body = consent_service.parse_text(file.read_bytes(), file.name)
    text = consent_service.add_text(kind, body)
    if as_json:
        print_json(_text_data(text, {text.id}))
        return
    click.echo(f"{kind} version {text.version} set (sha256 {text.sha256}).")
    note("Contacts who consent from now on accept this version; earlier consents keep theirs.")


@consent_group.command("show", short_help="List every version of the consent texts.")
@json_option
@click.pass_obj
def consent_show(obj, as_json):
    """List every version of the consent texts; the newest of each kind is shown to
    contacts. Until you set your own, the Widerruf text is the shipped sample.

    \b
    Example:
        immoshare consent show --json
    """
    obj.config()
    texts = consent_service.list_texts()
    current = consent_service.current_texts()
    current_ids = {t.id for t in (current.widerruf, current.agb) if t is not None}
    rows = [_text_data(t, current_ids) for t in texts]
    if as_json:
        print_json(rows)
        return
    print_table(
        [
            [
                r["kind"],
                r["version"],
                "yes" if r["current"] else "",
                "sample" if r["sample"] else "",
                r["created_at"],
                r["sha256"],
            ]
            for r in rows
        ],
        ["KIND", "VERSION", "CURRENT", "NOTE", "CREATED", "SHA256"],
    )
    if current.agb is None:
        note("No AGB set: the form shows none (immoshare consent set agb FILE).")
    if consent_service.is_sample(current.widerruf):
        note(
            "The Widerruf text is the shipped sample: have it checked, complete it, and set "
            "it with `immoshare consent set widerruf FILE`."
        )
