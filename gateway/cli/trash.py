"""``immoshare trash``: what agents deleted over WebDAV, and putting it back."""

from __future__ import annotations

import click

from gateway.cli import cli
from gateway.cli.output import json_option, note, print_json, print_table
from gateway.clock import iso
from gateway.services import properties, trash


def _entry_data(entry: trash.TrashEntry, days: int) -> dict:
    return {
        "property": entry.property,
        "path": entry.path,
        "kind": entry.kind,
        "size": entry.size,
        "files": entry.files,
        "deleted_at": iso(entry.deleted_at),
        "agent": entry.agent,
        "expires_at": iso(entry.expires_at(days)),
    }


@cli.group("trash", short_help="Restore what agents deleted over WebDAV.")
def trash_group():
    """Files and folders agents deleted over WebDAV, kept trash_days (default 30)."""


@trash_group.command("list")
@click.argument("key", metavar="[PROPERTY]", required=False)
@json_option
@click.pass_obj
def trash_list(obj, key, as_json):
    """List deleted files and folders that can be restored, newest first.

    Of one PROPERTY, or of all. Entries older than the setting trash_days are purged
    first.

    \b
    Example:
        immoshare trash list obj-17
        immoshare trash list --json
    """
    config = obj.config()
    if key is not None:
        properties.get_property(key)
    bin_ = trash.trash_bin(config)
    trash.purge_trash(bin_, config.trash_days)
    entries = trash.list_trash(bin_, key)
    if as_json:
        print_json([_entry_data(e, config.trash_days) for e in entries])
        return
    print_table(
        [
            [
                e.property,
                e.path + ("/" if e.kind == "folder" else ""),
                _files_and_size(e),
                _minutes(e.deleted_at),
                e.agent or "",
                _minutes(e.expires_at(config.trash_days)) or "never",
            ]
            for e in entries
        ],
        ["PROPERTY", "PATH", "SIZE", "DELETED (UTC)", "AGENT", "PURGED (UTC)"],
    )


@trash_group.command("restore")
@click.argument("key", metavar="PROPERTY")
@click.argument("path")
@json_option
@click.pass_obj
def trash_restore(obj, key, path, as_json):
    """Restore a deleted file or folder to where it was.

    PATH is the path inside PROPERTY as `trash list` shows it; its newest deletion is
    restored. Missing parent folders are created; if something is at PATH again,
    nothing is restored: rename or move it away first. Contacts see it again at once.

    \b
    Example:
        immoshare trash restore obj-17 Grundrisse
        immoshare trash restore obj-17 Grundrisse/EG.pdf
    """
    config = obj.config()
    properties.get_property(key)
    entry = trash.restore_from_trash(trash.trash_bin(config), key, path)
    if as_json:
        print_json(_entry_data(entry, config.trash_days))
        return
    click.echo(f"Restored {key}/{entry.path} ({_files_and_size(entry)}).")
    note(f"Agents and contacts see it again; the list: immoshare trash list {key}")


def _files_and_size(entry: trash.TrashEntry) -> str:
    size = _human_size(entry.size)
    if entry.kind == "folder":
        return f"{entry.files} file{'' if entry.files == 1 else 's'}, {size}"
    return size


def _minutes(moment) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
