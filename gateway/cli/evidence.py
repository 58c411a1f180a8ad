"""``immoshare evidence``: the exact bytes of a file version that went out to a contact."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli import cli
from gateway.cli.output import note
from gateway.errors import InvalidInput
from gateway.services import served_versions


def _digest(ctx, param, value):
    try:
        return served_versions.parse_digest(value)
    except InvalidInput as exc:
        raise click.BadParameter(str(exc)) from None


@cli.group("evidence")
def evidence_group():
    """Served file versions, kept by sha256.

    Every file version that went out to a contact is kept for the evidence
    retention (setting evidence_retention_years).
    """


@evidence_group.command("get")
@click.argument("sha256", callback=_digest)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The new file to write the bytes to (an existing one is not replaced).",
)
@click.pass_obj
def evidence_get(obj, sha256, out):
    """Write the bytes of a served file version.

    SHA256 is a tracking event's `sha256`; the bytes are exactly those that went
    out to the contact, even after the agent replaced or deleted the file.

    \b
    Example:
        immoshare evidence get --out EG.pdf \
            26e2f76a8fccd03e0460f1ab60c302811d3126dadded6ef890b99c4c424b0cfb
    """
    config = obj.config()
    size = served_versions.copy_out(config, sha256, out)
    note(f"{size} bytes written to {out} (sha256 {sha256}).")
