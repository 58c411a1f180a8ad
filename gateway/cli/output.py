"""Output helpers shared by the commands: ``--json`` and JSON-safe conversion."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import click

from gateway.jsonable import to_jsonable


def json_option(command):
    """Add ``--json``: print one JSON document on stdout and nothing else."""

    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapper


def print_json(value) -> None:
    click.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def note(message: str) -> None:
    """A message for the person at the terminal: stderr, so stdout stays data."""
    click.echo(message, err=True)


def print_table(rows: list[list], headers: list[str]) -> None:
    if not rows:
        note("(none)")
        return
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that a reader never sees half a file."""
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    finally:
        temporary.unlink(missing_ok=True)
