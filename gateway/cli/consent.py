"""``immoshare consent``: the versioned Widerrufsbelehrung and AGB shown before the files."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import consent as consent_service


def _text_data(text, current_ids: set[int]) -> dict:
    markers = consent_service.sample_markers(text.body)
    return {
        "kind": text.kind,
        "version": text.version,
        "sha256": text.sha256,
        "created_at": iso(text.created_at),
        "current": text.id in current_ids,
        "sample": bool(markers),
        "placeholders": markers,
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
    A text that still has placeholders of the sample ("[Name der Maklerfirma]",
    "MUSTERTEXT") is refused: fill them in first.

    \b
    Example:
        immoshare consent set widerruf widerrufsbelehrung.txt
        immoshare consent set agb agb-2026.txt
    """
    obj.config()
    body = consent_service.parse_text(file.read_bytes(), file.name)
    text = consent_service.add_text(kind, body, origin=file.name)
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
    contacts. A version marked "sample" still has placeholders of the shipped sample
    and is never shown: grants on properties that ask for consent are refused until a
    complete Widerruf text is set.

    \b
    Example:
        immoshare consent show --json
    """
    obj.config()
    texts = consent_service.list_texts()
    current_ids = {t.id for t in consent_service.current_versions()}
    rows = [_text_data(t, current_ids) for t in texts]
    if as_json:
        print_json(rows)
        return
    if rows:
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
    for problem in consent_service.text_problems():
        problem_text = str(problem)
        note(
            f"{problem_text[0].upper()}{problem_text[1:]}: contacts cannot consent, and "
            "`grant` refuses properties that ask for consent. Start from the sample "
            f"config/consent/{problem.kind}.txt, have it checked, fill in the bracketed "
            f"parts, then `immoshare consent set {problem.kind} FILE`."
        )
    if not any(r["kind"] == consent_service.AGB for r in rows):
        note("No AGB set: the form shows none (immoshare consent set agb FILE).")
