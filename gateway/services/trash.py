"""The trash: files and folders an agent deleted inside a property, kept ``trash_days``
so that the admin can restore them (README, "Mounting a share as an agent").

The trash lives beside ``properties/``, never inside a property folder, so no share,
contact page, catalog or zip ever shows it::

    trash/<key>/<id>/<name>     the deleted file or folder, exactly as it was
    trash/<key>/<id>.json       its record: original path, time, agent, size, files

Moving in and restoring are renames (a copy only where ``trash/`` is on another file
system), so a deleted gigabyte costs no time. The record is written before the rename
and removed after it: a crash in between leaves a record of nothing, which listing
skips and purging removes, never an unrecorded file.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from gateway.clock import iso, utc_now
from gateway.config import Config
from gateway.errors import AlreadyExists, InvalidInput, NotFound
from gateway.services import served_versions
from gateway.services.properties import validate_key
from gateway.shares import confine, split_share_path

RECORD_SUFFIX = ".json"
#: Longest path accepted from the command line; WebDAV paths are bounded by the server.
MAX_PATH_CHARS = 4096


@dataclasses.dataclass(frozen=True)
class TrashBin:
    """Where the trash and the property folders are: ``trash_bin(config)``."""

    root: Path
    properties_dir: Path


def trash_bin(config: Config) -> TrashBin:
    return TrashBin(root=config.trash_dir, properties_dir=config.properties_dir)


@dataclasses.dataclass(frozen=True)
class TrashEntry:
    """One deletion: what was at ``path`` of ``property`` when ``agent`` deleted it."""

    id: str
    property: str
    path: str  # inside the share, '/'-separated, no leading slash
    kind: str  # "file" or "folder"
    size: int  # bytes of every file in it
    files: int
    deleted_at: datetime.datetime
    agent: str | None

    def expires_at(self, days: int) -> datetime.datetime | None:
        """When purging removes it; None where ``trash_days`` is 0 (kept until restored)."""
        return self.deleted_at + datetime.timedelta(days=days) if days > 0 else None


def move_to_trash(
    trash: TrashBin, key: str, path: str, *, agent: str | None, now: datetime.datetime | None = None
) -> TrashEntry:
    """Move the file or folder at ``path`` of property ``key`` into the trash.

    :raises NotFound: nothing there (or a path that leaves the property).
    :raises InvalidInput: not a property key, or not a path inside a property.
    """
    validate_key(key)
    parts = _parts(path)
    source = _confined(trash, key, parts)
    if source is None or not os.path.lexists(source):
        raise NotFound(f"'{path}' not found in property '{key}'")
    served_versions.before_change(key, "/".join(parts))
    kind, size, files = _measure(source)
    now = now or utc_now()
    entry = TrashEntry(
        id=_new_id(now),
        property=key,
        path="/".join(parts),
        kind=kind,
        size=size,
        files=files,
        deleted_at=now,
        agent=agent,
    )
    holder = _holder(trash, entry)
    holder.mkdir(parents=True)
    _write_record(trash, entry)
    try:
        _move(source, holder / parts[-1])
    except BaseException:
        _record_path(trash, key, entry.id).unlink(missing_ok=True)
        shutil.rmtree(holder, ignore_errors=True)
        raise
    return entry


def list_trash(trash: TrashBin, key: str | None = None) -> list[TrashEntry]:
    """What can be restored, newest first; of one property or of all.

    :raises InvalidInput: ``key`` is not a property key.
    """
    keys = [validate_key(key)] if key is not None else _trash_keys(trash)
    entries = []
    for each in keys:
        for entry in _records(trash, each):
            if os.path.lexists(_content(trash, entry)):
                entries.append(entry)
    entries.sort(key=lambda e: (e.deleted_at, e.id), reverse=True)
    return entries


def restore_from_trash(trash: TrashBin, key: str, path: str) -> TrashEntry:
    """Put the newest deletion of ``path`` back where it was, parent folders included.

    It is never restored under another name: something at ``path`` now is refused.

    :raises NotFound: nothing of that path in the trash, or the property folder is gone.
    :raises AlreadyExists: something is at ``path`` again.
    :raises InvalidInput: not a property key, or not a path inside a property.
    """
    parts = _parts(path)
    wanted = "/".join(parts)
    entries = list_trash(trash, key)
    entry = next((e for e in entries if e.path == wanted), None)
    if entry is None:
        inside = next((e for e in entries if wanted.startswith(e.path + "/")), None)
        hint = (
            f" — it was in the deleted folder '{inside.path}': restore that"
            if inside is not None
            else f" — see `immoshare trash list {key}`"
        )
        raise NotFound(f"nothing in the trash of '{key}' at '{wanted}'{hint}")
    if not (trash.properties_dir / key).is_dir():
        raise NotFound(f"the folder of property '{key}' is gone — nothing to restore into")
    target = _confined(trash, key, parts)
    if target is None:
        raise InvalidInput(f"'{wanted}' leads out of property '{key}' (a symbolic link)")
    if os.path.lexists(target):
        raise AlreadyExists(
            f"'{wanted}' exists again in '{key}' — rename or move it away, then restore"
        )
    os.makedirs(os.path.dirname(target), exist_ok=True)
    _move(_content(trash, entry), target)
    _discard(trash, entry.property, entry.id)
    return entry


def purge_trash(
    trash: TrashBin, days: int, *, now: datetime.datetime | None = None
) -> list[TrashEntry]:
    """Delete for good what was deleted more than ``days`` ago (none when ``days`` is
    0), and what a crash left half-moved; returns the purged entries."""
    if days <= 0:
        return []
    cutoff = (now or utc_now()) - datetime.timedelta(days=days)
    purged = []
    for key in _trash_keys(trash):
        recorded = set()
        for entry in _records(trash, key):
            recorded.add(entry.id)
            if entry.deleted_at < cutoff:
                _discard(trash, key, entry.id)
                purged.append(entry)
        for leftover in _leftovers(trash, key, recorded):
            if _mtime(leftover) < cutoff:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
    return purged


# ---------------------------------------------------------------- storage


def _parts(path: str) -> list[str]:
    if len(path) > MAX_PATH_CHARS or "\0" in path:
        raise InvalidInput(f"the path is longer than {MAX_PATH_CHARS} characters or holds NUL")
    # a backslash typed as a separator (Windows habit) is one; the rest is the share rule
    parts = split_share_path(path.replace("\\", "/"))
    if not parts:
        raise InvalidInput(f"'{path}' is not a path inside a property, e.g. Grundrisse/EG.pdf")
    return parts


def _confined(trash: TrashBin, key: str, parts: list[str]) -> str | None:
    folder = trash.properties_dir / key
    return confine(folder, parts) if folder.is_dir() else None


def _new_id(now: datetime.datetime) -> str:
    """Sorts by time; unique across processes."""
    return f"{now.astimezone(datetime.UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


def _holder(trash: TrashBin, entry: TrashEntry) -> Path:
    return trash.root / entry.property / entry.id


def _content(trash: TrashBin, entry: TrashEntry) -> Path:
    return _holder(trash, entry) / entry.path.rsplit("/", 1)[-1]


def _record_path(trash: TrashBin, key: str, entry_id: str) -> Path:
    return trash.root / key / (entry_id + RECORD_SUFFIX)


def _write_record(trash: TrashBin, entry: TrashEntry) -> None:
    data = dataclasses.asdict(entry)
    data["deleted_at"] = iso(entry.deleted_at)
    final = _record_path(trash, entry.property, entry.id)
    partial = final.with_name(final.name + ".part")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, final)


def _read_record(path: Path) -> TrashEntry | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["deleted_at"] = datetime.datetime.fromisoformat(data["deleted_at"])
        return TrashEntry(**data)
    except (OSError, ValueError, TypeError, KeyError):
        return None  # unreadable: left for the admin, never guessed at


def _records(trash: TrashBin, key: str) -> Iterator[TrashEntry]:
    folder = trash.root / key
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(RECORD_SUFFIX):
            entry = _read_record(folder / name)
            if entry is not None and entry.property == key:
                yield entry


def _trash_keys(trash: TrashBin) -> list[str]:
    try:
        return sorted(
            e.name
            for e in os.scandir(trash.root)
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )
    except FileNotFoundError:
        return []


def _leftovers(trash: TrashBin, key: str, recorded: set[str]) -> list[Path]:
    """Holders without a record and half-written records: what a crash left."""
    folder = trash.root / key
    try:
        return [
            Path(e.path)
            for e in os.scandir(folder)
            if (e.is_dir(follow_symlinks=False) and e.name not in recorded)
            or e.name.endswith(RECORD_SUFFIX + ".part")
        ]
    except FileNotFoundError:
        return []


def _discard(trash: TrashBin, key: str, entry_id: str) -> None:
    """Remove an entry's content (if still there) and then its record."""
    shutil.rmtree(trash.root / key / entry_id, ignore_errors=True)
    _record_path(trash, key, entry_id).unlink(missing_ok=True)


def _measure(path: str) -> tuple[str, int, int]:
    """("file" or "folder", bytes of its regular files, how many)."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        return "file", info.st_size if stat.S_ISREG(info.st_mode) else 0, 1
    size = files = 0
    for current, _dirs, names in os.walk(path):
        for name in names:
            try:
                member = os.lstat(os.path.join(current, name))
            except OSError:
                continue
            if stat.S_ISREG(member.st_mode):
                size += member.st_size
                files += 1
    return "folder", size, files


def _move(source: str | Path, target: str | Path) -> None:
    """A rename; a copy and delete only across file systems."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(os.fspath(source), os.fspath(target))


def _mtime(path: Path) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
    except OSError:
        return utc_now()
